#include "acmon/model/code.hpp"

#include "acmon/model/scope.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

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
  // The account too: a collector of an organization lists one scope per member.
  return s.collector + '\x1f' + s.account + '\x1f' + s.region + '\x1f' + s.order_id;
}

std::uint64_t shard_hash(const Scope& s) {
  std::uint64_t h = 14695981039346656037ULL;
  auto add = [&](std::string_view part) {
    for (const char c : part) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
    h ^= 0x1fU;  // a separator, so that ("ab", "c") and ("a", "bc") differ
    h *= 1099511628211ULL;
  };
  add(s.account);
  add(config::to_string(s.product));
  add(s.region.empty() ? s.order_id : s.region);
  return h;
}

bool watched(const config::Config& cfg, const Scope& s) {
  const config::Collector* c = cfg.find_collector(s.collector);
  if (c == nullptr || !in_shard(s, cfg.daemon.shard_index, cfg.daemon.shard_total)) {
    return false;
  }
  if (const config::Organization* org = cfg.organization_of(*c)) {
    // A member that left (or an organization not listed yet) is like a collector no longer configured.
    if (s.account == org->name && s.region == "*") {
      return true;  // the listing of the members itself
    }
    auto it = cfg.members.find(org->name);
    if (it == cfg.members.end() || std::none_of(it->second.begin(), it->second.end(),
                                                [&](const config::Member& m) { return m.account_id == s.account; })) {
      return false;
    }
  }
  const auto named = [](const std::vector<std::string>& list, const std::string& v) {
    return std::find(list.begin(), list.end(), v) != list.end();
  };
  switch (c->product) {
    case config::Product::ecs: return (c->regions.size() == 1 && c->regions[0] == "*") || named(c->regions, s.region);
    case config::Product::polardb: return named(c->order_ids, s.order_id);
    case config::Product::smc: return true;
  }
  return true;
}

bool in_shard(const Scope& s, int index, int total) {
  if (total <= 1 || s.region == "*") {
    return true;
  }
  return shard_hash(s) % static_cast<std::uint64_t>(total) == static_cast<std::uint64_t>(index);
}

}  // namespace acmon::model
