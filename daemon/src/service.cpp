// Service: construction, start and stop (HTTP endpoints included), reload, the one-shot pass, status.
#include "service_parts.hpp"

namespace acmon::daemon {

Service::Service(config::Config cfg, std::unique_ptr<db::Store> store, const Clock& clock, ServiceOptions options)
    : m_cfg(std::move(cfg)), m_store(std::move(store)), m_clock(clock), m_options(std::move(options)) {
  m_transport.set_cancel_flag(&m_stop);
  m_notify_transport.set_cancel_flag(&m_stop);
  m_sleeper = std::make_unique<StopSleeper>(m_stop);
  m_api_metrics = std::make_shared<metrics::ApiMetrics>();
  m_client = std::make_unique<api::Client>(m_transport, m_clock, *m_sleeper, api::RetryPolicy{}, m_api_metrics.get());
  m_collectables = {m_api_metrics->registry(), std::make_shared<metrics::ProcessCollectable>(),
                    std::make_shared<DatabaseCollectable>(*this), std::make_shared<ShardCollectable>(*this),
                    std::make_shared<AccountCollectable>(*this)};
  m_state = std::make_shared<model::Snapshot>();
  if (m_options.parallel <= 0) {
    m_options.parallel = m_cfg.daemon.concurrency;
  }
}

Service::~Service() {
  stop();
}

std::shared_ptr<Service::Generation> Service::make_generation(const config::Config& cfg) {
  auto gen = std::make_shared<Generation>();
  gen->cfg = cfg;
  std::map<std::string, std::shared_ptr<CredentialProvider>> credentials;
  CredentialOptions credential_options = m_options.credentials;
  if (!credential_options.transport) {
    // STS, metadata and credentials URI requests stop with the daemon, like the API calls.
    auto transport = std::make_shared<http::CurlTransport>();
    transport->set_cancel_flag(&m_stop);
    credential_options.transport = std::move(transport);
  }
  for (const auto& a : cfg.accounts) {
    credentials.emplace(a.name, make_credential_provider(a, credential_options));
  }
  MemberCredentials members(gen->cfg, credentials, credential_options);
  for (const auto& c : cfg.collectors) {
    const config::Organization* org = cfg.organization_of(c);
    if (org == nullptr) {
      auto owner = std::make_shared<OwningCollector>(c, *m_client, credentials.at(c.account), &m_pacer);
      // Aliasing: the handle points at the collector and keeps its owner (and credentials) alive.
      gen->collectors.emplace(c.name, std::shared_ptr<collectors::Collector>(owner, &owner->collector));
      continue;
    }
    auto it = cfg.members.find(org->name);
    for (const auto& m : it == cfg.members.end() ? std::vector<config::Member>{} : it->second) {
      config::Collector per_member = c;
      per_member.account = m.account_id;
      auto owner = std::make_shared<OwningCollector>(per_member, *m_client, members.get(*org, m), &m_pacer, org->name);
      gen->collectors.emplace(member_collector_key(c.name, m.account_id),
                              std::shared_ptr<collectors::Collector>(owner, &owner->collector));
    }
  }
  gen->credentials = std::move(credentials);
  return gen;
}

void Service::build_units(const std::shared_ptr<Generation>& gen) {
  std::lock_guard lock(m_sched_mutex);
  std::map<std::string, std::shared_ptr<Unit>> next;
  const auto now = Steady::now();
  auto keep_or_make = [&](const std::string& key, const std::string& collector, const config::Collector& c,
                          std::optional<model::Scope> scope) {
    std::shared_ptr<Unit> u;
    if (auto it = m_units.find(key); it != m_units.end()) {
      u = it->second;
      // An interval made shorter by a reload brings the next run forward: the old one's may be an
      // hour away.
      if (c.interval < u->interval) {
        u->due = std::min(u->due, now + jitter(milliseconds(1500), 0.6));
      }
    } else {
      u = std::make_shared<Unit>();
      u->key = key;
      u->due = now + jitter(milliseconds(1500), 0.6);  // soon, but not all at once
    }
    u->collector = collector;
    u->scope = std::move(scope);
    u->gen = gen;
    u->interval = c.interval;
    next[key] = u;
  };
  const auto& d = gen->cfg.daemon;
  for (const auto& org : gen->cfg.organizations) {
    // Listed at start and every refresh; a unit per organization that any collector names.
    const auto named = std::any_of(gen->cfg.collectors.begin(), gen->cfg.collectors.end(),
                                   [&](const config::Collector& c) { return c.account == org.name; });
    if (named) {
      const std::string key = "organization|" + org.name;
      config::Collector pseudo;
      pseudo.interval = org.refresh;
      keep_or_make(key, "", pseudo, std::nullopt);
      next[key]->organization = org.name;
      if (m_units.count(key) == 0) {
        next[key]->due = now;  // before the collectors: they wait for the members
      }
    }
  }
  for (const auto& c : gen->cfg.collectors) {
    std::vector<std::string> keys;
    if (gen->cfg.organization_of(c) == nullptr) {
      keys.push_back(c.name);
    } else {
      for (const auto& [key, collector] : gen->collectors) {
        if (collector->config().name == c.name && key != c.name) {
          keys.push_back(key);
        }
      }
    }
    for (const auto& ckey : keys) {
      auto collector = gen->collectors.at(ckey);
      if (c.product == config::Product::ecs && c.regions.size() == 1 && c.regions[0] == "*") {
        keep_or_make(unit_key(ckey, nullptr), ckey, c, std::nullopt);
        // Scopes found by an earlier discovery stay scheduled until the next discovery says otherwise.
        for (auto& [key, u] : m_units) {
          if (u->collector == ckey && u->scope && model::in_shard(*u->scope, d.shard_index, d.shard_total)) {
            keep_or_make(key, ckey, c, u->scope);
          }
        }
        continue;
      }
      auto scopes = collector->scopes();  // no API call for static scopes
      for (const auto& s : *scopes) {
        if (model::in_shard(s, d.shard_index, d.shard_total)) {
          keep_or_make(unit_key(ckey, &s), ckey, c, s);
        }
      }
    }
  }
  m_units = std::move(next);
  m_units_built = true;
  m_sched_cv.notify_all();
}

Result<void> Service::start() {
  // The members of each organization as last listed, until they are listed again.
  if (auto members = m_store->members(); members) {
    for (auto& [name, list] : *members) {
      if (m_cfg.find_organization(name) != nullptr) {
        m_cfg.members[name] = std::move(list);
      }
    }
  } else {
    spdlog::error("reading the members of the organizations: {}", members.error().message);
  }
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
  m_http->set_web(m_web);
  m_http->route("GET", "/metrics", [this](const HttpRequest&) {
    // Streamed from a snapshot of the state: a large page is never held whole.
    HttpResponse res;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.stream = [this, snapshot = state()](const HttpWriter& write) {
      metrics::write_all(
          *snapshot, m_collectables, [&](std::string_view piece) { write(piece); }, m_clock.now());
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
  m_http->route("GET", "/", [this](const HttpRequest&) {
    HttpResponse res;
    res.content_type = "text/html; charset=utf-8";
    res.headers = {{"Content-Security-Policy", k_status_page_csp},
                   {"X-Content-Type-Options", "nosniff"},
                   {"Cache-Control", "no-store"}};
    const auto snapshot = state();
    res.body = render_status_page({snapshot.get(), m_clock.now(), ACMON_VERSION, ready()});
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
  if (m_notifier.joinable()) {
    m_notifier.join();
  }
  if (m_http) {
    m_http->stop();
  }
}

std::string Service::reload(config::Config next) {
  std::string notes;
  std::unique_lock config_lock(m_config_mutex);  // until the units are built (m_config_mutex)
  if (next.daemon.database != m_cfg.daemon.database) {
    notes += "daemon.database changed: takes effect after a restart; ";
    next.daemon.database = m_cfg.daemon.database;
  }
  if (next.daemon.listen != m_cfg.daemon.listen) {
    notes += "daemon.listen changed: takes effect after a restart; ";
    next.daemon.listen = m_cfg.daemon.listen;
  }
  if (next.daemon.concurrency != m_cfg.daemon.concurrency) {
    notes += "daemon.concurrency changed: takes effect after a restart; ";
    next.daemon.concurrency = m_cfg.daemon.concurrency;
  }
  {
    // The members as last listed stay: the configuration file does not hold them.
    std::lock_guard lock(m_sched_mutex);
    next.members = m_cfg.members;
    // A collector whose interval became shorter is judged stale against it only from now (its
    // scopes ran on the old one until now), and runs soon (build_units); one whose interval did
    // not change keeps the moment it last became shorter.
    const UnixTime now = m_clock.now();
    for (auto& c : next.collectors) {
      const auto before = std::find_if(m_cfg.collectors.begin(), m_cfg.collectors.end(),
                                       [&](const config::Collector& o) { return o.name == c.name; });
      if (before == m_cfg.collectors.end()) {
        continue;
      }
      if (c.interval < before->interval) {
        c.interval_shortened_at = now;
      } else if (c.interval == before->interval) {
        c.interval_shortened_at = before->interval_shortened_at;
      }
    }
  }
  auto gen = make_generation(next);
  {
    std::lock_guard lock(m_sched_mutex);
    m_gen = gen;
    m_cfg = next;
  }
  build_units(gen);
  config_lock.unlock();
  if (auto r = load_state(); !r) {
    notes += "state not reloaded: " + r.error().message + "; ";
  }
  (void)evaluate();
  {
    // A receiver the new configuration adds hears of the firing alerts at once.
    std::lock_guard lock(m_notify_mutex);
    m_notify_pending = true;
  }
  m_notify_cv.notify_all();
  return notes;
}

std::string Service::set_web(std::shared_ptr<const WebConfig> web) {
  if (!m_http) {
    m_web = std::move(web);
    return {};
  }
  return m_http->set_web(std::move(web));
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
    // The same bounded pool as the scheduler's; outcomes in the order of the units.
    std::vector<std::vector<ScopeOutcome>> outcomes(units.size());
    WorkerPool pool(
        std::min(std::max(1, m_options.parallel), static_cast<int>(std::max<std::size_t>(1, units.size()))));
    for (std::size_t i = 0; i < units.size(); ++i) {
      pool.post([&, i] { outcomes[i] = run_unit(units[i], false); });
    }
    pool.wait();
    for (auto& o : outcomes) {
      all.insert(all.end(), o.begin(), o.end());
    }
  }
  // One evaluation after the whole pass, as `acmon sync` does: a pass at a new time is one poll.
  (void)evaluate();
  return all;
}

std::pair<int, int> Service::shard() const {
  std::lock_guard lock(m_sched_mutex);
  return {m_cfg.daemon.shard_index, m_cfg.daemon.shard_total};
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

}  // namespace acmon::daemon
