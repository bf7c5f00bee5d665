// JSON from outside (API responses) read with limits, so a hostile document cannot exhaust the stack.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "acmon/core/result.hpp"

namespace acmon {

// The deepest nesting of arrays and objects parse_json_bounded accepts by default.
constexpr int k_max_json_depth = 64;
// The most values (array elements, object members, containers) a document may hold.
constexpr std::size_t k_max_json_values = 500000;

// Nothing when body nests arrays and objects at most max_depth deep and holds at most
// k_max_json_values values; otherwise the parse error parse_json_bounded gives. Reads no further
// than a limit, and judges nothing else (body need not be JSON).
Result<void> check_json_bounds(std::string_view body, int max_depth = k_max_json_depth);

// Parses body as one JSON document. A document nesting arrays and objects deeper than max_depth,
// one holding more than k_max_json_values values, or one that is not JSON, is a parse error whose message is short
// (never the document itself).
Result<nlohmann::json> parse_json_bounded(std::string_view body, int max_depth = k_max_json_depth);

// What a JSON value is, for messages: "a string", "an object", "a negative integer"… never its content.
const char* json_type_name(const nlohmann::json& value);

}  // namespace acmon
