#include "acmon/db/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "sqlite.hpp"

namespace acmon::db {

using model::AlertRecord;
using model::Code;
using model::CodeState;
using model::Scope;
using model::ScopeStatus;
using model::StoredCode;

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
};

// What an unchanged poll compares: a hash of the stored fields, the stored state, deletion.
struct Current {
  std::int64_t fingerprint = 0;
  std::string state;
  bool deleted = false;
};

// FNV-1a over every stored field of a code, with separators, so that any change shows.
std::int64_t fingerprint(const Code& c) {
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&](std::string_view s) {
    for (unsigned char ch : s) {
      h ^= ch;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  auto mix_int = [&](const std::optional<std::int64_t>& v) { mix(v ? std::to_string(*v) : std::string("\x01")); };
  mix(c.name);
  mix(c.description);
  mix_int(c.limit);
  mix_int(c.registered);
  mix_int(c.deregistered);
  mix_int(c.created_at);
  mix_int(c.expires_at);
  mix(c.api_status ? *c.api_status : std::string("\x01"));
  return static_cast<std::int64_t>(h);
}

std::string opt_str(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) : "none";
}

// The history event and detail for a code that changed; empty event when nothing did.
std::pair<std::string, std::string> describe_change(const Code& old_code, const std::string& old_state,
                                                    const Code& now_code, const std::string& new_state) {
  std::vector<std::string> parts;
  std::string event;
  auto note = [&](const std::string& e, const std::string& d) {
    if (event.empty()) {
      event = e;
    }
    parts.push_back(d);
  };
  if (new_state == "expired" && old_state != "expired") {
    note("expired", "expired");
  }
  if (old_code.api_status != now_code.api_status) {
    if (now_code.api_status == "disabled") {
      note("disabled", "disabled");
    } else if (old_code.api_status == "disabled") {
      note("enabled", "enabled");
    } else {
      note("changed", "status " + old_code.api_status.value_or("none") + " -> " + now_code.api_status.value_or("none"));
    }
  }
  if (old_code.registered != now_code.registered) {
    if (old_code.registered && now_code.registered && *now_code.registered > *old_code.registered) {
      note("used", "used +" + std::to_string(*now_code.registered - *old_code.registered));
    } else {
      note("changed", "registered " + opt_str(old_code.registered) + " -> " + opt_str(now_code.registered));
    }
  }
  if (old_code.limit != now_code.limit) {
    note("changed", "limit " + opt_str(old_code.limit) + " -> " + opt_str(now_code.limit));
  }
  if (old_code.deregistered != now_code.deregistered) {
    note("changed", "deregistered " + opt_str(old_code.deregistered) + " -> " + opt_str(now_code.deregistered));
  }
  if (old_code.name != now_code.name) {
    note("changed", "name '" + old_code.name + "' -> '" + now_code.name + "'");
  }
  if (old_code.description != now_code.description) {
    note("changed", "description changed");
  }
  if (old_code.expires_at != now_code.expires_at || old_code.created_at != now_code.created_at) {
    note("changed", "times changed");
  }
  if (event.empty() && old_state != new_state) {
    note("changed", "state " + old_state + " -> " + new_state);
  }
  std::string detail;
  for (const auto& p : parts) {
    detail += (detail.empty() ? "" : ", ") + p;
  }
  return {event, detail};
}

void bind_code_fields(Stmt& s, int first, const Code& c) {
  s.bind(first, std::string_view(c.name))
      .bind(first + 1, std::string_view(c.description))
      .bind(first + 2, c.limit)
      .bind(first + 3, c.registered)
      .bind(first + 4, c.deregistered)
      .bind(first + 5, c.created_at)
      .bind(first + 6, c.expires_at)
      .bind(first + 7, c.api_status);
}

Code read_code_fields(const Stmt& s, int first, Code c) {
  c.name = s.text(first);
  c.description = s.text(first + 1);
  c.limit = s.opt_i64(first + 2);
  c.registered = s.opt_i64(first + 3);
  c.deregistered = s.opt_i64(first + 4);
  c.created_at = s.opt_i64(first + 5);
  c.expires_at = s.opt_i64(first + 6);
  c.api_status = s.opt_text(first + 7);
  return c;
}

}  // namespace

Store::Store(sqlite3* db, std::string path) : m_db(db), m_path(std::move(path)) {}

Store::~Store() {
  sqlite3_close_v2(m_db);
}

namespace {

bool is_file_path(const std::string& path) {
  return !path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0;
}

}  // namespace

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
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Store> store(new Store(raw, path));
  if (rc != SQLITE_OK) {
    return sqlite_error(raw, "database " + path);
  }
  sqlite3_busy_timeout(raw, 10000);
  sqlite3_extended_result_codes(raw, 1);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
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
  Transaction tx(m_db);
  if (!tx.began()) {
    return sqlite_error(m_db, "cannot begin the migration");
  }
  Stmt v(m_db, "PRAGMA user_version");
  auto has = v.step();
  if (!has) {
    return has.error();
  }
  const auto version = static_cast<int>(v.i64(0));
  if (version > k_schema_version) {
    return make_error(ErrorKind::db, "schema version " + std::to_string(version) + " is newer than this acmon knows (" +
                                         std::to_string(k_schema_version) + "); refusing to touch it");
  }
  for (int next = version + 1; next <= k_schema_version; ++next) {
    if (auto r = exec(m_db, k_migrations[next - 1]); !r) {
      return make_error(ErrorKind::db, "migration to schema " + std::to_string(next) + ": " + r.error().message);
    }
  }
  if (version != k_schema_version) {
    const std::string set = "PRAGMA user_version=" + std::to_string(k_schema_version);
    if (auto r = exec(m_db, set.c_str()); !r) {
      return r.error();
    }
  }
  return tx.commit();
}

Result<std::int64_t> Store::scope_id(const Scope& scope) {
  Stmt find(m_db, "SELECT id FROM scopes WHERE collector=?1 AND region=?2 AND order_id=?3");
  find.bind(1, std::string_view(scope.collector))
      .bind(2, std::string_view(scope.region))
      .bind(3, std::string_view(scope.order_id));
  auto row = find.step();
  if (!row) {
    return row.error();
  }
  if (*row) {
    const auto id = find.i64(0);
    // The collector may have been pointed at another account or product: keep the scope current.
    Stmt upd(m_db, "UPDATE scopes SET product=?2, account=?3 WHERE id=?1");
    upd.bind(1, id)
        .bind(2, std::string_view(config::to_string(scope.product)))
        .bind(3, std::string_view(scope.account));
    if (auto r = upd.run(); !r) {
      return r.error();
    }
    return id;
  }
  Stmt ins(m_db, "INSERT INTO scopes(collector, product, account, region, order_id) VALUES(?1,?2,?3,?4,?5)");
  ins.bind(1, std::string_view(scope.collector))
      .bind(2, std::string_view(config::to_string(scope.product)))
      .bind(3, std::string_view(scope.account))
      .bind(4, std::string_view(scope.region))
      .bind(5, std::string_view(scope.order_id));
  if (auto r = ins.run(); !r) {
    return r.error();
  }
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(m_db));
}

Result<WriteSummary> Store::record_success(const Scope& scope, const std::vector<Code>& codes, const RunInfo& run,
                                           UnixTime now) {
  if (auto r = check_file(); !r) {
    return r.error();
  }
  Transaction tx(m_db);
  if (!tx.began()) {
    return sqlite_error(m_db, "cannot begin a transaction");
  }
  auto sid = scope_id(scope);
  if (!sid) {
    return sid.error();
  }
  WriteSummary sum;
  sum.codes = static_cast<int>(codes.size());

  Stmt ins_run(m_db,
               "INSERT INTO runs(scope_id, started_at, finished_at, duration, ok, pages, codes) "
               "VALUES(?1,?2,?3,?4,1,?5,?6)");
  ins_run.bind(1, *sid).bind(2, run.started_at).bind(3, run.finished_at).bind(4, run.duration_seconds);
  ins_run.bind(5, static_cast<std::int64_t>(run.pages)).bind(6, static_cast<std::int64_t>(codes.size()));
  if (auto r = ins_run.run(); !r) {
    return r.error();
  }
  sum.run_id = sqlite3_last_insert_rowid(m_db);

  std::unordered_map<std::string, Current> current;
  {
    Stmt sel(m_db, "SELECT code_id, fingerprint, state, deleted_at IS NOT NULL FROM codes WHERE scope_id=?1");
    sel.bind(1, *sid);
    if (auto r = sel.each([&] {
          current.emplace(sel.text(0), Current{sel.i64(1), sel.text(2), sel.i64(3) != 0});
        });
        !r) {
      return r.error();
    }
  }
  // The full stored row, read only for codes that changed or went away.
  Stmt full(m_db,
            "SELECT name, description, limit_count, registered, deregistered, created_at, expires_at, api_status "
            "FROM codes WHERE scope_id=?1 AND code_id=?2");
  Code base;
  base.product = scope.product;
  base.account = scope.account;
  base.region = scope.region;
  base.order_id = scope.order_id;
  auto stored = [&](const std::string& id) -> Result<Code> {
    full.reset();
    full.bind(1, *sid).bind(2, std::string_view(id));
    auto row = full.step();
    if (!row) {
      return row.error();
    }
    Code c = base;
    c.id = id;
    return read_code_fields(full, 0, c);
  };

  Stmt upsert(m_db,
              "INSERT INTO codes(scope_id, code_id, product, account, region, order_id, name, description, "
              "limit_count, registered, deregistered, created_at, expires_at, api_status, state, first_seen, "
              "changed_at, deleted_at, fingerprint) "
              "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?16,NULL,?17) "
              "ON CONFLICT(scope_id, code_id) DO UPDATE SET name=excluded.name, description=excluded.description, "
              "limit_count=excluded.limit_count, registered=excluded.registered, "
              "deregistered=excluded.deregistered, created_at=excluded.created_at, expires_at=excluded.expires_at, "
              "api_status=excluded.api_status, state=excluded.state, changed_at=excluded.changed_at, "
              "deleted_at=NULL, product=excluded.product, account=excluded.account, fingerprint=excluded.fingerprint");
  Stmt hist(m_db,
            "INSERT INTO history(scope_id, code_id, run_id, at, event, detail, name, description, limit_count, "
            "registered, deregistered, created_at, expires_at, api_status) "
            "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)");
  if (!upsert.ok() || !hist.ok()) {
    return sqlite_error(m_db, "prepare");
  }
  auto write_history = [&](const Code& c, const std::string& event, const std::string& detail) -> Result<void> {
    hist.reset();
    hist.bind(1, *sid).bind(2, std::string_view(c.id)).bind(3, sum.run_id).bind(4, now);
    hist.bind(5, std::string_view(event)).bind(6, std::string_view(detail));
    bind_code_fields(hist, 7, c);
    ++sum.history_rows;
    return hist.run();
  };

  std::unordered_map<std::string, bool> listed;
  listed.reserve(codes.size());
  for (const Code& c : codes) {
    listed.emplace(c.id, true);
    const std::string state = model::to_string(model::derive_state(c, now));
    const std::int64_t fp = fingerprint(c);
    auto it = current.find(c.id);
    std::string event;
    std::string detail;
    if (it == current.end()) {
      event = "created";
      ++sum.created;
    } else if (it->second.deleted) {
      event = "restored";
      detail = "listed again";
      ++sum.created;
    } else {
      if (it->second.fingerprint == fp && it->second.state == state) {
        continue;  // unchanged: no row written
      }
      auto old = stored(c.id);
      if (!old) {
        return old.error();
      }
      std::tie(event, detail) = describe_change(*old, it->second.state, c, state);
      if (event.empty()) {
        continue;
      }
      ++sum.changed;
    }
    upsert.reset();
    upsert.bind(1, *sid).bind(2, std::string_view(c.id)).bind(3, std::string_view(config::to_string(c.product)));
    upsert.bind(4, std::string_view(c.account))
        .bind(5, std::string_view(c.region))
        .bind(6, std::string_view(c.order_id));
    bind_code_fields(upsert, 7, c);
    upsert.bind(15, std::string_view(state)).bind(16, now).bind(17, fp);
    if (auto r = upsert.run(); !r) {
      return r.error();
    }
    if (auto r = write_history(c, event, detail); !r) {
      return r.error();
    }
  }

  Stmt del(m_db, "UPDATE codes SET deleted_at=?3, state='deleted', changed_at=?3 WHERE scope_id=?1 AND code_id=?2");
  for (const auto& [id, cur] : current) {
    if (cur.deleted || listed.count(id) != 0) {
      continue;
    }
    auto old = stored(id);
    if (!old) {
      return old.error();
    }
    del.reset();
    del.bind(1, *sid).bind(2, std::string_view(id)).bind(3, now);
    if (auto r = del.run(); !r) {
      return r.error();
    }
    if (auto r = write_history(*old, "deleted", "no longer listed"); !r) {
      return r.error();
    }
    ++sum.deleted;
  }

  Stmt upd_run(m_db, "UPDATE runs SET changes=?2 WHERE id=?1");
  const std::int64_t changes = std::int64_t{sum.created} + sum.changed + sum.deleted;
  upd_run.bind(1, sum.run_id).bind(2, changes);
  Stmt upd_scope(m_db,
                 "UPDATE scopes SET last_run_at=?2, last_success_at=?2, last_ok=1, last_error=NULL, "
                 "last_duration=?3, codes=?4, successes=successes+1, consecutive_failures=0 WHERE id=?1");
  upd_scope.bind(1, *sid).bind(2, run.finished_at).bind(3, run.duration_seconds);
  upd_scope.bind(4, static_cast<std::int64_t>(codes.size()));
  if (auto r = upd_run.run(); !r) {
    return r.error();
  }
  if (auto r = upd_scope.run(); !r) {
    return r.error();
  }
  if (auto r = tx.commit(); !r) {
    return r.error();
  }
  return sum;
}

Result<std::int64_t> Store::record_failure(const Scope& scope, const std::string& error, const RunInfo& run) {
  if (auto r = check_file(); !r) {
    return r.error();
  }
  Transaction tx(m_db);
  if (!tx.began()) {
    return sqlite_error(m_db, "cannot begin a transaction");
  }
  auto sid = scope_id(scope);
  if (!sid) {
    return sid.error();
  }
  Stmt ins(
      m_db,
      "INSERT INTO runs(scope_id, started_at, finished_at, duration, ok, error, pages) VALUES(?1,?2,?3,?4,0,?5,?6)");
  ins.bind(1, *sid).bind(2, run.started_at).bind(3, run.finished_at).bind(4, run.duration_seconds);
  ins.bind(5, std::string_view(error)).bind(6, static_cast<std::int64_t>(run.pages));
  if (auto r = ins.run(); !r) {
    return r.error();
  }
  const auto run_id = static_cast<std::int64_t>(sqlite3_last_insert_rowid(m_db));
  Stmt upd(m_db,
           "UPDATE scopes SET last_run_at=?2, last_ok=0, last_error=?3, last_duration=?4, failures=failures+1, "
           "consecutive_failures=consecutive_failures+1 WHERE id=?1");
  upd.bind(1, *sid).bind(2, run.finished_at).bind(3, std::string_view(error)).bind(4, run.duration_seconds);
  if (auto r = upd.run(); !r) {
    return r.error();
  }
  if (auto r = tx.commit(); !r) {
    return r.error();
  }
  return run_id;
}

Result<std::vector<StoredCode>> Store::codes(const CodeFilter& filter, UnixTime now) {
  std::string sql =
      "SELECT c.code_id, c.product, c.account, c.region, c.order_id, c.name, c.description, c.limit_count, "
      "c.registered, c.deregistered, c.created_at, c.expires_at, c.api_status, s.collector, c.first_seen, "
      "s.last_success_at, c.deleted_at FROM codes c JOIN scopes s ON s.id = c.scope_id WHERE 1=1";
  if (!filter.include_deleted && filter.state != CodeState::deleted) {
    sql += " AND c.deleted_at IS NULL";
  }
  if (filter.state == CodeState::deleted) {
    sql += " AND c.deleted_at IS NOT NULL";
  }
  if (filter.product) {
    sql += " AND c.product = ?1";
  }
  if (filter.account) {
    sql += " AND c.account = ?2";
  }
  if (filter.scope) {
    sql += " AND s.collector = ?3 AND s.region = ?4 AND s.order_id = ?5";
  }
  sql += " ORDER BY c.product, c.account, c.region, c.order_id, c.code_id";
  Stmt q(m_db, sql);
  if (!q.ok()) {
    return sqlite_error(m_db, "query codes");
  }
  if (filter.product) {
    q.bind(1, std::string_view(config::to_string(*filter.product)));
  }
  if (filter.account) {
    q.bind(2, std::string_view(*filter.account));
  }
  if (filter.scope) {
    q.bind(3, std::string_view(filter.scope->collector))
        .bind(4, std::string_view(filter.scope->region))
        .bind(5, std::string_view(filter.scope->order_id));
  }
  std::vector<StoredCode> out;
  if (auto r = q.each([&] {
        StoredCode sc;
        Code c;
        c.id = q.text(0);
        c.product = config::parse_product(q.text(1)).value_or(config::Product::smc);
        c.account = q.text(2);
        c.region = q.text(3);
        c.order_id = q.text(4);
        sc.code = read_code_fields(q, 5, c);
        sc.collector = q.text(13);
        sc.first_seen = q.i64(14);
        sc.last_seen = q.opt_i64(15).value_or(0);
        sc.deleted_at = q.opt_i64(16);
        sc.state = sc.deleted_at ? CodeState::deleted : model::derive_state(sc.code, now);
        if (filter.state && sc.state != *filter.state) {
          return;
        }
        out.push_back(std::move(sc));
      });
      !r) {
    return r.error();
  }
  return out;
}

Result<std::vector<HistoryEntry>> Store::history(const std::string& code_id, std::optional<UnixTime> since) {
  Stmt q(m_db,
         "SELECT h.at, h.event, h.detail, h.name, h.description, h.limit_count, h.registered, h.deregistered, "
         "h.created_at, h.expires_at, h.api_status, s.collector, s.product, s.account, s.region, s.order_id "
         "FROM history h JOIN scopes s ON s.id = h.scope_id WHERE h.code_id = ?1 AND h.at >= ?2 ORDER BY h.at, h.id");
  q.bind(1, std::string_view(code_id)).bind(2, since.value_or(std::numeric_limits<std::int64_t>::min()));
  std::vector<HistoryEntry> out;
  if (auto r = q.each([&] {
        HistoryEntry e;
        e.at = q.i64(0);
        e.event = q.text(1);
        e.detail = q.text(2);
        Code c;
        c.id = code_id;
        c.product = config::parse_product(q.text(12)).value_or(config::Product::smc);
        c.account = q.text(13);
        c.region = q.text(14);
        c.order_id = q.text(15);
        e.snapshot = read_code_fields(q, 3, c);
        e.collector = q.text(11);
        out.push_back(std::move(e));
      });
      !r) {
    return r.error();
  }
  return out;
}

Result<std::unordered_set<std::string>> Store::live_code_ids(const Scope& scope) {
  Stmt q(m_db,
         "SELECT c.code_id FROM codes c JOIN scopes s ON s.id = c.scope_id "
         "WHERE s.collector=?1 AND s.region=?2 AND s.order_id=?3 AND c.deleted_at IS NULL");
  q.bind(1, std::string_view(scope.collector))
      .bind(2, std::string_view(scope.region))
      .bind(3, std::string_view(scope.order_id));
  std::unordered_set<std::string> out;
  if (auto r = q.each([&] { out.emplace(q.text(0)); }); !r) {
    return r.error();
  }
  return out;
}

Result<std::vector<ScopeStatus>> Store::scopes() {
  Stmt q(m_db,
         "SELECT collector, product, account, region, order_id, last_run_at, last_success_at, last_ok, last_error, "
         "last_duration, codes, successes, failures, consecutive_failures, "
         "(SELECT min(started_at) FROM runs r WHERE r.scope_id = scopes.id) FROM scopes "
         "ORDER BY collector, region, order_id");
  std::vector<ScopeStatus> out;
  if (auto r = q.each([&] {
        ScopeStatus s;
        s.scope.collector = q.text(0);
        s.scope.product = config::parse_product(q.text(1)).value_or(config::Product::smc);
        s.scope.account = q.text(2);
        s.scope.region = q.text(3);
        s.scope.order_id = q.text(4);
        s.last_run_at = q.opt_i64(5);
        s.last_success_at = q.opt_i64(6);
        s.last_ok = q.i64(7) != 0;
        s.last_error = q.text(8);
        s.last_duration_seconds = q.f64(9);
        s.codes = static_cast<int>(q.i64(10));
        s.successes = q.i64(11);
        s.failures = q.i64(12);
        s.consecutive_failures = static_cast<int>(q.i64(13));
        s.first_run_at = q.opt_i64(14);
        out.push_back(std::move(s));
      });
      !r) {
    return r.error();
  }
  return out;
}

Result<std::int64_t> Store::prune(UnixTime before) {
  if (auto r = check_file(); !r) {
    return r.error();
  }
  Transaction tx(m_db);
  if (!tx.began()) {
    return sqlite_error(m_db, "cannot begin a transaction");
  }
  std::int64_t removed = 0;
  // History rows and deleted codes past retention go; the newest run of each scope stays.
  for (const char* sql : {"DELETE FROM history WHERE at < ?1", "DELETE FROM codes WHERE deleted_at < ?1",
                          "DELETE FROM alerts WHERE ends_at < ?1",
                          "DELETE FROM runs WHERE finished_at < ?1 AND id NOT IN (SELECT max(id) FROM runs GROUP BY "
                          "scope_id)"}) {
    Stmt s(m_db, sql);
    s.bind(1, before);
    if (auto r = s.run(); !r) {
      return r.error();
    }
    removed += sqlite3_changes(m_db);
  }
  if (auto r = tx.commit(); !r) {
    return r.error();
  }
  return removed;
}

Result<PruneStep> Store::prune_step(UnixTime before, int limit) {
  if (auto r = check_file(); !r) {
    return r.error();
  }
  Transaction tx(m_db);
  if (!tx.began()) {
    return sqlite_error(m_db, "cannot begin a transaction");
  }
  PruneStep step;
  step.done = true;
  // What prune() removes, a few rows at a time; each inner SELECT walks an index
  // (history_at, codes by scope, alerts_ended, runs_finished and runs_scope for the newest run).
  for (const char* sql : {
           "DELETE FROM history WHERE id IN (SELECT id FROM history WHERE at < ?1 LIMIT ?2)",
           "DELETE FROM codes WHERE (scope_id, code_id) IN "
           "(SELECT scope_id, code_id FROM codes WHERE deleted_at < ?1 LIMIT ?2)",
           "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE ends_at < ?1 LIMIT ?2)",
           "DELETE FROM runs WHERE id IN (SELECT r.id FROM runs r WHERE r.finished_at < ?1 AND "
           "r.id < (SELECT max(n.id) FROM runs n WHERE n.scope_id = r.scope_id) LIMIT ?2)",
       }) {
    Stmt s(m_db, sql);
    if (!s.ok()) {
      return sqlite_error(m_db, "prepare prune");
    }
    s.bind(1, before).bind(2, static_cast<std::int64_t>(limit));
    if (auto r = s.run(); !r) {
      return r.error();
    }
    const auto n = sqlite3_changes(m_db);
    step.removed += n;
    step.done = step.done && n < limit;
  }
  if (auto r = tx.commit(); !r) {
    return r.error();
  }
  return step;
}

namespace {

constexpr const char* k_alert_columns =
    "id, rule, severity, product, account, region, order_id, code_id, collector, name, summary, starts_at, ends_at";

AlertRecord read_alert(const Stmt& q, int first) {
  AlertRecord a;
  a.id = q.i64(first);
  a.rule = q.text(first + 1);
  a.severity = q.text(first + 2);
  a.product = q.text(first + 3);
  a.account = q.text(first + 4);
  a.region = q.text(first + 5);
  a.order_id = q.text(first + 6);
  a.code_id = q.text(first + 7);
  a.collector = q.text(first + 8);
  a.name = q.text(first + 9);
  a.summary = q.text(first + 10);
  a.starts_at = q.i64(first + 11);
  a.ends_at = q.opt_i64(first + 12);
  return a;
}

}  // namespace

Result<AlertChanges> Store::reconcile_alerts(const std::vector<AlertRecord>& desired, UnixTime now) {
  if (auto r = check_file(); !r) {
    return r.error();
  }
  Transaction tx(m_db);
  if (!tx.began()) {
    return sqlite_error(m_db, "cannot begin a transaction");
  }
  std::unordered_map<std::string, AlertRecord> firing;
  {
    Stmt q(m_db, std::string("SELECT ") + k_alert_columns + " FROM alerts WHERE ends_at IS NULL");
    if (auto r = q.each([&] {
          AlertRecord a = read_alert(q, 0);
          firing.emplace(a.key(), std::move(a));
        });
        !r) {
      return r.error();
    }
  }
  AlertChanges changes;
  Stmt ins(m_db,
           "INSERT INTO alerts(key, rule, severity, product, account, region, order_id, code_id, collector, name, "
           "summary, starts_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
  Stmt upd(m_db, "UPDATE alerts SET summary=?2, name=?3 WHERE id=?1");
  Stmt end(m_db, "UPDATE alerts SET ends_at=?2 WHERE id=?1");
  std::unordered_map<std::string, bool> wanted;
  for (const auto& d : desired) {
    const std::string key = d.key();
    if (!wanted.emplace(key, true).second) {
      continue;
    }
    auto it = firing.find(key);
    if (it != firing.end()) {
      if (it->second.summary != d.summary || it->second.name != d.name) {
        upd.reset();
        upd.bind(1, it->second.id).bind(2, std::string_view(d.summary)).bind(3, std::string_view(d.name));
        if (auto r = upd.run(); !r) {
          return r.error();
        }
      }
      continue;
    }
    ins.reset();
    ins.bind(1, std::string_view(key)).bind(2, std::string_view(d.rule)).bind(3, std::string_view(d.severity));
    ins.bind(4, std::string_view(d.product)).bind(5, std::string_view(d.account)).bind(6, std::string_view(d.region));
    ins.bind(7, std::string_view(d.order_id)).bind(8, std::string_view(d.code_id));
    ins.bind(9, std::string_view(d.collector)).bind(10, std::string_view(d.name));
    ins.bind(11, std::string_view(d.summary)).bind(12, now);
    if (auto r = ins.run(); !r) {
      return r.error();
    }
    AlertRecord started = d;
    started.id = sqlite3_last_insert_rowid(m_db);
    started.starts_at = now;
    started.ends_at.reset();
    changes.started.push_back(std::move(started));
  }
  for (auto& [key, a] : firing) {
    if (wanted.count(key) != 0) {
      continue;
    }
    end.reset();
    end.bind(1, a.id).bind(2, now);
    if (auto r = end.run(); !r) {
      return r.error();
    }
    a.ends_at = now;
    changes.resolved.push_back(a);
  }
  if (auto r = tx.commit(); !r) {
    return r.error();
  }
  return changes;
}

Result<std::vector<AlertRecord>> Store::alerts(bool include_resolved, UnixTime since) {
  std::string sql = std::string("SELECT ") + k_alert_columns + " FROM alerts WHERE ends_at IS NULL";
  if (include_resolved) {
    sql += " OR ends_at >= ?1";
  }
  sql += " ORDER BY starts_at DESC, id DESC";
  Stmt q(m_db, sql);
  if (include_resolved) {
    q.bind(1, since);
  }
  std::vector<AlertRecord> out;
  if (auto r = q.each([&] { out.push_back(read_alert(q, 0)); }); !r) {
    return r.error();
  }
  return out;
}

Result<std::vector<PendingNotification>> Store::pending_notifications(const std::string& target, UnixTime resend_before,
                                                                      UnixTime not_before) {
  Stmt q(m_db, std::string("SELECT ") +
                   "a.id, a.rule, a.severity, a.product, a.account, a.region, a.order_id, a.code_id, a.collector, "
                   "a.name, a.summary, a.starts_at, a.ends_at FROM alerts a LEFT JOIN notifications n "
                   "ON n.alert_id = a.id AND n.target = ?1 WHERE "
                   "(a.ends_at IS NULL AND (n.firing_sent_at IS NULL OR n.firing_sent_at < ?2)) OR "
                   "(a.ends_at IS NOT NULL AND a.ends_at >= ?3 AND n.resolved_sent_at IS NULL) "
                   "ORDER BY a.id");
  q.bind(1, std::string_view(target)).bind(2, resend_before).bind(3, not_before);
  std::vector<PendingNotification> out;
  if (auto r = q.each([&] {
        PendingNotification p;
        p.alert = read_alert(q, 0);
        p.resolved = p.alert.ends_at.has_value();
        out.push_back(std::move(p));
      });
      !r) {
    return r.error();
  }
  return out;
}

Result<void> Store::mark_notified(const std::string& target, const std::vector<PendingNotification>& sent,
                                  UnixTime now) {
  if (auto r = check_file(); !r) {
    return r.error();
  }
  Transaction tx(m_db);
  if (!tx.began()) {
    return sqlite_error(m_db, "cannot begin a transaction");
  }
  Stmt firing(m_db,
              "INSERT INTO notifications(target, alert_id, firing_sent_at) VALUES(?1,?2,?3) "
              "ON CONFLICT(target, alert_id) DO UPDATE SET firing_sent_at=excluded.firing_sent_at");
  Stmt resolved(m_db,
                "INSERT INTO notifications(target, alert_id, resolved_sent_at) VALUES(?1,?2,?3) "
                "ON CONFLICT(target, alert_id) DO UPDATE SET resolved_sent_at=excluded.resolved_sent_at");
  for (const auto& p : sent) {
    Stmt& s = p.resolved ? resolved : firing;
    s.reset();
    s.bind(1, std::string_view(target)).bind(2, p.alert.id).bind(3, now);
    if (auto r = s.run(); !r) {
      return r.error();
    }
  }
  return tx.commit();
}

Result<WriterLock> WriterLock::acquire(const std::string& database_path) {
  const std::string lock_path = database_path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(ErrorKind::db, "database " + database_path + ": cannot open its lock file " + lock_path + ": " +
                                         std::strerror(errno));
  }
  WriterLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      return make_error(ErrorKind::db,
                        "database " + database_path + ": cannot lock " + lock_path + ": " + std::strerror(err));
    }
    char buf[32] = {};
    const auto n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) {
      holder.pop_back();
    }
    return make_error(ErrorKind::db, "database " + database_path + " is in use by another acmon run" +
                                         (holder.empty() ? std::string() : " (pid " + holder + ")") +
                                         ": one daemon per database (lock file " + lock_path + ")");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is a courtesy for the message above; the lock is what counts.
  }
  return lock;
}

WriterLock::WriterLock(WriterLock&& other) noexcept : m_fd(other.m_fd) {
  other.m_fd = -1;
}

WriterLock& WriterLock::operator=(WriterLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

WriterLock::~WriterLock() {
  if (m_fd >= 0) {
    ::close(m_fd);  // releases the flock
  }
}

}  // namespace acmon::db
