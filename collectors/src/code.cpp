#include "acmon/collectors/code.hpp"

namespace acmon::collectors {

const char* to_string(State s) {
  switch (s) {
    case State::active: return "active";
    case State::expired: return "expired";
    case State::disabled: return "disabled";
    case State::exhausted: return "exhausted";
    case State::deleted: return "deleted";
  }
  return "?";
}

std::optional<State> parse_state(std::string_view s) {
  for (State st : {State::active, State::expired, State::disabled, State::exhausted, State::deleted}) {
    if (s == to_string(st)) {
      return st;
    }
  }
  return std::nullopt;
}

State derive_state(const Code& c, UnixTime now) {
  if ((c.expires_at && *c.expires_at <= now) || c.api_status == "expired") {
    return State::expired;
  }
  if (c.api_status == "disabled") {
    return State::disabled;
  }
  if (c.limit && *c.limit > 0 && c.registered && *c.registered >= *c.limit) {
    return State::exhausted;
  }
  return State::active;
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

}  // namespace acmon::collectors
