#include "acmon/core/result.hpp"

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

std::string Error::describe() const {
  std::string out = to_string(kind);
  out += " error";
  if (!code.empty()) {
    out += " " + code;
  }
  if (http_status != 0 || !request_id.empty()) {
    out += " (";
    if (http_status != 0) {
      out += "HTTP " + std::to_string(http_status);
    }
    if (!request_id.empty()) {
      out += (http_status != 0 ? ", RequestId " : "RequestId ") + request_id;
    }
    out += ")";
  }
  if (!message.empty()) {
    out += ": " + message;
  }
  return out;
}

}  // namespace acmon
