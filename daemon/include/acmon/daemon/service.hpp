// `acmon run`: collectors on a schedule, alert evaluation after every run and on a timer,
// notifications in the background, and HTTP for /metrics, /healthz and /readyz.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "acmon/collectors/collector.hpp"
#include "acmon/core/api.hpp"
#include "acmon/core/config.hpp"
#include "acmon/core/http.hpp"
#include "acmon/core/pace.hpp"
#include "acmon/daemon/alert_tracker.hpp"
#include "acmon/daemon/sync.hpp"
#include "acmon/daemon/web_config.hpp"
#include "acmon/db/store.hpp"
#include "acmon/metrics/exporter.hpp"

namespace acmon::daemon {

class HttpServer;

struct ServiceOptions {
  int parallel = 0;                                 // scope runs at a time; 0: [daemon] concurrency
  std::chrono::milliseconds evaluate_every{30000};  // alert evaluation timer
  std::chrono::milliseconds notify_every{5000};     // notifier wake-up
  bool schedule = true;                             // false: runs only when asked (tests)
  CredentialOptions credentials;
  // Pruning by [daemon] retention: how often, and rows per table per step (each step is one
  // short transaction; the store is free between steps).
  std::chrono::milliseconds prune_every{3600000};
  int prune_batch = 500;
};

class Service {
 public:
  // clock stamps runs and evaluates alerts; tests pass a ManualClock.
  Service(config::Config cfg, std::unique_ptr<db::Store> store, const Clock& clock, ServiceOptions options = {});
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Loads the last known state from the database (so the first scrape is right), binds the
  // listener and starts the threads. The error names the address when it cannot listen.
  Result<void> start();
  // Stops within a few seconds: in-flight API calls are cancelled and their runs abandoned
  // without writing anything.
  void stop();
  // Applies a new configuration: collectors added, removed or changed take effect; database and
  // listen need a restart (kept, with a warning in the returned text).
  std::string reload(config::Config next);
  // The web configuration ([daemon] web_config, loaded by load_web_config; null: none): before
  // start() it decides whether the server speaks TLS; after, it is a reload's (see
  // HttpServer::set_web; the returned note says what waits for a restart).
  std::string set_web(std::shared_ptr<const WebConfig> web);

  // Runs every scope (and discovery) once now, then evaluates. For tests and `acmon sync`-like use.
  std::vector<ScopeOutcome> run_all_once();
  // Evaluates the rules at clock.now() and stores the alert changes. When the database cannot
  // take them, /metrics shows the alerts all the same (from memory) and the error is returned.
  // Checks first that the database file is still the one acmon opened (acmon_database_ok).
  // (What started and resolved is logged; the firing alerts are in state().)
  Result<void> evaluate();
  // Removes what is older than [daemon] retention (by clock.now()), step by step; returns the
  // rows removed. The scheduler does this every prune_every.
  Result<std::int64_t> prune();
  // Delivers owed notifications to every receiver once; returns error texts.
  std::vector<std::string> notify_once();

  [[nodiscard]] int port() const { return m_port; }
  // /readyz: every scope that exists now has finished a run (successful or not) since start,
  // and the alerts were evaluated after the last of them. Recomputed on each call.
  [[nodiscard]] bool ready() const;
  // acmon_database_ok: the path still names the open file and the last write succeeded.
  [[nodiscard]] bool database_ok() const;
  // [daemon] shard of the configuration in force: {index, total}.
  [[nodiscard]] std::pair<int, int> shard() const;
  [[nodiscard]] std::string status() const;
  [[nodiscard]] std::string metrics_text() const;

 private:
  struct Generation;
  struct Unit;
  struct ScopeMemory;
  class DatabaseCollectable;
  class ShardCollectable;
  class AccountCollectable;

  enum class DbEvent {
    file_check,  // the path still names the open file
    write,       // a write; its success does not clear an earlier failure
    run_stored,  // a run's outcome stored whole: writes succeed again
  };

  // The collectors of a configuration, each owning the credentials it signs with.
  std::shared_ptr<Generation> make_generation(const config::Config& cfg);
  void build_units(const std::shared_ptr<Generation>& gen);
  // An organization's members listed (members.cpp): the listing recorded against each of its
  // collectors, and when the members changed, a new generation with them (like a reload).
  std::vector<ScopeOutcome> run_members(const std::shared_ptr<Unit>& unit, bool& ok);
  // The current members of each organization (a copy, under m_sched_mutex).
  [[nodiscard]] std::map<std::string, std::vector<config::Member>> members() const;
  void scheduler_loop();
  void notifier_loop();
  // Runs one unit (the caller has marked it running); returns the scope outcomes it wrote.
  // evaluate_after: evaluate the alert rules once it is stored (run_all_once evaluates once at the end).
  std::vector<ScopeOutcome> run_unit(const std::shared_ptr<Unit>& unit, bool evaluate_after = true);
  // Logs the outcomes and puts them into the exported state (from the database, and from memory
  // where the database did not take them).
  void after_run(const std::vector<ScopeOutcome>& outcomes);
  // The whole state from the database (start, reload).
  Result<void> load_state();
  // One scope's codes, and every scope's status, from the database after a run; a run the
  // database did not take is kept in memory (m_scope_memory).
  Result<void> load_scope(const ScopeOutcome& outcome);
  std::shared_ptr<const model::Snapshot> state() const;
  void set_state(std::shared_ptr<const model::Snapshot> next);
  std::chrono::milliseconds next_delay(const Unit& u, bool ok);
  // The statuses to export: the database's, with what only memory knows laid over them.
  // Caller holds m_state_mutex.
  std::vector<model::ScopeStatus> merged_scopes(const config::Config& cfg) const;
  // Prune steps until done or budget is spent; done tells which.
  Result<db::PruneStep> prune_for(std::chrono::milliseconds budget);
  // Records how a write or the file check went (acmon_database_ok); logs each new error.
  void note_database(const Result<void>& r, DbEvent event);

  // Lock order where threads meet (holding one, a thread takes only those to its right):
  //   m_config_mutex -> m_sched_mutex
  //   m_eval_mutex -> m_store_mutex -> m_state_mutex
  //   m_eval_mutex -> m_sched_mutex -> the WorkerPool's queue mutex
  //   m_status_mutex -> m_state_mutex
  //   m_db_mutex, m_notify_mutex, the WorkerPool's and the Pacer's mutexes are leaves.
  // m_sched_mutex is never held while calling out (API, database, evaluation): a run copies what it
  // needs under it (the collector, which owns its credentials; the scope) and then lets go, so a
  // reload may replace a unit's generation at any moment without touching a run in flight.
  // Whoever makes the configuration in force anew (reload; run_members when the members changed)
  // holds it from reading m_cfg until the units are built from what it made: each starts from what
  // the one before put in force, so neither undoes the other (a member listing writing back a copy
  // taken before a reload, or a reload the members as they were before a listing). Never held while
  // calling out (API, database, evaluation).
  std::mutex m_config_mutex;
  config::Config m_cfg;  // written under m_config_mutex and m_sched_mutex; read under either
  std::shared_ptr<Generation> m_gen;
  std::unique_ptr<db::Store> m_store;
  std::mutex m_store_mutex;
  const Clock& m_clock;
  ServiceOptions m_options;

  std::atomic<bool> m_stop{false};
  http::CurlTransport m_transport;
  http::CurlTransport m_notify_transport;
  class StopSleeper;
  std::unique_ptr<api::Sleeper> m_sleeper;
  std::shared_ptr<metrics::ApiMetrics> m_api_metrics;
  std::unique_ptr<api::Client> m_client;
  api::Pacer m_pacer;  // every collector's requests, paced per account × API × region

  std::mutex m_eval_mutex;      // one evaluation at a time
  bool m_alerts_stored = true;  // under m_eval_mutex: false while the database lacks the alerts shown
  AlertTracker m_tracker;       // under m_eval_mutex: what the last evaluation left, to revisit only changes
  // Set by an evaluation that went over everything (and allocated for every code and alert), taken
  // by the scheduler, which then gives the freed memory back; one that revisited a few codes has
  // nothing worth a walk over the allocator's arenas.
  std::atomic<bool> m_eval_was_full{false};
  mutable std::mutex m_state_mutex;
  std::shared_ptr<const model::Snapshot> m_state;
  // Under m_state_mutex: the statuses last read from the database, what memory adds to them (by
  // model::scope_key), and whether the alerts shown are the stored ones.
  std::vector<model::ScopeStatus> m_stored_scopes;
  std::map<std::string, ScopeMemory> m_scope_memory;
  bool m_alerts_stored_view = true;
  std::vector<std::shared_ptr<prometheus::Collectable>> m_collectables;

  mutable std::mutex m_db_mutex;
  bool m_file_ok = true;    // under m_db_mutex: the path names the file acmon opened
  bool m_writes_ok = true;  // under m_db_mutex: the last write succeeded
  std::string m_db_error;   // under m_db_mutex: the last error logged

  mutable std::mutex m_sched_mutex;
  std::condition_variable m_sched_cv;
  std::map<std::string, std::shared_ptr<Unit>> m_units;
  bool m_units_built = false;
  std::uint64_t m_finished_runs = 0;      // runs finished since start; a unit notes its number
  std::uint64_t m_evaluated_through = 0;  // the runs finished before the last evaluation began
  int m_running = 0;
  std::thread m_scheduler;
  std::thread m_notifier;
  std::condition_variable m_notify_cv;
  std::mutex m_notify_mutex;
  bool m_notify_pending = false;

  std::unique_ptr<HttpServer> m_http;
  std::shared_ptr<const WebConfig> m_web;  // until start() hands it to m_http
  int m_port = 0;
  mutable std::mutex m_status_mutex;
  std::string m_status = "starting";
};

}  // namespace acmon::daemon
