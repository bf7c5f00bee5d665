// Alert rules (SPEC.md): a pure function of the stored state, the configuration and now.
#pragma once

#include <vector>

#include "acmon/core/config.hpp"
#include "acmon/db/store.hpp"

namespace acmon::daemon {

// Every alert that should be firing at `now`. Codes and scopes of collectors that are no longer
// configured are ignored. starts_at and id are left for the store to fill in.
std::vector<db::AlertRecord> evaluate_alerts(const std::vector<db::StoredCode>& codes,
                                             const std::vector<db::ScopeStatus>& scopes, const config::Config& cfg,
                                             UnixTime now);

}  // namespace acmon::daemon
