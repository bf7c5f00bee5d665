// Alert rules (SPEC.md): a pure function of the stored state, the configuration and now.
#pragma once

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

}  // namespace acmon::daemon
