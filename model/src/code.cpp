#include "acmon/model/code.hpp"

#include "acmon/model/scope.hpp"

namespace acmon::model {

const char* to_string(CodeState s) {
  switch (s) {
    case CodeState::active: return "active";
    case CodeState::expired: return "expired";
    case CodeState::disabled: return "disabled";
    case CodeState::exhausted: return "exhausted";
    case CodeState::deleted: return "deleted";
  }
  return "?";
}

std::optional<CodeState> parse_state(std::string_view s) {
  for (CodeState st :
       {CodeState::active, CodeState::expired, CodeState::disabled, CodeState::exhausted, CodeState::deleted}) {
    if (s == to_string(st)) {
      return st;
    }
  }
  return std::nullopt;
}

CodeState derive_state(const Code& c, UnixTime now) {
  if ((c.expires_at && *c.expires_at <= now) || c.api_status == "expired") {
    return CodeState::expired;
  }
  if (c.api_status == "disabled") {
    return CodeState::disabled;
  }
  if (c.limit && *c.limit > 0 && c.registered && *c.registered >= *c.limit) {
    return CodeState::exhausted;
  }
  return CodeState::active;
}

std::string Scope::describe() const {
  std::string out = collector + " (account " + account;
  if (!region.empty()) {
    out += ", region " + region;
  }
  if (!order_id.empty()) {
    out += ", order " + order_id;
  }
  return out + ")";
}

std::string scope_key(const Scope& s) {
  return s.collector + '\x1f' + s.region + '\x1f' + s.order_id;
}

}  // namespace acmon::model
