#include "acmon/daemon/service.hpp"

#include <spdlog/spdlog.h>

#include <malloc.h>

#include <cstring>
#include <deque>
#include <random>
#include <set>

#include "acmon/daemon/alerts.hpp"
#include "acmon/daemon/http_server.hpp"
#include "acmon/daemon/notify.hpp"

namespace acmon::daemon {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Everything built from one configuration: units of an older generation keep it alive until
// their run ends, so a reload never pulls a collector or its credentials from under a run.
struct Service::Generation {
  config::Config cfg;
  std::map<std::string, std::unique_ptr<CredentialProvider>> credentials;
  std::map<std::string, std::shared_ptr<collectors::Collector>> collectors;
};

// One scheduled thing: a scope's listing, or an ecs collector's region discovery.
struct Service::Unit {
  std::string key;
  std::string collector;
  std::optional<collectors::Scope> scope;  // empty: discovery
  std::shared_ptr<Generation> gen;
  std::int64_t interval = 300;
  Steady::time_point due;
  bool running = false;
  bool done_once = false;
  bool counted = false;  // part of the first round that /readyz waits for
  int failures = 0;
};

class Service::StopSleeper final : public api::Sleeper {
 public:
  explicit StopSleeper(const std::atomic<bool>& stop) : m_stop(stop) {}
  void sleep(milliseconds d) override {
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, d, [&] { return m_stop.load(); });
  }
  void wake() { m_cv.notify_all(); }

 private:
  const std::atomic<bool>& m_stop;
  std::mutex m_mutex;
  std::condition_variable m_cv;
};

namespace {

std::string unit_key(const std::string& collector, const collectors::Scope* s) {
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

}  // namespace

Service::Service(config::Config cfg, std::unique_ptr<db::Store> store, const Clock& clock, ServiceOptions options)
    : m_cfg(std::move(cfg)), m_store(std::move(store)), m_clock(clock), m_options(std::move(options)) {
  m_transport.set_cancel_flag(&m_stop);
  m_notify_transport.set_cancel_flag(&m_stop);
  m_sleeper = std::make_unique<StopSleeper>(m_stop);
  m_api_metrics = std::make_shared<metrics::ApiMetrics>();
  m_client = std::make_unique<api::Client>(m_transport, m_clock, *m_sleeper, api::RetryPolicy{}, m_api_metrics.get());
  m_collectables = {m_api_metrics->registry(), std::make_shared<metrics::ProcessCollectable>()};
  m_state = std::make_shared<metrics::State>();
}

Service::~Service() {
  stop();
}

void Service::build_units(const std::shared_ptr<Generation>& gen) {
  std::lock_guard lock(m_sched_mutex);
  std::map<std::string, std::shared_ptr<Unit>> next;
  const auto now = Steady::now();
  const bool first = m_units.empty() && !m_ready.load();
  auto keep_or_make = [&](const std::string& key, const config::Collector& c, std::optional<collectors::Scope> scope) {
    std::shared_ptr<Unit> u;
    if (auto it = m_units.find(key); it != m_units.end()) {
      u = it->second;
    } else {
      u = std::make_shared<Unit>();
      u->key = key;
      u->due = now + jitter(milliseconds(1500), 0.6);  // soon, but not all at once
      if (first) {
        u->counted = true;
        ++m_first_round_left;
      }
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
  m_sched_cv.notify_all();
}

Result<void> Service::start() {
  // State from the database first: metrics and alerts are right before any new poll.
  auto gen = std::make_shared<Generation>();
  gen->cfg = m_cfg;
  for (const auto& a : m_cfg.accounts) {
    gen->credentials.emplace(a.name, make_credential_provider(a, m_options.credentials));
  }
  for (const auto& c : m_cfg.collectors) {
    gen->collectors.emplace(c.name,
                            std::make_shared<collectors::Collector>(c, *m_client, *gen->credentials.at(c.account)));
  }
  m_gen = gen;
  if (auto r = load_state(); !r) {
    return r.error();
  }
  if (auto r = evaluate(); !r) {
    return r.error();
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
    if (m_ready.load()) {
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
  if (m_cfg.collectors.empty()) {
    m_ready = true;
  }
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
  m_sched_cv.notify_all();
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
  const auto shift = std::min(u.failures - 1, 10);
  return jitter(std::min(interval, milliseconds(30000LL << std::max(0, shift))), 0.1);
}

void Service::scheduler_loop() {
  auto next_eval = Steady::now() + m_options.evaluate_every;
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
    auto wake = next_eval;
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
      (void)evaluate();  // time alone brings codes closer to expiry
      lock.lock();
      continue;
    }
    m_sched_cv.wait_until(lock, wake);
  }
  lock.unlock();
  ready_cv.notify_all();
  for (auto& w : m_workers) {
    w.join();
  }
  m_workers.clear();
}

std::vector<ScopeOutcome> Service::run_unit(const std::shared_ptr<Unit>& u, bool evaluate_after) {
  std::vector<ScopeOutcome> outcomes;
  auto collector = u->gen->collectors.at(u->collector);
  bool ok = true;
  if (!u->scope) {
    auto scopes = collector->scopes();
    if (!scopes) {
      if (!m_stop.load()) {
        outcomes.push_back(
            record_discovery_failure(collector->config(), scopes.error(), *m_store, m_store_mutex, m_clock));
      }
      ok = false;
    } else {
      std::lock_guard lock(m_sched_mutex);
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
          if (u->counted && !u->done_once) {
            nu->counted = true;
            ++m_first_round_left;
          }
          m_units[key] = nu;
        }
      }
      for (auto it = m_units.begin(); it != m_units.end();) {
        const bool stale = it->second->collector == u->collector && it->second->scope && found.count(it->first) == 0;
        it = stale ? m_units.erase(it) : std::next(it);
      }
    }
  } else {
    auto o = sync_scope(*collector, *u->scope, *m_store, m_store_mutex, m_clock, &m_stop);
    ok = o.ok;
    outcomes.push_back(std::move(o));
  }
  if (m_stop.load()) {
    std::lock_guard lock(m_sched_mutex);
    u->running = false;
    --m_running;
    return outcomes;
  }
  bool first_round_done = false;
  {
    std::lock_guard lock(m_sched_mutex);
    u->running = false;
    --m_running;
    u->failures = ok ? 0 : u->failures + 1;
    u->due = Steady::now() + next_delay(*u, ok);
    if (!u->done_once) {
      u->done_once = true;
      if (u->counted && --m_first_round_left == 0) {
        first_round_done = true;
      }
    }
  }
  after_run(outcomes, evaluate_after);
  if (first_round_done && evaluate_after) {
    m_ready = true;  // every scope has run once, and alerts were evaluated after the last of them
  }
  m_sched_cv.notify_all();
  return outcomes;
}

void Service::after_run(const std::vector<ScopeOutcome>& outcomes, bool evaluate_after) {
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
    if (auto r = load_scope(o.scope); !r) {
      spdlog::error("reading back {}: {}", o.scope.describe(), r.error().message);
    }
  }
  if (evaluate_after) {
    if (auto r = evaluate(); !r) {
      spdlog::error("alert evaluation: {}", r.error().message);
    }
  }
  // A large listing leaves freed pages behind in the allocator's arenas: give them back.
  malloc_trim(0);
}

std::shared_ptr<const metrics::State> Service::state() const {
  std::lock_guard lock(m_state_mutex);
  return m_state;
}

void Service::set_state(std::shared_ptr<const metrics::State> next) {
  std::lock_guard lock(m_state_mutex);
  m_state = std::move(next);
}

Result<void> Service::load_state() {
  std::shared_ptr<Generation> gen;
  {
    std::lock_guard lock(m_sched_mutex);
    gen = m_gen;
  }
  auto next = std::make_shared<metrics::State>();
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
  std::map<std::string, metrics::CodeList> grouped;
  for (auto& c : *codes) {
    if (gen->cfg.find_collector(c.collector) != nullptr) {
      const collectors::Scope s{c.collector, c.code.product, c.code.account, c.code.region, c.code.order_id};
      grouped[metrics::scope_key(s)].push_back(std::move(c));
    }
  }
  for (auto& [key, list] : grouped) {
    next->codes.emplace(key, std::make_shared<const metrics::CodeList>(std::move(list)));
  }
  for (auto& s : *scopes) {
    if (gen->cfg.find_collector(s.scope.collector) != nullptr) {
      next->scopes.push_back(std::move(s));
    }
  }
  next->alerts = std::move(*firing);
  set_state(next);
  return {};
}

Result<void> Service::load_scope(const collectors::Scope& scope) {
  std::shared_ptr<Generation> gen;
  {
    std::lock_guard lock(m_sched_mutex);
    gen = m_gen;
  }
  db::CodeFilter f;
  f.scope = scope;
  std::lock_guard lock(m_store_mutex);
  auto codes = m_store->codes(f, m_clock.now());
  if (!codes) {
    return codes.error();
  }
  auto scopes = m_store->scopes();
  if (!scopes) {
    return scopes.error();
  }
  // Copy-on-write: the other scopes' lists are shared with the previous state.
  std::lock_guard state_lock(m_state_mutex);
  auto next = std::make_shared<metrics::State>(*m_state);
  if (gen->cfg.find_collector(scope.collector) != nullptr) {
    next->codes[metrics::scope_key(scope)] = std::make_shared<const metrics::CodeList>(std::move(*codes));
  }
  next->scopes.clear();
  for (auto& s : *scopes) {
    if (gen->cfg.find_collector(s.scope.collector) != nullptr) {
      next->scopes.push_back(std::move(s));
    }
  }
  m_state = next;
  return {};
}

Result<db::AlertChanges> Service::evaluate() {
  std::shared_ptr<Generation> gen;
  {
    std::lock_guard lock(m_sched_mutex);
    gen = m_gen;
  }
  std::lock_guard eval_lock(m_eval_mutex);
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
  if (want == have) {
    return db::AlertChanges{};
  }
  Result<db::AlertChanges> changes = db::AlertChanges{};
  Result<std::vector<db::AlertRecord>> firing = std::vector<db::AlertRecord>{};
  {
    std::lock_guard lock(m_store_mutex);
    changes = m_store->reconcile_alerts(desired, now);
    if (!changes) {
      return changes.error();
    }
    firing = m_store->alerts(false);
    if (!firing) {
      return firing.error();
    }
  }
  {
    std::lock_guard lock(m_state_mutex);
    auto next = std::make_shared<metrics::State>(*m_state);
    next->alerts = std::move(*firing);
    m_state = next;
  }
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
  std::map<std::string, std::pair<int, Steady::time_point>> backoff;  // failures, next attempt
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
      auto& [failures, next] = backoff[target];
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
      const auto cap = milliseconds(300000);
      const auto base = std::min(cap, milliseconds(1000LL << std::min(failures, 12)));
      std::uniform_int_distribution<std::int64_t> d(base.count() / 2, base.count());
      next = Steady::now() + milliseconds(d(rng));
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
  auto gen = std::make_shared<Generation>();
  gen->cfg = next;
  for (const auto& a : next.accounts) {
    gen->credentials.emplace(a.name, make_credential_provider(a, m_options.credentials));
  }
  for (const auto& c : next.collectors) {
    gen->collectors.emplace(c.name,
                            std::make_shared<collectors::Collector>(c, *m_client, *gen->credentials.at(c.account)));
  }
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
  if (m_first_round_left.load() == 0) {
    m_ready = true;
  }
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
