#include "acmon/core/time.hpp"

#include "acmon/core/text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace acmon {

UnixTime SystemClock::now() const {
  return std::chrono::duration_cast<Seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Howard Hinnant's days_from_civil algorithm.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

namespace {

bool read_int(std::string_view s, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > s.size()) {
    return false;
  }
  for (std::size_t i = pos; i < pos + len; ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) == 0) {
      return false;
    }
  }
  auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return ec == std::errc() && p == s.data() + pos + len;
}

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : k_days[m - 1];
}

// "YYYY-MM-DD?hh:mm:ss" where ? is the given separator(s); returns seconds (UTC) and the
// position after the seconds.
std::optional<std::pair<UnixTime, std::size_t>> parse_date_time(std::string_view s, std::string_view seps) {
  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int se = 0;
  if (s.size() < 19 || !read_int(s, 0, 4, y) || s[4] != '-' || !read_int(s, 5, 2, mo) || s[7] != '-' ||
      !read_int(s, 8, 2, d) || seps.find(s[10]) == std::string_view::npos || !read_int(s, 11, 2, h) || s[13] != ':' ||
      !read_int(s, 14, 2, mi) || s[16] != ':' || !read_int(s, 17, 2, se)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60) {
    return std::nullopt;
  }
  const UnixTime days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return std::make_pair(days * 86400 + h * 3600 + mi * 60 + se, std::size_t{19});
}

// "Z" or "+hh:mm" exactly, nothing around it.
std::optional<int> read_utc_offset(std::string_view text) {
  if (text == "Z" || text == "z") {
    return 0;
  }
  int h = 0;
  int m = 0;
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || !read_int(text, 1, 2, h) || text[3] != ':' ||
      !read_int(text, 4, 2, m) || h > 23 || m > 59) {
    return std::nullopt;
  }
  const int secs = h * 3600 + m * 60;
  return text[0] == '-' ? -secs : secs;
}

// t when it lies in years 0000 to 9999, the years a 4-digit RFC 3339 time can name.
std::optional<UnixTime> in_range(UnixTime t) {
  if (t < k_min_rfc3339 || t > k_max_rfc3339) {
    return std::nullopt;
  }
  return t;
}

}  // namespace

std::optional<int> parse_utc_offset(std::string_view text) {
  return read_utc_offset(trim(text));
}

std::optional<UnixTime> parse_rfc3339(std::string_view text) {
  text = trim(text);
  auto base = parse_date_time(text, "Tt");
  if (!base) {
    return std::nullopt;
  }
  auto rest = text.substr(base->second);
  if (!rest.empty() && rest[0] == '.') {
    std::size_t i = 1;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i])) != 0) {
      ++i;
    }
    if (i == 1) {
      return std::nullopt;
    }
    rest.remove_prefix(i);
  }
  auto offset = read_utc_offset(rest);
  if (!offset) {
    return std::nullopt;
  }
  return in_range(base->first - *offset);
}

std::optional<UnixTime> parse_zoneless(std::string_view text, int utc_offset_seconds) {
  text = trim(text);
  auto base = parse_date_time(text, " T");
  if (!base || base->second != text.size()) {
    return std::nullopt;
  }
  return in_range(base->first - utc_offset_seconds);
}

std::string format_rfc3339(UnixTime t) {
  t = std::clamp(t, k_min_rfc3339, k_max_rfc3339);
  std::int64_t days = t / 86400;
  std::int64_t secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    days -= 1;
  }
  // civil_from_days
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2 ? 1 : 0;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(secs / 3600), static_cast<long long>((secs / 60) % 60),
                static_cast<long long>(secs % 60));
  return buf;
}

std::optional<std::int64_t> parse_duration(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j])) != 0) {
      ++j;
    }
    if (j == i || j == text.size() || j - i > 9) {
      return std::nullopt;
    }
    std::int64_t n = 0;
    std::from_chars(text.data() + i, text.data() + j, n);
    std::int64_t unit = 0;
    switch (text[j]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: return std::nullopt;
    }
    std::int64_t part = 0;
    if (__builtin_mul_overflow(n, unit, &part) || __builtin_add_overflow(total, part, &total) ||
        total > k_max_duration) {
      return std::nullopt;
    }
    i = j + 1;
  }
  if (total <= 0) {
    return std::nullopt;
  }
  return total;
}

std::string format_span(std::int64_t seconds) {
  if (seconds < 0) {
    seconds = 0;
  }
  const std::int64_t d = seconds / 86400;
  const std::int64_t h = (seconds % 86400) / 3600;
  const std::int64_t m = (seconds % 3600) / 60;
  const std::int64_t s = seconds % 60;
  if (d > 0) {
    return h > 0 ? std::to_string(d) + "d " + std::to_string(h) + "h" : std::to_string(d) + "d";
  }
  if (h > 0) {
    return m > 0 ? std::to_string(h) + "h " + std::to_string(m) + "m" : std::to_string(h) + "h";
  }
  if (m > 0) {
    return std::to_string(m) + "m";
  }
  return std::to_string(s) + "s";
}

}  // namespace acmon
