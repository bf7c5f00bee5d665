// The unified activation code record (SPEC.md) and its derived state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "acmon/core/config.hpp"
#include "acmon/core/time.hpp"

namespace acmon::model {

// A code's state as acmon derives it (the store adds deleted).
enum class CodeState { active, expired, disabled, exhausted, deleted };
const char* to_string(CodeState s);
std::optional<CodeState> parse_state(std::string_view s);

struct Code {
  config::Product product = config::Product::smc;
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
CodeState derive_state(const Code& c, UnixTime now);

}  // namespace acmon::model
