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
#include "acmon/daemon/sync.hpp"
#include "acmon/db/store.hpp"
#include "acmon/metrics/exporter.hpp"

namespace acmon::daemon {

class HttpServer;

struct ServiceOptions {
  int parallel = 4;                                 // scope runs at a time
  std::chrono::milliseconds evaluate_every{30000};  // alert evaluation timer
  std::chrono::milliseconds notify_every{5000};     // notifier wake-up
  bool schedule = true;                             // false: runs only when asked (tests)
  CredentialOptions credentials;
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

  // Runs every scope (and discovery) once now, then evaluates. For tests and `acmon sync`-like use.
  std::vector<ScopeOutcome> run_all_once();
  // Evaluates the rules at clock.now() and stores the alert changes.
  Result<db::AlertChanges> evaluate();
  // Delivers owed notifications to every receiver once; returns error texts.
  std::vector<std::string> notify_once();

  [[nodiscard]] int port() const { return m_port; }
  [[nodiscard]] bool ready() const { return m_ready.load(); }
  [[nodiscard]] std::string status() const;
  [[nodiscard]] std::string metrics_text() const;

 private:
  struct Generation;
  struct Unit;

  void build_units(const std::shared_ptr<Generation>& gen);
  void scheduler_loop();
  void notifier_loop();
  // Runs one unit (the caller has marked it running); returns the scope outcomes it wrote.
  // evaluate_after: evaluate the alert rules once it is stored (run_all_once evaluates once at the end).
  std::vector<ScopeOutcome> run_unit(const std::shared_ptr<Unit>& unit, bool evaluate_after = true);
  void after_run(const std::vector<ScopeOutcome>& outcomes, bool evaluate_after);
  // The whole state from the database (start, reload).
  Result<void> load_state();
  // One scope's codes, and every scope's status, from the database after a run.
  Result<void> load_scope(const collectors::Scope& scope);
  std::shared_ptr<const metrics::State> state() const;
  void set_state(std::shared_ptr<const metrics::State> next);
  std::chrono::milliseconds next_delay(const Unit& u, bool ok);

  config::Config m_cfg;
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

  std::mutex m_eval_mutex;  // one evaluation at a time
  mutable std::mutex m_state_mutex;
  std::shared_ptr<const metrics::State> m_state;
  std::vector<std::shared_ptr<prometheus::Collectable>> m_collectables;

  std::mutex m_sched_mutex;
  std::condition_variable m_sched_cv;
  std::map<std::string, std::shared_ptr<Unit>> m_units;
  int m_running = 0;
  std::vector<std::thread> m_workers;
  std::thread m_scheduler;
  std::thread m_notifier;
  std::condition_variable m_notify_cv;
  std::mutex m_notify_mutex;
  bool m_notify_pending = false;

  std::unique_ptr<HttpServer> m_http;
  int m_port = 0;
  std::atomic<bool> m_ready{false};
  std::atomic<int> m_first_round_left{0};
  mutable std::mutex m_status_mutex;
  std::string m_status = "starting";
};

}  // namespace acmon::daemon
