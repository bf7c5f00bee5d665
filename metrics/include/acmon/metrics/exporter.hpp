// Prometheus exposition of acmon's state: code and collector series built at scrape time from the
// daemon's last known state (nothing lingers once a code is gone), API call metrics, process metrics.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "acmon/core/api.hpp"
#include "acmon/db/store.hpp"

namespace acmon::metrics {

// What the exporter shows; the daemon replaces it after each run and evaluation.
struct State {
  std::vector<db::StoredCode> codes;
  std::vector<db::ScopeStatus> scopes;
  std::vector<db::AlertRecord> alerts;  // firing only
};

using StateSource = std::function<std::shared_ptr<const State>()>;

// acmon_code_*, acmon_collector_*, acmon_alert_active. Collect() never throws.
class StateCollectable final : public prometheus::Collectable {
 public:
  explicit StateCollectable(StateSource source) : m_source(std::move(source)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  StateSource m_source;
};

// process_* from /proc at scrape time (prometheus-cpp has none built in).
class ProcessCollectable final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

// acmon_api_requests_total, acmon_api_request_duration_seconds, acmon_api_retries_total and
// acmon_build_info, in an ordinary registry. Thread-safe.
class ApiMetrics final : public api::Observer {
 public:
  ApiMetrics();
  void on_attempt(const std::string& product, const std::string& action, const std::string& code,
                  double seconds) override;
  void on_retry(const std::string& product, const std::string& action) override;
  [[nodiscard]] std::shared_ptr<prometheus::Registry> registry() const { return m_registry; }

 private:
  std::shared_ptr<prometheus::Registry> m_registry;
  prometheus::Family<prometheus::Counter>& m_requests;
  prometheus::Family<prometheus::Histogram>& m_duration;
  prometheus::Family<prometheus::Counter>& m_retries;
};

// The text exposition format of everything the collectables hold.
std::string render(const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables);

}  // namespace acmon::metrics
