// Private to Service's files (service.cpp, scheduler.cpp, snapshot.cpp, evaluate.cpp, notifier.cpp):
// the types Service declares and the helpers they share.
#pragma once

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
#include "acmon/daemon/status_page.hpp"
#include "acmon/daemon/worker_pool.hpp"

namespace acmon::daemon {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Everything built from one configuration. Each collector owns the credentials it signs with
// (shared by the collectors of one account), so a run that holds its collector holds everything
// it calls with, whatever reloads do meanwhile.
struct Service::Generation {
  config::Config cfg;
  // By collector name; a collector of an organization once per current member, by
  // member_collector_key().
  std::map<std::string, std::shared_ptr<collectors::Collector>> collectors;
  std::map<std::string, std::shared_ptr<CredentialProvider>> credentials;  // by account name
};

// The collector of one member of an organization.
inline std::string member_collector_key(const std::string& collector, const std::string& account_id) {
  return collector + "\x1f" + account_id;
}

// One scheduled thing: a scope's listing, or an ecs collector's region discovery. Every field is
// read and written under m_sched_mutex only; a run copies what it needs first (run_unit).
struct Service::Unit {
  std::string key;
  std::string collector;              // a key of Generation::collectors
  std::string organization;           // set: this unit lists the organization's members
  std::optional<model::Scope> scope;  // empty: discovery (or the members' listing)
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

// acmon_shard_info{shard, total} 1: which part of the scopes this replica lists.
class Service::ShardCollectable final : public prometheus::Collectable {
 public:
  explicit ShardCollectable(const Service& service) : m_service(service) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    const auto [index, total] = m_service.shard();
    prometheus::MetricFamily f;
    f.name = "acmon_shard_info";
    f.help = "The shard of the scopes this replica lists: [daemon] shard = \"shard/total\" (0/1: all of them)";
    f.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric m;
    m.label = {{"shard", std::to_string(index)}, {"total", std::to_string(total)}};
    m.gauge.value = 1;
    f.metric.push_back(std::move(m));
    return {std::move(f)};
  }

 private:
  const Service& m_service;
};

// acmon_account_info{account, organization, display_name, status, folder_id} 1: every current member
// of every organization (members.cpp).
class Service::AccountCollectable final : public prometheus::Collectable {
 public:
  explicit AccountCollectable(const Service& service) : m_service(service) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

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

using model::watched;

inline std::string unit_key(const std::string& collector, const model::Scope* s) {
  return s == nullptr ? collector + "|*discovery*" : collector + "|" + s->region + "|" + s->order_id;
}

inline milliseconds jitter(milliseconds base, double fraction) {
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
  OwningCollector(const config::Collector& c, api::Client& client, std::shared_ptr<CredentialProvider> creds,
                  api::Pacer* pacer, std::string organization = {})
      : credentials(std::move(creds)), collector(c, client, *credentials, pacer, std::move(organization)) {}
  std::shared_ptr<CredentialProvider> credentials;
  collectors::Collector collector;
};

// The stored status with what only memory knows laid over it.
inline model::ScopeStatus overlay(model::ScopeStatus s, std::int64_t unstored, int pending, int carried,
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

}  // namespace acmon::daemon
