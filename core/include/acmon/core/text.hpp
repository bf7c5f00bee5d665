// Small text helpers shared by the parsers.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace acmon {

// s without leading and trailing white space (space, tab, CR, LF, VT, FF).
constexpr std::string_view trim(std::string_view s) {
  constexpr std::string_view k_space = " \t\r\n\v\f";
  const auto b = s.find_first_not_of(k_space);
  if (b == std::string_view::npos) {
    return {};
  }
  return s.substr(b, s.find_last_not_of(k_space) - b + 1);
}

// The longest error text cap_text lets through by default, in bytes.
constexpr std::size_t k_max_error_text = 300;

// Text from outside (an API's Code or Message, a configured value) made safe to print, log and
// store: control characters become escapes ("\n", "\t", "\x1b"), bytes that are not UTF-8 become
// "\xNN", and the result is cut, on a character boundary, to at most max bytes followed by "…"
// when something was cut. Always valid UTF-8 on a single line; applying it twice changes nothing
// more. Backslashes are kept as they are.
std::string cap_text(std::string_view s, std::size_t max = k_max_error_text);

// A URL's scheme, host and port ("https://hooks.example.com:8443"): all that may be shown of a URL
// that can carry a secret in its userinfo ("user:password@"), its path (a Slack hook's token) or
// its query (DingTalk's access_token). A port that is not digits (a password's end, cut by an
// unescaped "/" or "?") is left out too. Empty when url has no "scheme://".
std::string url_origin(std::string_view url);

}  // namespace acmon
