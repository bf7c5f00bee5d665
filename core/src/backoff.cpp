#include "acmon/core/backoff.hpp"

#include <algorithm>
#include <cstdint>

namespace acmon {

std::chrono::milliseconds backoff_ceiling(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap) {
  const int shift = std::clamp(attempt - 1, 0, 20);
  return std::chrono::milliseconds(std::min<std::int64_t>(cap.count(), base.count() << shift));
}

std::chrono::milliseconds backoff(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                  std::mt19937_64& rng) {
  const auto full = backoff_ceiling(attempt, base, cap).count();
  std::uniform_int_distribution<std::int64_t> dist(full / 2, full);
  return std::chrono::milliseconds(dist(rng));
}

}  // namespace acmon
