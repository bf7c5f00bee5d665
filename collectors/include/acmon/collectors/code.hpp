// The unified activation code record (SPEC.md) and the scope one listing covers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "acmon/core/config.hpp"
#include "acmon/core/time.hpp"

namespace acmon::collectors {

using config::Product;

enum class State { active, expired, disabled, exhausted, deleted };
const char* to_string(State s);
std::optional<State> parse_state(std::string_view s);

struct Code {
  Product product = Product::smc;
  std::string account;
  std::string region;    // ecs only
  std::string order_id;  // polardb only
  std::string id;
  std::string name;
  std::string description;
  std::optional<std::int64_t> limit;
  std::optional<std::int64_t> registered;
  std::optional<std::int64_t> deregistered;  // ecs only
  std::optional<UnixTime> created_at;
  std::optional<UnixTime> expires_at;
  std::optional<std::string> api_status;  // smc Status; ecs "enabled"/"disabled"; polardb none

  bool operator==(const Code&) const = default;
};

// SPEC.md's order: expired (expires_at <= now or the API says so), disabled, exhausted, active.
State derive_state(const Code& c, UnixTime now);

// One listing: a collector's account and, for ecs, a region, for polardb, an order id.
struct Scope {
  std::string collector;
  Product product = Product::smc;
  std::string account;
  std::string region;
  std::string order_id;

  [[nodiscard]] std::string describe() const;  // "prod-ecs (account prod, region cn-hangzhou)"
};

}  // namespace acmon::collectors
