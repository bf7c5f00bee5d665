// Pace: at most `rate` requests a second to one key (account × API × region), shared by every scope
// of that key, and a key that is throttled pauses and resumes slower.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace acmon::api {

class Sleeper;

class Pacer {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit Pacer(Clock now = [] { return std::chrono::steady_clock::now(); }) : m_now(std::move(now)) {}

  // Returns when a request to key may go: each caller reserves the key's next slot, slots spaced
  // 1.05 / rate seconds apart (the 5 % keeps "no more than rate in any second" true at the
  // receiving end when a thread wakes a little late), wider while the key recovers from
  // throttling. Waits through sleeper, so a stopping daemon's sleeper cuts the wait short.
  // rate <= 0: no limit.
  void acquire(const std::string& key, double rate, Sleeper& sleeper);
  // The key answered Throttling*: nothing more goes to it for a second, then it runs at half its
  // current speed (down to a sixteenth of its rate).
  void throttled(const std::string& key);
  // The key answered something else: its speed recovers by a tenth, up to its rate.
  void answered(const std::string& key);

 private:
  struct Key {
    std::chrono::steady_clock::time_point next{};  // when the next request may go
    double speed = 1.0;                            // fraction of the rate while recovering
  };
  Clock m_now;
  std::mutex m_mutex;  // a leaf: nothing else is locked under it, and no wait happens holding it
  std::map<std::string, Key> m_keys;
};

// The key of a request: "account|action|region" (region empty for the global APIs).
std::string pace_key(const std::string& account, const std::string& action, const std::string& region);

}  // namespace acmon::api
