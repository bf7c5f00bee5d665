#include "acmon/core/result.hpp"

#include "acmon/core/text.hpp"

namespace acmon {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::network: return "network";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::http: return "http";
    case ErrorKind::api: return "api";
    case ErrorKind::parse: return "parse";
    case ErrorKind::db: return "db";
    case ErrorKind::config: return "config";
    case ErrorKind::usage: return "usage";
  }
  return "unknown";
}

// Every part is capped and escaped here, once, so whatever an Error carries (an API's text, a
// value quoted from a file) prints as one line of bounded length, in logs and in the store.
std::string Error::describe() const {
  constexpr std::size_t k_max_token = 80;
  std::string out = to_string(kind);
  out += " error";
  if (!code.empty()) {
    out += " " + cap_text(code, k_max_token);
  }
  if (http_status != 0 || !request_id.empty()) {
    out += " (";
    if (http_status != 0) {
      out += "HTTP " + std::to_string(http_status);
    }
    if (!request_id.empty()) {
      out += (http_status != 0 ? ", RequestId " : "RequestId ") + cap_text(request_id, k_max_token);
    }
    out += ")";
  }
  if (!message.empty()) {
    out += ": " + cap_text(message);
  }
  return out;
}

}  // namespace acmon
