// The database file: opening it (mode 0600), checking it is still the file opened, and the
// schema with its forward migrations on PRAGMA user_version.
#include "acmon/db/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "compare.hpp"
#include "rows.hpp"
#include "sqlite.hpp"

namespace acmon::db {

using detail::exec;
using detail::sqlite_error;
using detail::Stmt;
using detail::Transaction;

namespace {

// Each step brings a database of version N-1 to version N; they run in order inside one transaction.
const char* const k_migrations[] = {
    // 1: scopes, runs, current codes, history.
    R"sql(
CREATE TABLE scopes(
  id INTEGER PRIMARY KEY,
  collector TEXT NOT NULL, product TEXT NOT NULL, account TEXT NOT NULL,
  region TEXT NOT NULL DEFAULT '', order_id TEXT NOT NULL DEFAULT '',
  last_run_at INTEGER, last_success_at INTEGER, last_ok INTEGER NOT NULL DEFAULT 0, last_error TEXT,
  last_duration REAL NOT NULL DEFAULT 0, codes INTEGER NOT NULL DEFAULT 0,
  successes INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  UNIQUE(collector, region, order_id));
CREATE TABLE runs(
  id INTEGER PRIMARY KEY, scope_id INTEGER NOT NULL REFERENCES scopes(id),
  started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL, duration REAL NOT NULL,
  ok INTEGER NOT NULL, error TEXT, pages INTEGER NOT NULL, codes INTEGER, changes INTEGER);
CREATE INDEX runs_scope ON runs(scope_id, id);
CREATE INDEX runs_finished ON runs(finished_at);
CREATE TABLE codes(
  scope_id INTEGER NOT NULL REFERENCES scopes(id), code_id TEXT NOT NULL,
  product TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, order_id TEXT NOT NULL,
  name TEXT NOT NULL, description TEXT NOT NULL,
  limit_count INTEGER, registered INTEGER, deregistered INTEGER,
  created_at INTEGER, expires_at INTEGER, api_status TEXT,
  state TEXT NOT NULL, first_seen INTEGER NOT NULL, changed_at INTEGER NOT NULL, deleted_at INTEGER,
  fingerprint INTEGER NOT NULL,
  PRIMARY KEY(scope_id, code_id)) WITHOUT ROWID;
CREATE INDEX codes_id ON codes(code_id);
CREATE TABLE history(
  id INTEGER PRIMARY KEY, scope_id INTEGER NOT NULL REFERENCES scopes(id), code_id TEXT NOT NULL,
  run_id INTEGER NOT NULL, at INTEGER NOT NULL, event TEXT NOT NULL, detail TEXT NOT NULL,
  name TEXT NOT NULL, description TEXT NOT NULL, limit_count INTEGER, registered INTEGER,
  deregistered INTEGER, created_at INTEGER, expires_at INTEGER, api_status TEXT);
CREATE INDEX history_code ON history(code_id, at);
CREATE INDEX history_at ON history(at);
)sql",
    // 2: alert state and what each notification receiver has been told.
    R"sql(
CREATE TABLE alerts(
  id INTEGER PRIMARY KEY, key TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL,
  product TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, order_id TEXT NOT NULL,
  code_id TEXT NOT NULL, collector TEXT NOT NULL, name TEXT NOT NULL, summary TEXT NOT NULL,
  starts_at INTEGER NOT NULL, ends_at INTEGER);
CREATE UNIQUE INDEX alerts_firing ON alerts(key) WHERE ends_at IS NULL;
CREATE INDEX alerts_ended ON alerts(ends_at);
CREATE TABLE notifications(
  target TEXT NOT NULL, alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
  firing_sent_at INTEGER, resolved_sent_at INTEGER,
  PRIMARY KEY(target, alert_id)) WITHOUT ROWID;
)sql",
    // 3: a collector of an organization has a scope per member (member: its AccountId, else ''),
    // and the members as last listed. SQLite cannot change a UNIQUE constraint: the table is
    // built again (foreign keys are off meanwhile, ids kept).
    R"sql(
CREATE TABLE scopes_v3(
  id INTEGER PRIMARY KEY,
  collector TEXT NOT NULL, product TEXT NOT NULL, account TEXT NOT NULL,
  region TEXT NOT NULL DEFAULT '', order_id TEXT NOT NULL DEFAULT '',
  last_run_at INTEGER, last_success_at INTEGER, last_ok INTEGER NOT NULL DEFAULT 0, last_error TEXT,
  last_duration REAL NOT NULL DEFAULT 0, codes INTEGER NOT NULL DEFAULT 0,
  successes INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  organization TEXT NOT NULL DEFAULT '', member TEXT NOT NULL DEFAULT '',
  UNIQUE(collector, member, region, order_id));
INSERT INTO scopes_v3(id, collector, product, account, region, order_id, last_run_at, last_success_at, last_ok,
  last_error, last_duration, codes, successes, failures, consecutive_failures)
  SELECT id, collector, product, account, region, order_id, last_run_at, last_success_at, last_ok,
  last_error, last_duration, codes, successes, failures, consecutive_failures FROM scopes;
DROP TABLE scopes;
ALTER TABLE scopes_v3 RENAME TO scopes;
CREATE TABLE members(
  organization TEXT NOT NULL, account_id TEXT NOT NULL, display_name TEXT NOT NULL, status TEXT NOT NULL,
  folder_id TEXT NOT NULL, management INTEGER NOT NULL, listed_at INTEGER NOT NULL,
  PRIMARY KEY(organization, account_id)) WITHOUT ROWID;
)sql",
    // 4: no index of codes by id alone. Nothing looks a code up without its scope (the primary key
    // serves those), and every new code paid for it: a run of 100,000 new codes writes a tenth
    // faster without it.
    R"sql(
DROP INDEX IF EXISTS codes_id;
)sql",
    // 5: a summary that counts ("expires in {span}") keeps the moment it counts to or from, and is
    // read out at the time it is read: time alone no longer rewrites firing alerts. Older rows
    // keep their text as written (no span_at) until the next evaluation gives them one.
    R"sql(
ALTER TABLE alerts ADD COLUMN span_at INTEGER;
)sql",
    // 6: the key of the fingerprints stored with each code (compare.hpp), which are a keyed hash
    // from now on: an unkeyed one (FNV-1a before) lets whoever names a code choose a name that
    // hides a change. Store::load_hashes makes the key and computes every fingerprint again.
    R"sql(
CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
)sql",
    // 7: the notifications table keys a receiver by the SHA-256 of "TYPE:URL" (daemon::receiver_key)
    // where it held "TYPE:URL" itself: a receiver's URL may carry its secret (a DingTalk token in
    // the query, a Slack token in the path, a password before the host). SQLite has no SHA-256:
    // Store::rekey_receivers rewrites the rows.
    R"sql(
-- Store::rekey_receivers
)sql",
};

bool is_file_path(const std::string& path) {
  return !path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0;
}

// After each commit in WAL mode: how many frames the log holds. Registering it also turns off
// SQLite's own checkpoint at commit (Store::checkpoint says when they happen instead).
int note_wal_pages(void* pages, sqlite3* /*db*/, const char* /*schema*/, int n) {
  *static_cast<int*>(pages) = n;
  return SQLITE_OK;
}

// Per connection, after journal_mode. synchronous=NORMAL in WAL mode: a commit is durable once the
// log is synced at a checkpoint; a crash of acmon loses nothing committed, a crash of the machine
// may lose the last commits but never corrupts the file. cache_size stays SQLite's 2 MiB for reads;
// record_success raises it for the length of a run (writer.cpp). page_size: 8 KiB pages for a new
// database (an existing one keeps its own), half the pages, and their overhead, of SQLite's 4 KiB
// for a run's rows: 520,000 history rows a second instead of 480,000. temp_store: the sorts and indexes of a statement
// stay in memory rather than in temporary files.
const char* const k_pragmas[] = {
    "PRAGMA page_size=8192",  "PRAGMA journal_mode=WAL",  "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON", "PRAGMA temp_store=MEMORY",
};

// Why a database of a later acmon is left alone.
Error newer_schema(int version) {
  return make_error(ErrorKind::db, "schema version " + std::to_string(version) + " is newer than this acmon knows (" +
                                       std::to_string(k_schema_version) + "); refusing to touch it");
}

// SQLite's process-wide settings, before its first use.
void configure_sqlite() {
  // SQLite counts its allocations under one process-wide mutex unless told otherwise before its
  // first use; acmon never reads the counts. Refused (and harmless) once SQLite is in use.
  static const bool k_no_memstatus = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  (void)k_no_memstatus;
  // Nor does a connection's page cache start with one block of 20 pages (170 KiB of 8 KiB pages),
  // which it would keep until closed: each page is allocated alone, so that sqlite3_db_release_memory
  // (release_memory) gives every one of them back. Refused, like the above, once SQLite is in use.
  static const bool k_no_bulk_pages = sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0) == SQLITE_OK;
  (void)k_no_bulk_pages;
}

// The file: URI of a path, every byte but the unreserved ones and '/' percent-encoded (SQLite
// reads '?', '#' and '%' in it as URI syntax).
std::string file_uri(const std::string& path) {
  std::error_code ec;
  std::string abs = std::filesystem::absolute(path, ec).string();
  if (ec) {
    abs = path;
  }
  static const char* const k_hex = "0123456789ABCDEF";
  std::string uri = "file://";
  for (const char ch : abs) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      uri.push_back(ch);
    } else {
      uri.push_back('%');
      uri.push_back(k_hex[c >> 4]);
      uri.push_back(k_hex[c & 15]);
    }
  }
  return uri;
}

// PRAGMA user_version, read; the error keeps SQLite's extended code in `rc`.
Result<int> read_user_version(sqlite3* db, int& rc) {
  sqlite3_stmt* st = nullptr;
  rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
  }
  if (rc != SQLITE_ROW) {
    rc = sqlite3_extended_errcode(db);
    Error error = sqlite_error(db, "reading the schema version");
    sqlite3_finalize(st);
    return error;
  }
  const int version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  rc = SQLITE_OK;
  return version;
}

// Prepared statements holding this much or more are finalized by release_memory: the multi-row
// writes of batch.cpp (those of 128 rows hold 210 and 240 KiB), not the single-row ones every run
// uses (2 to 6 KiB).
constexpr std::size_t k_release_statement_bytes = 8 * 1024;

}  // namespace

Store::Store(sqlite3* db, std::string path)
    : m_db(db), m_stmts(std::make_unique<detail::StmtCache>(db)), m_path(std::move(path)) {}

Store::~Store() {
  m_stmts.reset();  // finalized before the connection closes
  sqlite3_close_v2(m_db);
}

void Store::release_memory() {
  m_stmts->release(k_release_statement_bytes);
  sqlite3_db_release_memory(m_db);
}

Result<void> Store::checkpoint() {
  int log = 0;
  int copied = 0;
  if (sqlite3_wal_checkpoint_v2(m_db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) != SQLITE_OK) {
    return sqlite_error(m_db, "checkpoint");
  }
  // All copied: the next commit starts the log again from its beginning, unless a reader holds it.
  m_wal_pages = copied == log ? 0 : log;
  return {};
}

void Store::bound_wal() {
  if (m_wal_pages > k_wal_bound_pages) {
    (void)checkpoint();  // a failure (another checkpoint under way) is tried again at the next write
  }
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  // Created here, not by SQLite, so that it is 0600 whatever the umask: codes and alerts are
  // nobody else's business. SQLite creates the -wal and -shm files with the database's mode.
  if (is_file_path(path)) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
    } else if (errno != EEXIST) {
      return make_error(ErrorKind::db, "database " + path + ": cannot create it: " + std::strerror(errno));
    }
  }
  configure_sqlite();
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Store> store(new Store(raw, path));
  if (rc != SQLITE_OK) {
    return sqlite_error(raw, "database " + path);
  }
  sqlite3_busy_timeout(raw, 10000);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_wal_hook(raw, note_wal_pages, &store->m_wal_pages);
  for (const char* pragma : k_pragmas) {
    if (auto r = exec(raw, pragma); !r) {
      return make_error(ErrorKind::db, "database " + path + ": " + r.error().message);
    }
  }
  if (auto r = store->migrate(); !r) {
    return make_error(ErrorKind::db, "database " + path + ": " + r.error().message);
  }
  if (is_file_path(path)) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return make_error(ErrorKind::db, "database " + path + ": " + std::strerror(errno));
    }
    store->m_identity.emplace(static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino));
  }
  return store;
}

Result<std::unique_ptr<Store>> Store::open_read_only(const std::string& path) {
  const std::string named = "database " + path;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> identity;
  if (is_file_path(path)) {
    // SQLite would say "unable to open database file" alone; the reason is worth more.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        return make_error(ErrorKind::db, named +
                                             ": no such file (acmon makes it at its first `acmon run` or `acmon "
                                             "sync`; a command that only reads never does)");
      }
      return make_error(ErrorKind::db, named + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
      return make_error(ErrorKind::db, named + ": not a regular file");
    }
    identity.emplace(static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino));
  }
  configure_sqlite();
  // No pragma that writes (journal_mode and page_size are in the file's header; the database is
  // in WAL mode already if acmon made it) and no migration.
  auto connect = [&](const std::string& name, int flags, int& rc) -> Result<std::unique_ptr<Store>> {
    sqlite3* raw = nullptr;
    rc = sqlite3_open_v2(name.c_str(), &raw, flags | SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<Store> store(new Store(raw, path));
    store->m_read_only = true;
    store->m_identity = identity;
    if (rc != SQLITE_OK) {
      rc = raw != nullptr ? sqlite3_extended_errcode(raw) : rc;
      return sqlite_error(raw, named);
    }
    sqlite3_busy_timeout(raw, 10000);
    sqlite3_extended_result_codes(raw, 1);
    auto version = read_user_version(raw, rc);
    if (!version) {
      return make_error(ErrorKind::db, named + ": " + version.error().message);
    }
    store->m_opened_version = *version;
    if (auto r = exec(raw, "PRAGMA temp_store=MEMORY"); !r) {  // per connection: nothing written
      return make_error(ErrorKind::db, named + ": " + r.error().message);
    }
    return store;
  };
  int rc = SQLITE_OK;
  auto store = connect(path, 0, rc);
  // A WAL database needs its -shm: SQLite makes it (and the -wal) when the reader may write the
  // directory, and reads through one a writer keeps. When there is neither a -wal (no connection
  // has the database open, or the last one closed it cleanly: the file holds every commit) nor a
  // way to make the -shm, the file is read as it stands, without locks (immutable). A writer that
  // starts meanwhile writes to a new -wal; the file itself changes only at a checkpoint, after that
  // writer's first runs, not within the moment this reads.
  const int primary = rc & 0xff;
  if (!store && is_file_path(path) && (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN)) {
    struct stat wal {};
    if (::stat((path + "-wal").c_str(), &wal) != 0 && errno == ENOENT) {
      if (auto again = connect(file_uri(path) + "?immutable=1", SQLITE_OPEN_URI, rc); again) {
        store = std::move(again);
      }
    }
  }
  if (!store) {
    return store.error();
  }
  const int version = (*store)->m_opened_version;
  if (version > k_schema_version) {
    return make_error(ErrorKind::db, named + ": " + newer_schema(version).message);
  }
  if (version == 0) {
    return make_error(ErrorKind::db,
                      named +
                          ": no acmon schema in it (schema version 0): not a database acmon made, or one "
                          "it never wrote to");
  }
  if (version < k_schema_version) {
    return make_error(ErrorKind::db, named + ": schema version " + std::to_string(version) +
                                         " is older than this acmon's (" + std::to_string(k_schema_version) +
                                         "); a command that only reads does not upgrade it: the daemon does when "
                                         "it starts, or `acmon migrate` (with the daemon stopped)");
  }
  return store;
}

Result<void> Store::check_file() const {
  if (!m_identity) {
    return {};
  }
  struct stat st {};
  if (::stat(m_path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return make_error(ErrorKind::db, "database " + m_path +
                                           " was deleted while acmon had it open: nothing more is written to it; "
                                           "restart acmon to start a new one");
    }
    return make_error(ErrorKind::db, "database " + m_path + ": " + std::strerror(errno));
  }
  if (static_cast<std::uint64_t>(st.st_dev) != m_identity->first ||
      static_cast<std::uint64_t>(st.st_ino) != m_identity->second) {
    return make_error(ErrorKind::db, "database " + m_path +
                                         " was replaced by another file while acmon had it open: nothing more is "
                                         "written to the old one; restart acmon to use the new one");
  }
  return {};
}

Result<void> Store::migrate() {
  // Off outside the transaction (SQLite ignores the pragma inside one): a step may rebuild a table
  // others refer to. On again whatever the outcome.
  if (auto r = exec(m_db, "PRAGMA foreign_keys=OFF"); !r) {
    return r.error();
  }
  auto r = migrate_steps();
  if (auto on = exec(m_db, "PRAGMA foreign_keys=ON"); !on && r) {
    return on.error();
  }
  return r;
}

Result<void> Store::migrate_steps() {
  Transaction tx(m_db);
  if (!tx.began()) {
    return sqlite_error(m_db, "cannot begin the migration");
  }
  int version = 0;
  {
    // Finished before the steps: an open statement would keep a table from being dropped.
    Stmt v(m_db, "PRAGMA user_version");
    auto has = v.step();
    if (!has) {
      return has.error();
    }
    version = static_cast<int>(v.i64(0));
  }
  m_opened_version = version;
  if (version > k_schema_version) {
    return newer_schema(version);
  }
  for (int next = version + 1; next <= k_schema_version; ++next) {
    if (auto r = exec(m_db, k_migrations[next - 1]); !r) {
      return make_error(ErrorKind::db, "migration to schema " + std::to_string(next) + ": " + r.error().message);
    }
  }
  if (version < 7) {
    if (auto r = rekey_receivers(); !r) {
      return make_error(ErrorKind::db, "migration to schema 7: " + r.error().message);
    }
  }
  if (auto r = load_hashes(); !r) {
    return r.error();
  }
  if (version != k_schema_version) {
    const std::string set = "PRAGMA user_version=" + std::to_string(k_schema_version);
    if (auto r = exec(m_db, set.c_str()); !r) {
      return r.error();
    }
    Stmt fk(m_db, "PRAGMA foreign_key_check");
    auto bad = fk.step();
    if (!bad) {
      return bad.error();
    }
    if (*bad) {
      return make_error(ErrorKind::db, "the migration left a row referring to nothing (table " + fk.text(0) + ")");
    }
  }
  return tx.commit();
}

namespace {

// The fingerprint key as meta holds it (32 lower-case hex digits); empty when it is not that.
std::string decode_key(std::string_view hex) {
  std::string key;
  auto digit = [](char ch) { return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1; };
  if (hex.size() != 2 * crypto::KeyedHash::k_key_bytes) {
    return key;
  }
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]);
    const int lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return {};
    }
    key.push_back(static_cast<char>(hi * 16 + lo));
  }
  return key;
}

}  // namespace

Result<void> Store::load_hashes() {
  std::string key;
  std::string algorithm;
  {
    Stmt get(m_db, "SELECT name, value FROM meta WHERE name IN ('fingerprint_key', 'fingerprint_algorithm')");
    if (auto r = get.each([&] { (get.text_view(0) == "fingerprint_key" ? key : algorithm) = get.text(1); }); !r) {
      return r.error();
    }
  }
  key = decode_key(key);
  const bool fresh = key.empty();
  try {
    if (fresh) {
      key = crypto::random_bytes(crypto::KeyedHash::k_key_bytes);
    }
    m_hashes = std::make_unique<detail::Hashes>(key);
  } catch (const std::exception& e) {
    return make_error(ErrorKind::db, std::string("the fingerprint key: ") + e.what());
  }
  const std::string_view now_algorithm = m_hashes->fingerprints.algorithm();
  if (!fresh && algorithm == now_algorithm) {
    return {};
  }
  // A new key, or another algorithm (this OpenSSL lacks SipHash, a FIPS-only configuration): every
  // code stored so far, under it. Read first, then written (no update of a table under a statement
  // still reading it).
  Stmt put(m_db, "INSERT OR REPLACE INTO meta(name, value) VALUES(?1, ?2)");
  put.bind(1, std::string_view("fingerprint_key")).bind(2, std::string_view(crypto::to_hex(key)));
  if (auto r = put.run(); !r) {
    return r.error();
  }
  put.bind(1, std::string_view("fingerprint_algorithm")).bind(2, now_algorithm);
  if (auto r = put.run(); !r) {
    return r.error();
  }
  struct Row {
    std::int64_t scope_id;
    std::string code_id;
    std::int64_t fingerprint;
  };
  std::vector<Row> rows;
  try {
    Stmt all(m_db,
             "SELECT scope_id, code_id, name, description, limit_count, registered, deregistered, created_at, "
             "expires_at, api_status FROM codes");
    if (auto r = all.each([&] {
          const model::Code c = detail::read_code_fields(all, 2, model::Code{});
          rows.push_back({all.i64(0), all.text(1), detail::fingerprint(*m_hashes, c)});
        });
        !r) {
      return r.error();
    }
  } catch (const std::exception& e) {
    return make_error(ErrorKind::db, std::string("the fingerprints: ") + e.what());
  }
  Stmt& upd = m_stmts->get(detail::k_set_fingerprint_sql);
  for (const Row& row : rows) {
    upd.bind(1, row.scope_id).bind(2, std::string_view(row.code_id)).bind(3, row.fingerprint);
    if (auto r = upd.run(); !r) {
      return r.error();
    }
  }
  return {};
}

Result<void> Store::rekey_receivers() {
  // Read first, then written (no update of a table under a statement still reading it).
  std::vector<std::string> targets;
  {
    Stmt all(m_db, "SELECT DISTINCT target FROM notifications");
    if (auto r = all.each([&] { targets.push_back(all.text(0)); }); !r) {
      return r.error();
    }
  }
  if (targets.empty()) {
    return {};
  }
  // The old text is overwritten where it stood, not left in the file's free space.
  if (auto r = exec(m_db, "PRAGMA secure_delete=ON"); !r) {
    return r.error();
  }
  Result<void> done;
  Stmt upd(m_db, "UPDATE notifications SET target=?2 WHERE target=?1");
  for (const std::string& target : targets) {
    const std::string key = crypto::sha256_hex(target);
    upd.bind(1, std::string_view(target)).bind(2, std::string_view(key));
    if (done = upd.run(); !done) {
      break;
    }
  }
  (void)exec(m_db, "PRAGMA secure_delete=OFF");
  return done;
}

}  // namespace acmon::db
