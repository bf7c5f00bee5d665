// The snapshot store: SQLite, one transaction per scope run, history rows only for changes.
// A Store is used by one thread at a time; open one per thread (WAL lets readers and the
// writer work side by side, and a busy timeout makes writers wait for each other).
#pragma once

#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "acmon/core/result.hpp"
#include "acmon/core/time.hpp"
#include "acmon/model/alert.hpp"
#include "acmon/model/code.hpp"
#include "acmon/model/scope.hpp"
#include "acmon/model/stored.hpp"

struct sqlite3;

namespace acmon::db {

namespace detail {
class StmtCache;
class Transaction;
struct Hashes;
}  // namespace detail

// The write-ahead log is checkpointed before a run's write once it holds more pages than this
// (4 KiB each: 64 MiB), so that it stays bounded when Store::checkpoint is never called.
constexpr int k_wal_bound_pages = 16384;

// The current schema version (PRAGMA user_version).
constexpr int k_schema_version = 7;

struct RunInfo {
  UnixTime started_at = 0;
  UnixTime finished_at = 0;
  double duration_seconds = 0;
  int pages = 0;
};

struct WriteSummary {
  std::int64_t run_id = 0;
  int codes = 0;
  int created = 0;
  int changed = 0;
  int deleted = 0;
  int history_rows = 0;
};

struct HistoryEntry {
  UnixTime at = 0;
  std::string event;   // created, used, changed, disabled, enabled, expired, deleted, restored
  std::string detail;  // "used +3", "name: a -> b"
  model::Code snapshot;
  std::string collector;
};

struct AlertChanges {
  std::vector<model::AlertRecord> started;
  std::vector<model::AlertRecord> resolved;
};

// A notification still owed to a receiver: a firing alert to (re-)send, or a resolution.
struct PendingNotification {
  model::AlertRecord alert;
  bool resolved = false;
};

struct PruneStep {
  std::int64_t removed = 0;
  bool done = false;  // nothing older is left: every table gave fewer rows than the limit
};

struct CodeFilter {
  std::optional<config::Product> product;
  std::optional<std::string> account;
  std::optional<model::Scope> scope;  // one scope's codes (collector, member, region, order id)
  std::optional<model::CodeState> state;
  bool include_deleted = false;
};

class Store {
 public:
  // Opens (creating when absent, mode 0600; SQLite gives its -wal and -shm files the same mode)
  // and migrates the database. Errors name the file.
  static Result<std::unique_ptr<Store>> open(const std::string& path);
  // Opens an existing database for reading only (SQLITE_OPEN_READONLY): what `acmon codes`,
  // `alerts` and `history` read with. It never creates the file, never migrates it and writes
  // nothing (no pragma that persists, no fingerprint key): a missing file is an error naming it,
  // and so is a schema other than k_schema_version, newer (this acmon cannot read it) or older (the
  // daemon, or `acmon migrate`, upgrades it first; a reader must not upgrade a database under an
  // older daemon that writes it). The write methods refuse. It needs only read permission on the
  // file and its -wal and -shm: while a writer has the database open they exist; when none has
  // (no -wal) and the reader may not create the -shm beside it, the file is read as immutable.
  static Result<std::unique_ptr<Store>> open_read_only(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // A complete listing of a scope: writes the changes and the run in one transaction.
  // now decides derived states (expired) for history events.
  Result<WriteSummary> record_success(const model::Scope& scope, const std::vector<model::Code>& codes,
                                      const RunInfo& run, UnixTime now);
  // A failed run: recorded with its error; no code changes.
  Result<std::int64_t> record_failure(const model::Scope& scope, const std::string& error, const RunInfo& run);

  Result<std::vector<model::StoredCode>> codes(const CodeFilter& filter, UnixTime now);
  // The history of every code with this id (ids are unique per product and account).
  Result<std::vector<HistoryEntry>> history(const std::string& code_id, std::optional<UnixTime> since);
  Result<std::vector<model::ScopeStatus>> scopes();
  // An organization's members as last listed (replacing the ones stored before), and all of them
  // by organization name: what `acmon codes` and `acmon alerts` watch, and the display names.
  Result<void> store_members(const std::string& organization, const std::vector<config::Member>& members, UnixTime now);
  Result<std::map<std::string, std::vector<config::Member>>> members();
  // The ids of a scope's codes that are not deleted and that a complete listing lacks: what a new listing
  // must account for before any is written as deleted. Nothing is read when the listing has the ids of the one this
  // Store last wrote for the scope, in the same order, and no other writer has run the scope since: those are the live
  // ones.
  Result<std::vector<std::string>> live_missing(const model::Scope& scope, const std::vector<model::Code>& listed);
  // How many codes the scope's last successful listing held (0 for a scope never listed).
  Result<std::size_t> scope_codes(const model::Scope& scope);
  // Deletes history and runs older than before; returns rows removed.
  Result<std::int64_t> prune(UnixTime before);
  // One bounded step of prune(): at most `limit` rows from each table, in one short
  // transaction, so that a writer waiting for the store is never held up for long.
  Result<PruneStep> prune_step(UnixTime before, int limit);

  // Makes the stored alerts match the desired ones (all of them, as evaluated at now): new keys
  // start firing, firing keys no longer desired resolve, continuing ones keep their starts_at and
  // take the new summary. One transaction.
  Result<AlertChanges> reconcile_alerts(std::vector<model::AlertRecord> desired, UnixTime now);
  // The same, in place: on success `alerts` (the desired ones) becomes what alerts(false) would read
  // back (a repeated key dropped, each with its stored id and starts_at, newest first), without a
  // second copy of them all; on failure it is unchanged.
  Result<AlertChanges> reconcile_firing(std::vector<model::AlertRecord>& alerts, UnixTime now);
  // Applies what changed since the firing alerts the caller knows, in one transaction: `start`
  // inserted (each gets its id, and starts_at = now), `update` (firing, by id) takes its summary and
  // name, `end` (firing, by id) resolves at now. When the database is not what the caller knows (a
  // started key firing already, an updated or ended id not firing) it fails and changes nothing;
  // reconcile_firing then puts it right.
  Result<AlertChanges> apply_alert_changes(const std::vector<model::AlertRecord*>& start,
                                           const std::vector<const model::AlertRecord*>& update,
                                           const std::vector<const model::AlertRecord*>& end, UnixTime now);
  // Firing alerts; with include_resolved, those resolved since `since` too. Newest first.
  Result<std::vector<model::AlertRecord>> alerts(bool include_resolved, UnixTime since = 0);

  // Notifications owed to a receiver (named by target): firing alerts not sent since
  // resend_before (or never), or last sent after sent_after (the times are wall-clock: once the
  // clock steps back, a sending stamped in the future is due, not waited for); and resolutions not
  // yet delivered: every one of an alert the receiver was told fired, and of the others those that
  // ended after not_before.
  Result<std::vector<PendingNotification>> pending_notifications(
      const std::string& target, UnixTime resend_before, UnixTime not_before,
      UnixTime sent_after = std::numeric_limits<UnixTime>::max());
  Result<void> mark_notified(const std::string& target, const std::vector<PendingNotification>& sent, UnixTime now);

  // Whether the path still names the file this Store opened (same device and inode). A file
  // deleted or replaced under a running acmon is an error naming the path: every write method
  // checks it first and refuses, rather than writing into a file nobody else can see.
  [[nodiscard]] Result<void> check_file() const;

  // Copies what the write-ahead log holds into the database file, as far as readers allow
  // (SQLite's passive checkpoint). A commit does not do it: a run's write ends at its commit, and
  // the daemon calls this when it evaluates alerts. record_success begins with one when the log
  // has grown past k_wal_bound_pages, so that it stays bounded even when nobody calls this.
  Result<void> checkpoint();

  [[nodiscard]] const std::string& path() const { return m_path; }
  // The schema version the file had when it was opened (before open() migrated it).
  [[nodiscard]] int opened_schema_version() const { return m_opened_version; }
  [[nodiscard]] bool read_only() const { return m_read_only; }
  sqlite3* handle() { return m_db; }

  // Gives back what the connection holds between uses: the page cache's pages, and the prepared
  // statements that write many rows at once (a run that changes codes prepares them again). The
  // daemon calls it once a run, an evaluation or pruning is over, so that an idle daemon keeps none.
  void release_memory();

 private:
  Store(sqlite3* db, std::string path);
  Result<void> migrate();
  Result<void> migrate_steps();
  // Inside the migration's transaction: the hashes the store compares codes with (m_hashes), the
  // fingerprints' under the database's key (table meta). A key is made when there is none, or none
  // that reads as one (a new database, one migrated from before version 6, a row edited by hand),
  // and every stored fingerprint is computed again under it; again too when the fingerprints were
  // computed with another algorithm than this OpenSSL offers (KeyedHash).
  Result<void> load_hashes();
  // Inside the migration's transaction, from a schema before 7: each notification receiver keyed
  // by the SHA-256 (hex) of what was stored for it ("TYPE:URL"), as daemon::receiver_key makes it.
  Result<void> rekey_receivers();
  // A scope's row as stored, by its key (collector, region, order id, member): its id and the
  // codes its last successful listing held. nullopt: never stored.
  struct StoredScope {
    std::int64_t id = 0;
    std::int64_t codes = 0;
  };
  Result<std::optional<StoredScope>> find_scope(const model::Scope& scope);
  // The scope's id, its row made (or its product, account and organization brought up to date).
  Result<std::int64_t> scope_id(const model::Scope& scope);
  // Before a write transaction: a checkpoint when the log holds more than k_wal_bound_pages.
  void bound_wal();
  // record_success's transaction (foreign keys off meanwhile).
  Result<WriteSummary> write_success(const model::Scope& scope, const std::vector<model::Code>& codes,
                                     const RunInfo& run, UnixTime now);
  // Before a write: the path still names the file opened (check_file) and tx began.
  Result<void> writable(const detail::Transaction& tx) const;
  // Fills in exhaustion_forecast of the codes that can run out, from their history within
  // model::k_forecast_window (the filter is the one they were read with; scope_ids[i] is the scope
  // of codes[i]).
  Result<void> add_forecasts(std::vector<model::StoredCode>& codes, const std::vector<std::int64_t>& scope_ids,
                             const CodeFilter& filter, UnixTime now);

  // A run whose listing is the one this Store wrote last for the scope, with the database unchanged
  // since (that run is still the scope's newest): the run alone is recorded. nullopt: not that case.
  Result<std::optional<WriteSummary>> unchanged_run(std::int64_t scope_id, std::uint64_t digest,
                                                    const std::vector<model::Code>& codes, const RunInfo& run);

  // What this Store last wrote for a scope (by scope id): the digest of the listing and its run.
  struct Written {
    std::uint64_t digest = 0;
    std::uint64_t ids_digest = 0;
    std::int64_t run_id = 0;
  };
  // Whether run_id is still the newest run of the scope: no other writer has run it since.
  Result<bool> newest_run_is(std::int64_t scope_id, std::int64_t run_id);

  sqlite3* m_db;
  std::unique_ptr<detail::StmtCache> m_stmts;
  std::unique_ptr<detail::Hashes> m_hashes;  // made once the schema is current (migrate)
  std::unordered_map<std::int64_t, Written> m_written;
  int m_wal_pages = 0;  // frames in the write-ahead log after the last commit
  int m_opened_version = 0;
  bool m_read_only = false;
  std::string m_path;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> m_identity;  // device, inode; none: in memory
};

// The one writer of a database: an exclusive flock(2) on "<database>.lock" (mode 0600), held
// until destroyed or the process ends, however it ends. SQLite's own locks last one transaction
// only, so they cannot keep a second daemon away. The lock file holds the holder's pid.
class WriterLock {
 public:
  // Fails when another process holds it: the error names the database and that process.
  static Result<WriterLock> acquire(const std::string& database_path);
  WriterLock(WriterLock&& other) noexcept;
  WriterLock& operator=(WriterLock&& other) noexcept;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;
  ~WriterLock();

 private:
  explicit WriterLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

}  // namespace acmon::db
