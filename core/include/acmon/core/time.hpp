// Time: a clock passed in as a parameter, RFC 3339 and duration parsing and formatting.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace acmon {

using Seconds = std::chrono::seconds;
// Seconds since the Unix epoch, UTC. Every stored and exported time is one of these.
using UnixTime = std::int64_t;

// The source of "now". Thread-safe implementations only.
class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual UnixTime now() const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] UnixTime now() const override;
};

// A clock that tests set by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixTime t) : m_now(t) {}
  [[nodiscard]] UnixTime now() const override { return m_now; }
  void set(UnixTime t) { m_now = t; }
  void advance(std::int64_t seconds) { m_now += seconds; }

 private:
  UnixTime m_now;
};

// Days since 1970-01-01 for a proleptic Gregorian date (no time zone involved).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);

// The first and last second an RFC 3339 time (4-digit year) can name: 0000-01-01T00:00:00Z and
// 9999-12-31T23:59:59Z.
constexpr UnixTime k_min_rfc3339 = -62167219200;
constexpr UnixTime k_max_rfc3339 = 253402300799;

// "2022-09-09T02:35:44Z" (also with an offset like "+08:00" or fractional seconds); leading and
// trailing whitespace is ignored, nothing else. nullopt for anything else, and for a time that
// falls outside years 0000 to 9999 once its offset is applied.
std::optional<UnixTime> parse_rfc3339(std::string_view text);
// "2024-10-16 16:46:20", zone-less, read at the given UTC offset (seconds east of UTC).
// Leading and trailing whitespace is ignored. nullopt outside years 0000 to 9999, as above.
std::optional<UnixTime> parse_zoneless(std::string_view text, int utc_offset_seconds);
// "+08:00" / "-05:30" / "Z" to seconds east of UTC.
std::optional<int> parse_utc_offset(std::string_view text);

// "2022-09-09T02:35:44Z". Always a 4-digit year: a time outside years 0000 to 9999 is clamped to
// the nearest end (callers keep their times in range; this is the last safeguard).
std::string format_rfc3339(UnixTime t);

// The longest duration parse_duration accepts: 36525d, one hundred years.
constexpr std::int64_t k_max_duration = std::int64_t{36525} * 86400;

// "30s", "5m", "2h", "7d", or a sum such as "1h30m" (positive whole numbers of at most 9 digits,
// each with a unit). Returns seconds; nullopt when malformed, zero or longer than k_max_duration.
std::optional<std::int64_t> parse_duration(std::string_view text);
// Human text for a span: "2d 3h", "45m", "30s".
std::string format_span(std::int64_t seconds);

}  // namespace acmon
