// Small text helpers shared by the parsers.
#pragma once

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

}  // namespace acmon
