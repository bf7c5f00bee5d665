// An alert: what a rule found, identified by its labels.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acmon/core/time.hpp"

namespace acmon::model {

// An alert as stored: identified by its labels (severity included), firing until ends_at.
struct AlertRecord {
  std::int64_t id = 0;
  std::string rule;      // code_expiring, code_usage_high, code_exhaustion_forecast, collector_failing
  std::string severity;  // warning, critical
  std::string product;
  std::string account;
  std::string region;
  std::string order_id;
  std::string code_id;    // code alerts only
  std::string collector;  // the collector of the code, or of the failing scope
  std::string name;       // the code's name (code alerts)
  // "43/50 used", or, for a span that counts, "expires in {span}" with span_at (summary_at).
  std::string summary;
  // Where the summary counts to (an expiry, a forecast) or from (a last success): its first
  // "{span}" reads the time between then and the moment the summary is read, down to 0s once a
  // moment it counts down to (one after starts_at) has passed. A summary that counts needs no
  // rewriting as time passes; it is exact whenever it is read.
  std::optional<UnixTime> span_at;
  UnixTime starts_at = 0;
  std::optional<UnixTime> ends_at;

  static constexpr std::string_view k_span = "{span}";
  // The summary as it reads at `now` ("expires in 2d 3h"); a resolved alert's as it read when it
  // resolved.
  [[nodiscard]] std::string summary_at(UnixTime now) const;

  // The identity: rule, severity and the labels; the same condition is the same alert.
  [[nodiscard]] std::string key() const;
  [[nodiscard]] bool is_code_alert() const { return rule != "collector_failing"; }
  // The alert's labels, as SPEC.md lists them (alertname not included).
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> labels() const;
  // The same labels in the same order, handed to f(name, value) without copies.
  template <typename F>
  void for_each_label(F&& f) const {
    f("rule", rule);
    f("severity", severity);
    if (!is_code_alert()) {
      f("collector", collector);
    }
    f("product", product);
    f("account", account);
    if (!region.empty()) {
      f("region", region);
    }
    if (!order_id.empty()) {
      f("order_id", order_id);
    }
    if (is_code_alert()) {
      f("id", code_id);
      f("name", name);
    }
  }
};

}  // namespace acmon::model
