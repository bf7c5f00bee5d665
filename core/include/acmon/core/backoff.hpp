// Capped exponential backoff with jitter, the one rule for every retry in acmon: API calls
// (api::Client), failing collector scopes and failing notification receivers (daemon::Service).
#pragma once

#include <chrono>
#include <random>

namespace acmon {

// The longest wait of attempt n (from 1): min(cap, base * 2^(n-1)). Attempts past the 21st wait
// as the 21st; n below 1 counts as 1.
std::chrono::milliseconds backoff_ceiling(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap);

// A random wait in [d/2, d] where d = backoff_ceiling(attempt, base, cap). rng is not locked here.
std::chrono::milliseconds backoff(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                  std::mt19937_64& rng);

}  // namespace acmon
