#include "acmon/daemon/service.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <spdlog/spdlog.h>

#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <random>
#include <set>

#include "acmon/core/backoff.hpp"
#include "acmon/daemon/alerts.hpp"
#include "acmon/daemon/http_server.hpp"
#include "acmon/daemon/notify.hpp"

namespace acmon::daemon {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Everything built from one configuration. Each collector owns the credentials it signs with
// (shared by the collectors of one account), so a run that holds its collector holds everything
// it calls with, whatever reloads do meanwhile.
struct Service::Generation {
  config::Config cfg;
  std::map<std::string, std::shared_ptr<collectors::Collector>> collectors;
};

// One scheduled thing: a scope's listing, or an ecs collector's region discovery. Every field is
// read and written under m_sched_mutex only; a run copies what it needs first (run_unit).
struct Service::Unit {
  std::string key;
  std::string collector;
  std::optional<model::Scope> scope;  // empty: discovery
  std::shared_ptr<Generation> gen;
  std::int64_t interval = 300;
  Steady::time_point due;
  bool running = false;
  bool done_once = false;      // a run finished since start
  std::uint64_t finished = 0;  // which of the daemon's finished runs was its last
  int failures = 0;
};

// What memory knows of a scope beyond the database: failed runs the database did not take (a
// full disk, a file deleted or replaced). Laid over the stored status for /metrics and alerts.
struct Service::ScopeMemory {
  model::ScopeStatus last;    // the last such run: scope, time, error, duration
  std::int64_t unstored = 0;  // failed runs since start that the database never took
  int pending = 0;            // of them, those after the last run the database took
  int carried = 0;            // of them, those before a stored failure that still counts
};

// acmon_database_ok, read at scrape time.
class Service::DatabaseCollectable final : public prometheus::Collectable {
 public:
  explicit DatabaseCollectable(const Service& service) : m_service(service) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily f;
    f.name = "acmon_database_ok";
    f.help =
        "1 if the database path still names the file acmon opened and the last write to it succeeded; 0 once the "
        "file is deleted or replaced (until a restart) or after a failed write (until a run is stored again)";
    f.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric m;
    m.gauge.value = m_service.database_ok() ? 1 : 0;
    f.metric.push_back(std::move(m));
    return {std::move(f)};
  }

 private:
  const Service& m_service;
};

class Service::StopSleeper final : public api::Sleeper {
 public:
  explicit StopSleeper(const std::atomic<bool>& stop) : m_stop(stop) {}
  void sleep(milliseconds d) override {
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, d, [&] { return m_stop.load(); });
  }
  void wake() {
    // Under the mutex: a sleeper between its check of m_stop and its wait cannot miss this.
    std::lock_guard lock(m_mutex);
    m_cv.notify_all();
  }

 private:
  const std::atomic<bool>& m_stop;
  std::mutex m_mutex;
  std::condition_variable m_cv;
};

namespace {

std::string unit_key(const std::string& collector, const model::Scope* s) {
  return s == nullptr ? collector + "|*discovery*" : collector + "|" + s->region + "|" + s->order_id;
}

milliseconds jitter(milliseconds base, double fraction) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  const auto span = static_cast<std::int64_t>(static_cast<double>(base.count()) * fraction);
  if (span <= 0) {
    return base;
  }
  std::uniform_int_distribution<std::int64_t> d(-span, span);
  return milliseconds(std::max<std::int64_t>(1000, base.count() + d(rng)));
}

// A collector that owns the credentials it signs with.
struct OwningCollector {
  OwningCollector(const config::Collector& c, api::Client& client, std::shared_ptr<CredentialProvider> creds)
      : credentials(std::move(creds)), collector(c, client, *credentials) {}
  std::shared_ptr<CredentialProvider> credentials;
  collectors::Collector collector;
};

// The stored status with what only memory knows laid over it.
model::ScopeStatus overlay(model::ScopeStatus s, std::int64_t unstored, int pending, int carried,
                           const model::ScopeStatus& last) {
  s.failures += unstored;
  if (pending > 0) {
    s.last_run_at = last.last_run_at;
    s.last_ok = false;
    s.last_error = last.last_error;
    s.last_duration_seconds = last.last_duration_seconds;
    if (!s.first_run_at) {
      s.first_run_at = last.first_run_at;
    }
    s.consecutive_failures += carried + pending;
  } else if (!s.last_ok) {
    s.consecutive_failures += carried;
  }
  return s;
}

}  // namespace

Service::Service(config::Config cfg, std::unique_ptr<db::Store> store, const Clock& clock, ServiceOptions options)
    : m_cfg(std::move(cfg)), m_store(std::move(store)), m_clock(clock), m_options(std::move(options)) {
  m_transport.set_cancel_flag(&m_stop);
  m_notify_transport.set_cancel_flag(&m_stop);
  m_sleeper = std::make_unique<StopSleeper>(m_stop);
  m_api_metrics = std::make_shared<metrics::ApiMetrics>();
  m_client = std::make_unique<api::Client>(m_transport, m_clock, *m_sleeper, api::RetryPolicy{}, m_api_metrics.get());
  m_collectables = {m_api_metrics->registry(), std::make_shared<metrics::ProcessCollectable>(),
                    std::make_shared<DatabaseCollectable>(*this)};
  m_state = std::make_shared<model::Snapshot>();
}

Service::~Service() {
  stop();
}

std::shared_ptr<Service::Generation> Service::make_generation(const config::Config& cfg) {
  auto gen = std::make_shared<Generation>();
  gen->cfg = cfg;
  std::map<std::string, std::shared_ptr<CredentialProvider>> credentials;
  for (const auto& a : cfg.accounts) {
    credentials.emplace(a.name, make_credential_provider(a, m_options.credentials));
  }
  for (const auto& c : cfg.collectors) {
    auto owner = std::make_shared<OwningCollector>(c, *m_client, credentials.at(c.account));
    // Aliasing: the handle points at the collector and keeps its owner (and credentials) alive.
    gen->collectors.emplace(c.name, std::shared_ptr<collectors::Collector>(owner, &owner->collector));
  }
  return gen;
}

void Service::build_units(const std::shared_ptr<Generation>& gen) {
  std::lock_guard lock(m_sched_mutex);
  std::map<std::string, std::shared_ptr<Unit>> next;
  const auto now = Steady::now();
  auto keep_or_make = [&](const std::string& key, const config::Collector& c, std::optional<model::Scope> scope) {
    std::shared_ptr<Unit> u;
    if (auto it = m_units.find(key); it != m_units.end()) {
      u = it->second;
    } else {
      u = std::make_shared<Unit>();
      u->key = key;
      u->due = now + jitter(milliseconds(1500), 0.6);  // soon, but not all at once
    }
    u->collector = c.name;
    u->scope = std::move(scope);
    u->gen = gen;
    u->interval = c.interval;
    next[key] = u;
  };
  for (const auto& c : gen->cfg.collectors) {
    auto collector = gen->collectors.at(c.name);
    if (c.product == config::Product::ecs && c.regions.size() == 1 && c.regions[0] == "*") {
      keep_or_make(unit_key(c.name, nullptr), c, std::nullopt);
      // Scopes found by an earlier discovery stay scheduled until the next discovery says otherwise.
      for (auto& [key, u] : m_units) {
        if (u->collector == c.name && u->scope) {
          keep_or_make(key, c, u->scope);
        }
      }
      continue;
    }
    auto scopes = collector->scopes();  // no API call for static scopes
    for (const auto& s : *scopes) {
      keep_or_make(unit_key(c.name, &s), c, s);
    }
  }
  m_units = std::move(next);
  m_units_built = true;
  m_sched_cv.notify_all();
}

Result<void> Service::start() {
  // State from the database first: metrics and alerts are right before any new poll.
  auto gen = make_generation(m_cfg);
  {
    std::lock_guard lock(m_sched_mutex);
    m_gen = gen;
  }
  if (auto r = load_state(); !r) {
    return r.error();
  }
  if (auto r = evaluate(); !r) {
    // Shown from memory, and tried again after every run: not a reason to stay down.
    spdlog::error("alert evaluation: {}", r.error().message);
  }

  auto hp = config::split_host_port(m_cfg.daemon.listen);
  m_http = std::make_unique<HttpServer>();
  m_http->route("GET", "/metrics", [this](const HttpRequest&) {
    // Streamed from a snapshot of the state: a large page is never held whole.
    HttpResponse res;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.stream = [this, snapshot = state()](const HttpWriter& write) {
      metrics::write_all(*snapshot, m_collectables, [&](std::string_view piece) { write(piece); });
    };
    return res;
  });
  m_http->route("GET", "/healthz", [](const HttpRequest&) {
    HttpResponse res;
    res.content_type = "text/plain";
    res.body = "ok\n";
    return res;
  });
  m_http->route("GET", "/readyz", [this](const HttpRequest&) {
    HttpResponse res;
    res.content_type = "text/plain";
    if (ready()) {
      res.body = "ready\n";
    } else {
      res.status = 503;
      res.body = "not ready: the first run of every collector scope has not finished\n";
    }
    return res;
  });
  if (auto r = m_http->start(hp->first, hp->second); !r) {
    return make_error(ErrorKind::config, r.error().message + " (daemon.listen in " + m_cfg.path + ")");
  }
  m_port = m_http->port();

  build_units(gen);
  if (m_options.schedule) {
    m_scheduler = std::thread([this] { scheduler_loop(); });
    m_notifier = std::thread([this] { notifier_loop(); });
  }
  return {};
}

void Service::stop() {
  if (m_stop.exchange(true)) {
    return;
  }
  static_cast<StopSleeper*>(m_sleeper.get())->wake();
  // Each mutex taken (empty) first: a thread between its check of m_stop and its wait cannot miss
  // the notification and sleep on until its next timer.
  { std::lock_guard lock(m_sched_mutex); }
  m_sched_cv.notify_all();
  { std::lock_guard lock(m_notify_mutex); }
  m_notify_cv.notify_all();
  if (m_scheduler.joinable()) {
    m_scheduler.join();
  }
  for (auto& w : m_workers) {
    if (w.joinable()) {
      w.join();
    }
  }
  if (m_notifier.joinable()) {
    m_notifier.join();
  }
  if (m_http) {
    m_http->stop();
  }
}

milliseconds Service::next_delay(const Unit& u, bool ok) {
  const milliseconds interval(u.interval * 1000);
  if (ok) {
    return jitter(interval, 0.1);
  }
  // A failing scope backs off from 30s, doubling, but never waits longer than its interval.
  // (30s * 2^10 at most: the doubling stops there.)
  return jitter(backoff_ceiling(u.failures, milliseconds(30000), std::min(interval, milliseconds(30000LL << 10))), 0.1);
}

void Service::scheduler_loop() {
  auto next_eval = Steady::now() + m_options.evaluate_every;
  // The first prune soon after start (an upgrade from a daemon that never pruned has a backlog).
  auto next_prune = Steady::now() + std::min(m_options.prune_every, milliseconds(60000));
  std::deque<std::shared_ptr<Unit>> ready;
  std::mutex ready_mutex;
  std::condition_variable ready_cv;
  // A bounded pool: at most `parallel` scope runs at a time; a slow one holds only its own worker.
  for (int i = 0; i < std::max(1, m_options.parallel); ++i) {
    m_workers.emplace_back([&, this] {
      while (true) {
        std::shared_ptr<Unit> u;
        {
          std::unique_lock lock(ready_mutex);
          ready_cv.wait(lock, [&] { return m_stop.load() || !ready.empty(); });
          if (m_stop.load()) {
            return;
          }
          u = ready.front();
          ready.pop_front();
        }
        run_unit(u);
      }
    });
  }
  std::unique_lock lock(m_sched_mutex);
  while (!m_stop.load()) {
    const auto now = Steady::now();
    auto wake = std::min(next_eval, next_prune);
    for (auto& [key, u] : m_units) {
      if (u->running) {
        continue;
      }
      if (u->due <= now && m_running < std::max(1, m_options.parallel)) {
        u->running = true;
        ++m_running;
        {
          std::lock_guard rl(ready_mutex);
          ready.push_back(u);
        }
        ready_cv.notify_one();
      } else if (u->due > now) {
        wake = std::min(wake, u->due);
      }
    }
    if (now >= next_eval) {
      next_eval = now + m_options.evaluate_every;
      lock.unlock();
      (void)evaluate();  // time alone brings codes closer to expiry; it checks the database file too
      lock.lock();
      continue;
    }
    if (now >= next_prune) {
      lock.unlock();
      // A bounded slice: the scheduler is back within a quarter second, the store free between steps.
      auto p = prune_for(milliseconds(250));
      if (!p) {
        spdlog::error("pruning by retention: {}", p.error().message);
      }
      lock.lock();
      // A backlog goes on shortly, a slice at a time; otherwise at the next period.
      next_prune = Steady::now() + ((p && !p->done) ? milliseconds(1000) : m_options.prune_every);
      continue;
    }
    m_sched_cv.wait_until(lock, wake);
  }
  lock.unlock();
  {
    std::lock_guard rl(ready_mutex);  // a worker between its check and its wait cannot miss this
  }
  ready_cv.notify_all();
  for (auto& w : m_workers) {
    w.join();
  }
  m_workers.clear();
}

std::vector<ScopeOutcome> Service::run_unit(const std::shared_ptr<Unit>& u, bool evaluate_after) {
  // What this run uses, copied under the lock: a reload may change the unit at any moment after.
  std::optional<model::Scope> scope;
  std::shared_ptr<collectors::Collector> collector;
  {
    std::lock_guard lock(m_sched_mutex);
    scope = u->scope;
    collector = u->gen->collectors.at(u->collector);
  }
  std::vector<ScopeOutcome> outcomes;
  bool ok = true;
  if (!scope) {
    auto scopes = collector->scopes();
    if (!scopes) {
      if (!m_stop.load()) {
        outcomes.push_back(
            record_discovery_failure(collector->config(), scopes.error(), *m_store, m_store_mutex, m_clock));
      }
      ok = false;
    } else {
      std::lock_guard lock(m_sched_mutex);
      // A reload may have removed or replaced the collector meanwhile: then this finding is stale.
      auto self = m_units.find(u->key);
      if (self != m_units.end() && self->second == u) {
        std::set<std::string> found;
        for (const auto& s : *scopes) {
          const auto key = unit_key(u->collector, &s);
          found.insert(key);
          if (m_units.count(key) == 0) {
            auto nu = std::make_shared<Unit>();
            nu->key = key;
            nu->collector = u->collector;
            nu->scope = s;
            nu->gen = u->gen;
            nu->interval = u->interval;
            nu->due = Steady::now();
            m_units[key] = nu;
          }
        }
        for (auto it = m_units.begin(); it != m_units.end();) {
          const bool stale = it->second->collector == u->collector && it->second->scope && found.count(it->first) == 0;
          it = stale ? m_units.erase(it) : std::next(it);
        }
      }
    }
  } else {
    auto o = sync_scope(*collector, *scope, *m_store, m_store_mutex, m_clock, &m_stop);
    ok = o.ok;
    outcomes.push_back(std::move(o));
  }
  if (m_stop.load()) {
    std::lock_guard lock(m_sched_mutex);
    u->running = false;
    --m_running;
    return outcomes;
  }
  // Into the exported state before the run counts as finished: ready() relies on that order.
  after_run(outcomes);
  {
    std::lock_guard lock(m_sched_mutex);
    u->running = false;
    --m_running;
    u->failures = ok ? 0 : u->failures + 1;
    u->due = Steady::now() + next_delay(*u, ok);
    u->done_once = true;
    u->finished = ++m_finished_runs;
  }
  if (evaluate_after) {
    if (auto r = evaluate(); !r) {
      spdlog::error("alert evaluation: {}", r.error().message);
    }
  }
  // A large listing leaves freed pages behind in the allocator's arenas: give them back.
  malloc_trim(0);
  m_sched_cv.notify_all();
  return outcomes;
}

bool Service::ready() const {
  std::lock_guard lock(m_sched_mutex);
  if (!m_units_built) {
    return false;
  }
  return std::all_of(m_units.begin(), m_units.end(), [&](const auto& entry) {
    return entry.second->done_once && entry.second->finished <= m_evaluated_through;
  });
}

bool Service::database_ok() const {
  std::lock_guard lock(m_db_mutex);
  return m_file_ok && m_writes_ok;
}

void Service::note_database(const Result<void>& r, DbEvent event) {
  std::lock_guard lock(m_db_mutex);
  const bool was_ok = m_file_ok && m_writes_ok;
  if (event == DbEvent::file_check) {
    m_file_ok = r.has_value();
  } else if (!r) {
    m_writes_ok = false;
  } else if (event == DbEvent::run_stored) {
    m_writes_ok = true;
  }
  if (!r && r.error().message != m_db_error) {
    m_db_error = r.error().message;
    spdlog::error("{}", m_db_error);  // already names the database
  } else if (r && !was_ok && m_file_ok && m_writes_ok) {
    spdlog::info("database {}: writes succeed again", m_store->path());
    m_db_error.clear();
  }
}

void Service::after_run(const std::vector<ScopeOutcome>& outcomes) {
  for (const auto& o : outcomes) {
    if (o.ok) {
      spdlog::info("{}", summary_line(o));
    } else {
      spdlog::warn("{}", summary_line(o));
    }
    std::lock_guard lock(m_status_mutex);
    m_status = summary_line(o);
  }
  for (const auto& o : outcomes) {
    if (!o.store_error.empty()) {
      note_database(make_error(ErrorKind::db, o.store_error), DbEvent::write);
    } else {
      note_database({}, DbEvent::run_stored);
    }
    if (auto r = load_scope(o); !r) {
      spdlog::error("reading back {}: {}", o.scope.describe(), r.error().message);
    }
  }
}

std::shared_ptr<const model::Snapshot> Service::state() const {
  std::lock_guard lock(m_state_mutex);
  return m_state;
}

void Service::set_state(std::shared_ptr<const model::Snapshot> next) {
  std::lock_guard lock(m_state_mutex);
  m_state = std::move(next);
}

std::vector<model::ScopeStatus> Service::merged_scopes(const config::Config& cfg) const {
  std::vector<model::ScopeStatus> out;
  std::set<std::string> seen;
  for (const auto& s : m_stored_scopes) {
    if (cfg.find_collector(s.scope.collector) == nullptr) {
      continue;
    }
    const auto key = model::scope_key(s.scope);
    seen.insert(key);
    auto it = m_scope_memory.find(key);
    out.push_back(it == m_scope_memory.end()
                      ? s
                      : overlay(s, it->second.unstored, it->second.pending, it->second.carried, it->second.last));
  }
  // Scopes the database has never taken a run of (a fresh database on a full disk).
  for (const auto& [key, m] : m_scope_memory) {
    if (seen.count(key) == 0 && m.pending > 0 && cfg.find_collector(m.last.scope.collector) != nullptr) {
      model::ScopeStatus base;
      base.scope = m.last.scope;
      out.push_back(overlay(base, m.unstored, m.pending, m.carried, m.last));
    }
  }
  std::sort(out.begin(), out.end(), [](const model::ScopeStatus& a, const model::ScopeStatus& b) {
    return std::tie(a.scope.collector, a.scope.region, a.scope.order_id) <
           std::tie(b.scope.collector, b.scope.region, b.scope.order_id);
  });
  return out;
}

Result<void> Service::load_state() {
  std::shared_ptr<Generation> gen;
  {
    std::lock_guard lock(m_sched_mutex);
    gen = m_gen;
  }
  auto next = std::make_shared<model::Snapshot>();
  std::lock_guard lock(m_store_mutex);
  auto codes = m_store->codes({}, m_clock.now());
  if (!codes) {
    return codes.error();
  }
  auto scopes = m_store->scopes();
  if (!scopes) {
    return scopes.error();
  }
  auto firing = m_store->alerts(false);
  if (!firing) {
    return firing.error();
  }
  // Only what the current configuration collects is exported and judged.
  std::map<std::string, model::CodeList> grouped;
  for (auto& c : *codes) {
    if (gen->cfg.find_collector(c.collector) != nullptr) {
      const model::Scope s{c.collector, c.code.product, c.code.account, c.code.region, c.code.order_id};
      grouped[model::scope_key(s)].push_back(std::move(c));
    }
  }
  for (auto& [key, list] : grouped) {
    next->codes.emplace(key, std::make_shared<const model::CodeList>(std::move(list)));
  }
  std::lock_guard state_lock(m_state_mutex);
  m_stored_scopes = std::move(*scopes);
  next->scopes = merged_scopes(gen->cfg);
  next->alerts = std::move(*firing);
  if (!m_alerts_stored_view) {
    // The database lacks alerts that are shown from memory: keep showing them until evaluated.
    next->alerts = m_state->alerts;
  }
  m_state = next;
  return {};
}

Result<void> Service::load_scope(const ScopeOutcome& o) {
  std::shared_ptr<Generation> gen;
  {
    std::lock_guard lock(m_sched_mutex);
    gen = m_gen;
  }
  db::CodeFilter f;
  f.scope = o.scope;
  std::lock_guard lock(m_store_mutex);
  // A run the database did not take changed no stored code: the list in the state stands.
  std::optional<std::vector<model::StoredCode>> codes;
  if (o.ok) {
    auto read = m_store->codes(f, m_clock.now());
    if (!read) {
      return read.error();
    }
    codes = std::move(*read);
  }
  auto scopes = m_store->scopes();
  // Copy-on-write: the other scopes' lists are shared with the previous state.
  std::lock_guard state_lock(m_state_mutex);
  const auto key = model::scope_key(o.scope);
  if (!o.stored) {
    auto& m = m_scope_memory[key];
    m.last.scope = o.scope;
    m.last.last_run_at = m_clock.now();
    m.last.last_error = o.error;
    m.last.last_duration_seconds = o.seconds;
    if (!m.last.first_run_at) {
      m.last.first_run_at = m.last.last_run_at;
    }
    ++m.unstored;
    ++m.pending;
  } else if (auto it = m_scope_memory.find(key); it != m_scope_memory.end()) {
    // The database has a newer run than memory: what memory held is history now.
    it->second.carried = o.ok ? 0 : it->second.carried + it->second.pending;
    it->second.pending = 0;
  }
  if (scopes) {
    m_stored_scopes = std::move(*scopes);
  }
  auto next = std::make_shared<model::Snapshot>(*m_state);
  if (codes && gen->cfg.find_collector(o.scope.collector) != nullptr) {
    next->codes[key] = std::make_shared<const model::CodeList>(std::move(*codes));
  }
  next->scopes = merged_scopes(gen->cfg);
  m_state = next;
  if (!scopes) {
    return scopes.error();
  }
  return {};
}

Result<db::AlertChanges> Service::evaluate() {
  std::shared_ptr<Generation> gen;
  std::uint64_t through = 0;
  {
    std::lock_guard lock(m_sched_mutex);
    gen = m_gen;
    through = m_finished_runs;  // runs finished by now are in the state read below
  }
  {
    Result<void> file;
    {
      std::lock_guard lock(m_store_mutex);
      file = m_store->check_file();
    }
    note_database(file, DbEvent::file_check);
  }
  std::lock_guard eval_lock(m_eval_mutex);
  auto evaluated = [&] {
    std::lock_guard lock(m_sched_mutex);
    m_evaluated_through = std::max(m_evaluated_through, through);
  };
  const UnixTime now = m_clock.now();
  const auto current = state();
  auto desired = evaluate_alerts(*current, gen->cfg, now);
  // Most evaluations change nothing: then the database is not touched at all.
  std::map<std::string, std::string> want;
  for (const auto& d : desired) {
    want.emplace(d.key(), d.summary + '\x1f' + d.name);
  }
  std::map<std::string, std::string> have;
  for (const auto& a : current->alerts) {
    have.emplace(a.key(), a.summary + '\x1f' + a.name);
  }
  if (want == have && m_alerts_stored) {
    evaluated();
    return db::AlertChanges{};
  }
  Result<db::AlertChanges> changes = db::AlertChanges{};
  Result<std::vector<model::AlertRecord>> firing = std::vector<model::AlertRecord>{};
  {
    std::lock_guard lock(m_store_mutex);
    changes = m_store->reconcile_alerts(desired, now);
    if (changes) {
      firing = m_store->alerts(false);
    }
  }
  if (!changes || !firing) {
    const auto error = make_error(
        ErrorKind::db, naming_database(*m_store, !changes ? changes.error().message : firing.error().message));
    // The database cannot take them: /metrics shows them all the same (continuing alerts keep
    // their start), and the next evaluation tries the database again.
    std::map<std::string, model::AlertRecord> had;
    for (const auto& a : current->alerts) {
      had.emplace(a.key(), a);
    }
    std::map<std::string, model::AlertRecord> shown;
    for (const auto& d : desired) {
      auto it = had.find(d.key());
      model::AlertRecord a = it != had.end() ? it->second : d;
      if (it == had.end()) {
        a.starts_at = now;
      }
      a.summary = d.summary;
      a.name = d.name;
      shown.emplace(d.key(), std::move(a));
    }
    {
      std::lock_guard lock(m_state_mutex);
      auto next = std::make_shared<model::Snapshot>(*m_state);
      next->alerts.clear();
      for (auto& [key, a] : shown) {
        next->alerts.push_back(std::move(a));
      }
      m_state = next;
      m_alerts_stored_view = false;
    }
    m_alerts_stored = false;
    note_database(error, DbEvent::write);
    evaluated();
    return error;
  }
  m_alerts_stored = true;
  {
    std::lock_guard lock(m_state_mutex);
    auto next = std::make_shared<model::Snapshot>(*m_state);
    next->alerts = std::move(*firing);
    m_state = next;
    m_alerts_stored_view = true;
  }
  evaluated();
  for (const auto& a : changes->started) {
    spdlog::warn("alert {} {} firing: {}", a.rule, a.severity, a.is_code_alert() ? a.code_id : a.collector);
  }
  for (const auto& a : changes->resolved) {
    spdlog::info("alert {} {} resolved: {}", a.rule, a.severity, a.is_code_alert() ? a.code_id : a.collector);
  }
  if (!changes->started.empty() || !changes->resolved.empty()) {
    std::lock_guard lock(m_notify_mutex);
    m_notify_pending = true;
    m_notify_cv.notify_all();
  }
  return changes;
}

Result<db::PruneStep> Service::prune_for(milliseconds budget) {
  std::int64_t retention = 0;
  {
    std::lock_guard lock(m_sched_mutex);
    retention = m_gen->cfg.daemon.retention;
  }
  const UnixTime before = m_clock.now() - retention;
  const auto deadline = Steady::now() + budget;
  db::PruneStep total;
  while (!m_stop.load()) {
    Result<db::PruneStep> step = db::PruneStep{};
    {
      std::lock_guard lock(m_store_mutex);
      step = m_store->prune_step(before, std::max(1, m_options.prune_batch));
    }
    if (!step) {
      const auto error = make_error(ErrorKind::db, naming_database(*m_store, step.error().message));
      note_database(error, DbEvent::write);
      return error;
    }
    total.removed += step->removed;
    if (step->done) {
      total.done = true;
      break;
    }
    if (Steady::now() >= deadline) {
      break;
    }
    std::this_thread::yield();  // a run waiting to write gets the store between steps
  }
  if (total.removed > 0) {
    spdlog::info("pruned {} row(s) of history, runs and resolved alerts older than {} (retention {}){}", total.removed,
                 format_rfc3339(before), format_span(retention), total.done ? "" : "; more to come");
  }
  return total;
}

Result<std::int64_t> Service::prune() {
  std::int64_t removed = 0;
  while (true) {
    auto p = prune_for(milliseconds(1000));
    if (!p) {
      return p.error();
    }
    removed += p->removed;
    if (p->done || m_stop.load()) {
      return removed;
    }
  }
}

std::vector<std::string> Service::notify_once() {
  std::vector<std::string> errors;
  std::shared_ptr<Generation> gen;
  {
    std::lock_guard lock(m_sched_mutex);
    gen = m_gen;
  }
  const std::string generator = "http://" + gen->cfg.daemon.listen + "/metrics";
  for (const auto& n : gen->cfg.notify) {
    auto r = deliver(n, m_notify_transport, *m_store, m_store_mutex, m_clock.now(), generator);
    if (!r) {
      errors.push_back(target_name(n) + ": " + r.error().describe());
    }
  }
  return errors;
}

void Service::notifier_loop() {
  std::map<std::string, std::pair<int, Steady::time_point>> receivers;  // failures, next attempt
  std::mt19937_64 rng(std::random_device{}());
  while (!m_stop.load()) {
    {
      std::unique_lock lock(m_notify_mutex);
      m_notify_cv.wait_for(lock, m_options.notify_every, [&] { return m_stop.load() || m_notify_pending; });
      m_notify_pending = false;
    }
    if (m_stop.load()) {
      return;
    }
    std::shared_ptr<Generation> gen;
    {
      std::lock_guard lock(m_sched_mutex);
      gen = m_gen;
    }
    const std::string generator = "http://" + gen->cfg.daemon.listen + "/metrics";
    for (const auto& n : gen->cfg.notify) {
      const auto target = target_name(n);
      auto& [failures, next] = receivers[target];
      if (Steady::now() < next) {
        continue;
      }
      auto r = deliver(n, m_notify_transport, *m_store, m_store_mutex, m_clock.now(), generator);
      if (r) {
        if (failures > 0) {
          spdlog::info("notifications to {} delivered again", target);
        }
        failures = 0;
        continue;
      }
      ++failures;
      next = Steady::now() + backoff(failures + 1, milliseconds(1000), milliseconds(300000), rng);
      spdlog::warn("notifications to {} failed ({} in a row, next try in {} s): {}", target, failures,
                   std::chrono::duration_cast<std::chrono::seconds>(next - Steady::now()).count(),
                   r.error().describe());
    }
  }
}

std::string Service::reload(config::Config next) {
  std::string notes;
  if (next.daemon.database != m_cfg.daemon.database) {
    notes += "daemon.database changed: takes effect after a restart; ";
    next.daemon.database = m_cfg.daemon.database;
  }
  if (next.daemon.listen != m_cfg.daemon.listen) {
    notes += "daemon.listen changed: takes effect after a restart; ";
    next.daemon.listen = m_cfg.daemon.listen;
  }
  auto gen = make_generation(next);
  {
    std::lock_guard lock(m_sched_mutex);
    m_gen = gen;
    m_cfg = next;
  }
  build_units(gen);
  if (auto r = load_state(); !r) {
    notes += "state not reloaded: " + r.error().message + "; ";
  }
  (void)evaluate();
  return notes;
}

std::vector<ScopeOutcome> Service::run_all_once() {
  std::vector<ScopeOutcome> all;
  // Discovery first, so that the scopes it finds are run too.
  for (const bool discovery : {true, false}) {
    std::vector<std::shared_ptr<Unit>> units;
    {
      std::lock_guard lock(m_sched_mutex);
      for (auto& [k, u] : m_units) {
        if (!u->scope == discovery && !u->running) {
          u->running = true;
          ++m_running;
          units.push_back(u);
        }
      }
    }
    for (auto& u : units) {
      auto outcomes = run_unit(u, false);
      all.insert(all.end(), outcomes.begin(), outcomes.end());
    }
  }
  // One evaluation after the whole pass, as `acmon sync` does: a pass at a new time is one poll.
  (void)evaluate();
  return all;
}

std::string Service::status() const {
  std::lock_guard lock(m_status_mutex);
  std::size_t firing = 0;
  {
    std::lock_guard sl(m_state_mutex);
    firing = m_state ? m_state->alerts.size() : 0;
  }
  return "last run: " + m_status + "; " + std::to_string(firing) + " alert(s) firing";
}

std::string Service::metrics_text() const {
  std::string out;
  metrics::write_all(*state(), m_collectables, [&](std::string_view piece) { out.append(piece); });
  return out;
}

}  // namespace acmon::daemon
