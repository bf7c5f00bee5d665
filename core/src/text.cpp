#include "acmon/core/text.hpp"

#include <algorithm>

namespace acmon {

namespace {

// The length of the valid UTF-8 sequence at s[i], or 0 when the byte there does not start one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  unsigned lo = 0x80;
  unsigned hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    lo = b0 == 0xe0 ? 0xa0 : 0x80;  // no overlong forms
    hi = b0 == 0xed ? 0x9f : 0xbf;  // no surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    lo = b0 == 0xf0 ? 0x90 : 0x80;
    hi = b0 == 0xf4 ? 0x8f : 0xbf;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  if (b1 < lo || b1 > hi) {
    return 0;
  }
  for (std::size_t k = 2; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < 0x80 || b > 0xbf) {
      return 0;
    }
  }
  return len;
}

void append_escape(std::string& out, unsigned char c) {
  static constexpr char k_hex[] = "0123456789abcdef";
  switch (c) {
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default:
      out += "\\x";
      out += k_hex[c >> 4];
      out += k_hex[c & 0xf];
  }
}

}  // namespace

std::string url_origin(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    return {};
  }
  std::string_view authority = url.substr(scheme + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  // The port follows the last ':' outside an IPv6 address's brackets.
  const auto bracket = authority.rfind(']');
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    const std::string_view port = authority.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) {
      authority = authority.substr(0, colon);
    }
  }
  return cap_text(std::string(url.substr(0, scheme)) + "://" + std::string(authority), 200);
}

std::string cap_text(std::string_view s, std::size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max) + 4);
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::string piece;
    // A printable ASCII byte or a whole UTF-8 sequence is kept; a control character or a byte
    // that starts no valid sequence is escaped.
    const bool control = c < 0x20 || c == 0x7f;
    const std::size_t len = control ? 0 : (c < 0x80 ? 1 : utf8_length(s, i));
    if (len > 0) {
      piece = s.substr(i, len);
      i += len;
    } else {
      append_escape(piece, c);
      i += 1;
    }
    if (out.size() + piece.size() > max) {
      out += "\u2026";
      return out;
    }
    out += piece;
  }
  return out;
}

}  // namespace acmon
