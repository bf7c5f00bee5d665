// When a code runs out: from its recent history of `registered`, the time it reaches `limit` at
// its recent rate (SPEC.md, "Forecast"). A pure function, so the store, the exporter, the alert
// rules and `acmon codes` all agree.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "acmon/core/time.hpp"

namespace acmon::model {

// How far back "recent" reaches.
inline constexpr std::int64_t k_forecast_window = 7 * 86400;

// One observation of a code's use: `registered` as of `at`.
struct UsagePoint {
  UnixTime at = 0;
  std::int64_t registered = 0;
};

// The rate is the least-squares slope of `registered` over time through the points (in time order:
// the value carried in from before the window, each change within it, and the current value at the
// last listing, so a code whose use stopped slows its own rate). Nothing when fewer than two
// distinct times, the slope is not positive, there is no limit, or the limit is already reached;
// otherwise the time `registered` reaches `limit`, counted from the last point.
std::optional<UnixTime> exhaustion_forecast(std::span<const UsagePoint> points, std::int64_t limit);

}  // namespace acmon::model
