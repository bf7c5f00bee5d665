#include "acmon/daemon/alerts.hpp"

#include <cmath>
#include <map>

namespace acmon::daemon {

namespace {

model::AlertRecord code_alert(const model::CodeRef& c, const char* rule, const char* severity, std::string summary) {
  model::AlertRecord a;
  a.rule = rule;
  a.severity = severity;
  a.product = config::to_string(c.product());
  a.account = c.account();
  a.region = c.region();
  a.order_id = c.order_id();
  a.code_id = c.id();
  a.collector = c.collector();
  a.name = c.name();
  a.summary = std::move(summary);
  return a;
}

}  // namespace

std::vector<model::AlertRecord> evaluate_alerts(std::vector<model::StoredCode> codes,
                                                std::vector<model::ScopeStatus> scopes, const config::Config& cfg,
                                                UnixTime now) {
  model::Snapshot state;
  state.codes.emplace("", std::make_shared<const model::CodeList>(std::move(codes)));
  state.scopes = std::move(scopes);
  return evaluate_alerts(state, cfg, now);
}

std::vector<model::AlertRecord> evaluate_alerts(const model::Snapshot& state, const config::Config& cfg, UnixTime now) {
  const auto& scopes = state.scopes;
  std::map<std::string, const config::Collector*> collectors;
  for (const auto& c : cfg.collectors) {
    collectors.emplace(c.name, &c);
  }
  std::vector<model::AlertRecord> out;
  state.for_each_code([&](const model::CodeRef& c) {
    auto it = collectors.find(c.collector());
    if (it == collectors.end() || c.deleted_at() ||
        !model::watched(cfg, {c.collector(), c.product(), c.account(), c.region(), c.order_id()})) {
      return;  // not configured any more, or another replica's
    }
    const config::Thresholds t = it->second->thresholds.apply(cfg.alerts);
    const auto expires_at = c.expires_at();
    if (c.state() == model::CodeState::active && expires_at) {
      const std::int64_t left = *expires_at - now;
      if (left > 0 && left <= t.expiry_warning) {
        out.push_back(code_alert(c, "code_expiring", left <= t.expiry_critical ? "critical" : "warning",
                                 "expires in " + format_span(left)));
      }
    }
    const auto limit = c.limit();
    const auto registered = c.registered();
    if ((c.state() == model::CodeState::active || c.state() == model::CodeState::exhausted) && limit && *limit > 0 &&
        registered) {
      const double ratio = static_cast<double>(*registered) / static_cast<double>(*limit);
      if (ratio >= t.usage_warning) {
        out.push_back(code_alert(c, "code_usage_high", ratio >= t.usage_critical ? "critical" : "warning",
                                 std::to_string(*registered) + "/" + std::to_string(*limit) + " used"));
      }
    }
    // Uses will reach the limit before the code expires, and soon (within expiry_warning).
    const auto forecast = c.exhaustion_forecast();
    if (c.state() == model::CodeState::active && forecast && (!expires_at || *forecast < *expires_at) &&
        *forecast - now <= t.expiry_warning) {
      out.push_back(code_alert(c, "code_exhaustion_forecast", "warning",
                               *forecast > now ? "runs out in " + format_span(*forecast - now) + " at its recent rate"
                                               : "runs out now at its recent rate"));
    }
  });
  for (const auto& sc : scopes) {
    auto it = collectors.find(sc.scope.collector);
    if (it == collectors.end() || !sc.last_run_at || !model::watched(cfg, sc.scope)) {
      continue;  // not configured any more, or never run: nothing to judge yet
    }
    const std::int64_t limit = 3 * it->second->interval;
    const UnixTime since = sc.last_success_at.value_or(sc.first_run_at.value_or(*sc.last_run_at));
    const bool stale = now - since > limit;
    const bool failing = sc.consecutive_failures >= 3;
    if (!stale && !failing) {
      continue;
    }
    model::AlertRecord a;
    a.rule = "collector_failing";
    a.severity = "warning";
    a.product = config::to_string(sc.scope.product);
    a.account = sc.scope.account;
    a.region = sc.scope.region;
    a.order_id = sc.scope.order_id;
    a.collector = sc.scope.collector;
    if (sc.last_success_at) {
      a.summary = "last success " + format_span(now - *sc.last_success_at) + " ago";
    } else {
      a.summary = "no successful run yet";
    }
    if (sc.consecutive_failures > 0) {
      a.summary += ", " + std::to_string(sc.consecutive_failures) + " failed run(s): " + sc.last_error;
    }
    if (a.summary.size() > 300) {
      a.summary = a.summary.substr(0, 297) + "...";
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace acmon::daemon
