#include "acmon/model/forecast.hpp"

#include <cmath>
#include <limits>

namespace acmon::model {

std::optional<UnixTime> exhaustion_forecast(std::span<const UsagePoint> points, std::int64_t limit) {
  if (points.size() < 2 || limit <= 0) {
    return std::nullopt;
  }
  const UsagePoint& last = points.back();
  if (last.registered >= limit) {
    return std::nullopt;
  }
  // Least squares around the means (times relative to the last point keep the numbers small).
  const auto n = static_cast<double>(points.size());
  double mean_t = 0;
  double mean_r = 0;
  for (const auto& p : points) {
    mean_t += static_cast<double>(p.at - last.at);
    mean_r += static_cast<double>(p.registered);
  }
  mean_t /= n;
  mean_r /= n;
  double sxx = 0;
  double sxy = 0;
  for (const auto& p : points) {
    const double dt = static_cast<double>(p.at - last.at) - mean_t;
    sxx += dt * dt;
    sxy += dt * (static_cast<double>(p.registered) - mean_r);
  }
  if (sxx <= 0) {
    return std::nullopt;  // every point at one time
  }
  const double rate = sxy / sxx;  // uses per second
  if (!(rate > 0) || !std::isfinite(rate)) {
    return std::nullopt;
  }
  const double seconds = static_cast<double>(limit - last.registered) / rate;
  // Beyond what a timestamp can say (a code used once in years): no forecast worth showing.
  constexpr double k_max_seconds = 100.0 * 365 * 86400;
  if (!std::isfinite(seconds) || seconds > k_max_seconds) {
    return std::nullopt;
  }
  return last.at + static_cast<std::int64_t>(std::ceil(seconds));
}

}  // namespace acmon::model
