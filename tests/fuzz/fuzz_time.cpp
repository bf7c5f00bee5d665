// The time and duration parsers, and cap_text: no crash, no overflow, results in range, RFC 3339
// round trips, capped text is one valid UTF-8 line.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "acmon/core/text.hpp"
#include "acmon/core/time.hpp"
#include "fuzz_check.hpp"

using namespace acmon;

namespace {

bool valid_utf8_line(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      return false;
    }
    const std::size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (len == 0 || i + len > s.size()) {
      return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) {
        return false;
      }
    }
    i += len;
  }
  return true;
}

void check_time(std::optional<UnixTime> t, const char* what) {
  if (!t) {
    return;
  }
  fuzz::check(*t >= k_min_rfc3339 && *t <= k_max_rfc3339, what, std::to_string(*t));
  const std::string s = format_rfc3339(*t);
  fuzz::check(s.size() == 20, "format_rfc3339 not 20 characters", s);
  fuzz::check(parse_rfc3339(s) == *t, "an RFC 3339 time that does not round-trip", s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_time(parse_rfc3339(text), "parse_rfc3339 out of range");
  for (int offset : {0, 8 * 3600, -12 * 3600, 14 * 3600}) {
    check_time(parse_zoneless(text, offset), "parse_zoneless out of range");
  }
  if (auto off = parse_utc_offset(text)) {
    fuzz::check(*off > -86400 && *off < 86400, "an offset of a day or more");
  }
  if (auto d = parse_duration(text)) {
    fuzz::check(*d > 0 && *d <= k_max_duration, "a duration out of range", std::to_string(*d));
    (void)format_span(*d);
  }
  if (size >= 8) {
    std::int64_t t = 0;
    std::memcpy(&t, data, sizeof t);
    const std::string s = format_rfc3339(t);
    fuzz::check(s.size() == 20 && parse_rfc3339(s).has_value(), "format_rfc3339 of any integer", s);
  }
  const std::size_t max = size == 0 ? 0 : data[0];
  const std::string capped = cap_text(text, max);
  fuzz::check(capped.size() <= max + 3, "cap_text longer than its cap", capped);
  fuzz::check(valid_utf8_line(capped), "cap_text not one valid UTF-8 line", capped);
  if (capped.size() <= max) {
    fuzz::check(cap_text(capped, max) == capped, "cap_text changes its own output", capped);
  }
  return 0;
}
