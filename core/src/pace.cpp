#include "acmon/core/pace.hpp"

#include <algorithm>

#include "acmon/core/api.hpp"

namespace acmon::api {

namespace {

constexpr double k_margin = 1.05;
constexpr double k_min_speed = 1.0 / 16;
constexpr auto k_throttle_pause = std::chrono::seconds(1);

}  // namespace

void Pacer::acquire(const std::string& key, double rate, Sleeper& sleeper) {
  if (rate <= 0) {
    return;
  }
  // A reservation: each caller takes the next free slot of its key and waits for it, so callers
  // are served in the order they came and slots are never closer than the gap.
  std::chrono::steady_clock::duration wait{};
  {
    std::lock_guard lock(m_mutex);
    Key& k = m_keys[key];
    const auto now = m_now();
    const auto slot = std::max(now, k.next);
    const std::chrono::duration<double> gap(k_margin / (rate * k.speed));
    k.next = slot + std::chrono::duration_cast<std::chrono::steady_clock::duration>(gap);
    wait = slot - now;
  }
  if (wait > std::chrono::steady_clock::duration::zero()) {
    sleeper.sleep(std::chrono::ceil<std::chrono::milliseconds>(wait));
  }
}

void Pacer::throttled(const std::string& key) {
  std::lock_guard lock(m_mutex);
  Key& k = m_keys[key];
  k.speed = std::max(k_min_speed, k.speed / 2);
  k.next = std::max(k.next, m_now() + k_throttle_pause);
}

void Pacer::answered(const std::string& key) {
  std::lock_guard lock(m_mutex);
  auto it = m_keys.find(key);
  if (it != m_keys.end() && it->second.speed < 1.0) {
    it->second.speed = std::min(1.0, it->second.speed * 1.1);
  }
}

std::string pace_key(const std::string& account, const std::string& action, const std::string& region) {
  return account + "|" + action + "|" + region;
}

}  // namespace acmon::api
