// What the store keeps of codes and scopes, beyond what a listing says.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "acmon/core/time.hpp"
#include "acmon/model/code.hpp"
#include "acmon/model/scope.hpp"

namespace acmon::model {

// A code as stored, with what the database adds.
struct StoredCode {
  Code code;
  std::string collector;
  CodeState state = CodeState::active;  // as derived at query time
  UnixTime first_seen = 0;
  UnixTime last_seen = 0;  // the scope's last complete listing that held the code
  std::optional<UnixTime> deleted_at;
  // When registered reaches limit at the recent rate (model/forecast.hpp); none when not growing.
  std::optional<UnixTime> exhaustion_forecast;
};

// A scope's runs so far.
struct ScopeStatus {
  Scope scope;
  std::optional<UnixTime> first_run_at;
  std::optional<UnixTime> last_run_at;
  std::optional<UnixTime> last_success_at;
  bool last_ok = false;
  std::string last_error;
  double last_duration_seconds = 0;
  int codes = 0;  // codes in the last complete listing
  std::int64_t successes = 0;
  std::int64_t failures = 0;
  int consecutive_failures = 0;
};

}  // namespace acmon::model
