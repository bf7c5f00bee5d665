// Service: the organizations' members, listed at start and every refresh; acmon_account_info.
#include "service_parts.hpp"

namespace acmon::daemon {

namespace {

bool same_members(const std::vector<config::Member>& a, const std::vector<config::Member>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const config::Member& x, const config::Member& y) {
    return std::tie(x.account_id, x.display_name, x.status, x.folder_id, x.management) ==
           std::tie(y.account_id, y.display_name, y.status, y.folder_id, y.management);
  });
}

}  // namespace

std::map<std::string, std::vector<config::Member>> Service::members() const {
  std::lock_guard lock(m_sched_mutex);
  return m_cfg.members;
}

std::vector<ScopeOutcome> Service::run_members(const std::shared_ptr<Unit>& u, bool& ok) {
  std::shared_ptr<Generation> gen;
  std::string name;
  {
    std::lock_guard lock(m_sched_mutex);
    gen = u->gen;
    name = u->organization;
  }
  std::vector<ScopeOutcome> outcomes;
  const config::Organization* org = gen->cfg.find_organization(name);
  if (org == nullptr) {
    return outcomes;
  }
  auto listing =
      list_members(*org, *m_client, *gen->credentials.at(org->account), *m_store, m_store_mutex, m_clock, &m_pacer);
  if (m_stop.load()) {
    return outcomes;
  }
  ok = !listing.error;
  if (listing.error) {
    // The members stay as they were: a failed listing makes nobody leave.
    spdlog::warn("{}", listing.error->describe());
  }
  for (const auto& c : gen->cfg.collectors) {
    if (c.account == org->name) {
      outcomes.push_back(record_member_listing(c, *org, listing.error, *m_store, m_store_mutex, m_clock));
    }
  }
  for (const auto& m : listing.skipped) {
    spdlog::info("organization {}: member {} ({}) skipped: status {}", org->name, m.account_id, m.display_name,
                 m.status);
  }
  if (listing.error) {
    return outcomes;
  }
  // The configuration in force now, the members alone changed in it: a reload committed since
  // this listing began (or while it is written) is kept, never replaced by an older copy.
  std::unique_lock config_lock(m_config_mutex);
  config::Config next;
  {
    std::lock_guard lock(m_sched_mutex);
    if (m_cfg.find_organization(org->name) == nullptr) {
      return outcomes;  // a reload removed the organization meanwhile
    }
    auto it = m_cfg.members.find(org->name);
    if (it != m_cfg.members.end() && same_members(it->second, listing.members)) {
      return outcomes;
    }
    next = m_cfg;
  }
  spdlog::info("organization {}: {} member(s) to watch", org->name, listing.members.size());
  next.members[org->name] = std::move(listing.members);
  auto fresh = make_generation(next);
  {
    std::lock_guard lock(m_sched_mutex);
    m_gen = fresh;
    m_cfg = std::move(next);
  }
  build_units(fresh);
  config_lock.unlock();
  // Members that left are no longer watched: their series go, their alerts resolve.
  if (auto r = load_state(); !r) {
    spdlog::error("reading the state back: {}", r.error().message);
  }
  return outcomes;
}

std::vector<prometheus::MetricFamily> Service::AccountCollectable::Collect() const {
  prometheus::MetricFamily f;
  f.name = "acmon_account_info";
  f.help =
      "An account reached through an organization (a Resource Directory member): its display name, status and "
      "folder; 1";
  f.type = prometheus::MetricType::Gauge;
  for (const auto& [org, list] : m_service.members()) {
    for (const auto& m : list) {
      prometheus::ClientMetric cm;
      cm.label = {{"account", m.account_id},
                  {"organization", org},
                  {"display_name", m.display_name},
                  {"status", m.status},
                  {"folder_id", m.folder_id}};
      cm.gauge.value = 1;
      f.metric.push_back(std::move(cm));
    }
  }
  if (f.metric.empty()) {
    return {};
  }
  return {std::move(f)};
}

}  // namespace acmon::daemon
