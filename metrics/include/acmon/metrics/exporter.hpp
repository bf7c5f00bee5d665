// Prometheus exposition of acmon's state: code and collector series built at scrape time from the
// daemon's last known state (nothing lingers once a code is gone), API call metrics, process metrics.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acmon/core/api.hpp"
#include "acmon/model/snapshot.hpp"

namespace acmon::metrics {

using Sink = std::function<void(std::string_view)>;

// acmon_code_*, acmon_collector_* and acmon_alert_active in the text exposition format, built
// at scrape time from the snapshot and handed to sink in pieces of about 64 KiB, so a scrape of
// 100,000 codes never holds the whole page. (prometheus-cpp's ClientMetric model would cost a few
// KiB per sample; these families are written directly.) Never throws. With `now`, a code's state
// label is its state then (one whose expiry has come since its scope's last listing is expired).
void write_snapshot(const model::Snapshot& snapshot, const Sink& sink, std::optional<UnixTime> now = std::nullopt);

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

// The code label of acmon_api_requests_total for an attempt's outcome: an HTTP status (100-599),
// an error kind ("network", "timeout"…) or a known API error code as it is; anything else "other",
// so the label takes a bounded set of values whatever servers answer.
std::string code_label(std::string_view code);

// The text exposition format of everything the collectables hold.
std::string render(const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables);

// The whole /metrics page: the snapshot's families, then the collectables.
void write_all(const model::Snapshot& snapshot,
               const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables, const Sink& sink,
               std::optional<UnixTime> now = std::nullopt);

}  // namespace acmon::metrics
