#include "acmon/daemon/alerts.hpp"

#include <algorithm>
#include <cmath>

namespace acmon::daemon {

namespace {

model::AlertRecord code_alert(const model::CodeRef& c, const char* rule, const char* severity, std::string summary,
                              std::optional<UnixTime> span_at = std::nullopt) {
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
  a.span_at = span_at;
  return a;
}

// The first of `until` and `at`, where `at` counts only when it is still to come.
void sooner(UnixTime& until, UnixTime now, UnixTime at) {
  if (at > now) {
    until = std::min(until, at);
  }
}

}  // namespace

CodeJudge::CodeJudge(const config::Config& cfg) : m_cfg(cfg) {
  for (const auto& c : cfg.collectors) {
    m_collectors.emplace(c.name, &c);
  }
}

std::optional<config::Thresholds> CodeJudge::thresholds(const model::CodeRef& c) const {
  auto it = m_collectors.find(c.collector());
  if (it == m_collectors.end() || c.deleted_at() ||
      !model::watched(m_cfg, {c.collector(), c.product(), c.account(), c.region(), c.order_id()})) {
    return std::nullopt;  // not configured any more, or another replica's
  }
  return it->second->thresholds.apply(m_cfg.alerts);
}

UnixTime code_alerts(const model::CodeRef& c, const config::Thresholds& t, UnixTime now,
                     std::optional<model::AlertRecord> (&slots)[k_code_rules]) {
  UnixTime until = k_never;
  const auto expires_at = c.expires_at();
  // An expiry that has come since the last listing ends the code's usage and forecast alerts too.
  const model::CodeState state = c.state_at(now);
  if (expires_at && state != model::CodeState::expired && state != model::CodeState::deleted) {
    sooner(until, now, *expires_at);  // where the usage and forecast alerts of a live code end
  }
  // code_expiring: from expiry_warning before the expiry, critical from expiry_critical before,
  // until the expiry; its summary counts down to the expiry.
  if (state == model::CodeState::active && expires_at) {
    const std::int64_t left = *expires_at - now;
    if (left > 0 && left <= t.expiry_warning) {
      slots[0] = code_alert(c, "code_expiring", left <= t.expiry_critical ? "critical" : "warning", "expires in {span}",
                            *expires_at);
    }
    sooner(until, now, *expires_at - t.expiry_warning);
    sooner(until, now, *expires_at - t.expiry_critical);
    sooner(until, now, *expires_at);
  }
  // code_usage_high: of the code's data alone.
  const auto limit = c.limit();
  const auto registered = c.registered();
  if ((state == model::CodeState::active || state == model::CodeState::exhausted) && limit && *limit > 0 &&
      registered) {
    const double ratio = static_cast<double>(*registered) / static_cast<double>(*limit);
    if (ratio >= t.usage_warning) {
      slots[1] = code_alert(c, "code_usage_high", ratio >= t.usage_critical ? "critical" : "warning",
                            std::to_string(*registered) + "/" + std::to_string(*limit) + " used");
    }
  }
  // code_exhaustion_forecast: uses will reach the limit before the code expires, and soon (within
  // expiry_warning); its summary counts down to the forecast, then says "now".
  const auto forecast = c.exhaustion_forecast();
  if (state == model::CodeState::active && forecast && (!expires_at || *forecast < *expires_at)) {
    if (*forecast - now <= t.expiry_warning) {
      slots[2] =
          *forecast > now
              ? code_alert(c, "code_exhaustion_forecast", "warning", "runs out in {span} at its recent rate", *forecast)
              : code_alert(c, "code_exhaustion_forecast", "warning", "runs out now at its recent rate");
    }
    sooner(until, now, *forecast - t.expiry_warning);
    sooner(until, now, *forecast);
  }
  return until;
}

void scope_alerts(const std::vector<model::ScopeStatus>& scopes, const config::Config& cfg, UnixTime now,
                  std::vector<model::AlertRecord>& out) {
  for (const auto& sc : scopes) {
    const auto it = std::find_if(cfg.collectors.begin(), cfg.collectors.end(),
                                 [&](const config::Collector& c) { return c.name == sc.scope.collector; });
    if (it == cfg.collectors.end() || !sc.last_run_at || !model::watched(cfg, sc.scope)) {
      continue;  // not configured any more, or never run: nothing to judge yet
    }
    // An organization's listing of its members (its "*" scope, account = the organization) runs
    // every refresh, not every interval of the collector: judged by the collector's interval alone,
    // it would read as failing from 3 intervals after each listing until the next.
    std::int64_t every = it->interval;
    if (sc.scope.region == "*" && !sc.scope.organization.empty() && sc.scope.account == sc.scope.organization) {
      if (const auto* org = cfg.find_organization(sc.scope.organization)) {
        every = std::max(every, org->refresh);
      }
    }
    const std::int64_t limit = 3 * every;
    UnixTime since = sc.last_success_at.value_or(sc.first_run_at.value_or(*sc.last_run_at));
    if (it->interval_shortened_at) {
      since = std::max(since, *it->interval_shortened_at);
    }
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
      a.summary = "last success {span} ago";  // counting up from it
      a.span_at = *sc.last_success_at;
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
}

std::vector<model::AlertRecord> evaluate_alerts(std::vector<model::StoredCode> codes,
                                                std::vector<model::ScopeStatus> scopes, const config::Config& cfg,
                                                UnixTime now) {
  model::Snapshot state;
  state.codes.emplace("", std::make_shared<const model::CodeList>(std::move(codes)));
  state.scopes = std::move(scopes);
  return evaluate_alerts(state, cfg, now);
}

std::vector<model::AlertRecord> evaluate_alerts(const model::Snapshot& state, const config::Config& cfg, UnixTime now) {
  const CodeJudge judge(cfg);
  std::vector<model::AlertRecord> out;
  state.for_each_code([&](const model::CodeRef& c) {
    const auto t = judge.thresholds(c);
    if (!t) {
      return;
    }
    std::optional<model::AlertRecord> slots[k_code_rules];
    (void)code_alerts(c, *t, now, slots);
    for (auto& s : slots) {
      if (s) {
        out.push_back(std::move(*s));
      }
    }
  });
  scope_alerts(state.scopes, cfg, now, out);
  return out;
}

}  // namespace acmon::daemon
