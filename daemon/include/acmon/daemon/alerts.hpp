// Alert rules (SPEC.md): a pure function of the stored state, the configuration and now.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "acmon/core/config.hpp"
#include "acmon/model/alert.hpp"
#include "acmon/model/snapshot.hpp"

namespace acmon::daemon {

// Every alert that should be firing at `now`. Codes and scopes of collectors that are no longer
// configured are ignored. starts_at and id are left for the store to fill in.
std::vector<model::AlertRecord> evaluate_alerts(const model::Snapshot& state, const config::Config& cfg, UnixTime now);

// The same, for codes and scopes read straight from the store (`acmon sync`).
std::vector<model::AlertRecord> evaluate_alerts(std::vector<model::StoredCode> codes,
                                                std::vector<model::ScopeStatus> scopes, const config::Config& cfg,
                                                UnixTime now);

// The pieces evaluate_alerts is made of, for an evaluation that revisits only what can have changed.

// No change to come.
inline constexpr UnixTime k_never = std::numeric_limits<UnixTime>::max();

// The code rules of the three (code_expiring, code_usage_high, code_exhaustion_forecast), in this
// order: a code raises at most one alert of each.
inline constexpr int k_code_rules = 3;

// Which codes the rules judge, and with which thresholds.
class CodeJudge {
 public:
  explicit CodeJudge(const config::Config& cfg);
  // The thresholds for the code, or nullopt when it is not judged (deleted, its collector no longer
  // configured, or another replica's).
  [[nodiscard]] std::optional<config::Thresholds> thresholds(const model::CodeRef& c) const;

 private:
  const config::Config& m_cfg;
  std::map<std::string, const config::Collector*, std::less<>> m_collectors;
};

// The alerts one code raises at `now`, one slot per code rule (empty when that rule does not fire);
// returns the first time after `now` at which any slot could be different (an alert starting or
// ending, another severity, a summary that stops counting) while the code and the thresholds stay
// as they are, or k_never. A summary that counts (span_at) is the same record all along.
UnixTime code_alerts(const model::CodeRef& c, const config::Thresholds& t, UnixTime now,
                     std::optional<model::AlertRecord> (&slots)[k_code_rules]);

// The collector_failing alerts of the scopes, appended to out.
void scope_alerts(const std::vector<model::ScopeStatus>& scopes, const config::Config& cfg, UnixTime now,
                  std::vector<model::AlertRecord>& out);

}  // namespace acmon::daemon
