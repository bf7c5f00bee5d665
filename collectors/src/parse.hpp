// Field readers shared by the product parsers (smc.cpp, ecs.cpp, polardb.cpp). Each returns the
// value or an error naming the field; absent or null is nullopt (or "" for strings).
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "acmon/core/result.hpp"
#include "acmon/core/time.hpp"
#include "acmon/model/code.hpp"

namespace acmon::collectors::detail {

// The documented ranges (API.md, the seeds). A value outside its range is an error naming the field:
// the run fails and the last good listing stays, rather than a wrong number being stored.
struct Range {
  std::int64_t min;
  std::int64_t max;
};
constexpr std::int64_t k_max_exact = std::int64_t{1} << 53;  // beyond this, JSON numbers are not exact
constexpr Range k_count{0, k_max_exact};
constexpr Range k_smc_count{0, 1000};
constexpr Range k_smc_ttl_days{1, 90};
constexpr Range k_ecs_ttl_hours{1, 87600};  // documented default 4h, no stated maximum: up to 10 years

// An item of a list page, read in place from the page's simdjson document (valid while it is).
using Item = simdjson::dom::element;

// A new code of product and account for item, which must be a JSON object (else an error naming
// `what`, e.g. "an AccessToken").
Result<model::Code> new_code(Item item, const char* what, config::Product product, const std::string& account);
// The public item parsers (collector.hpp) take a nlohmann::json item: parse reads its text as the
// pager reads a page.
Result<model::Code> parse_dumped(const nlohmann::json& item, const std::function<Result<model::Code>(Item)>& parse);
// The same for an item's text.
Result<model::Code> parse_text(std::string_view text, const std::function<Result<model::Code>(Item)>& parse);
// A whole number (or a numeric string) within range.
Result<std::optional<std::int64_t>> get_int(Item item, std::string_view field, Range range);
// start + n * unit, when the sum is a time acmon can store and print (years 1970 to 9999).
Result<std::optional<UnixTime>> expiry(std::optional<UnixTime> start, std::optional<std::int64_t> n, std::int64_t unit,
                                       const char* field);
// A boolean, or "true"/"false" as a string.
Result<std::optional<bool>> get_bool(Item item, std::string_view field);
// A string (a number as its text), trimmed, at most 4096 bytes.
Result<std::string> get_string(Item item, std::string_view field);
// An id: present, at most 256 bytes, no control characters.
Result<std::string> get_id(Item item, std::string_view field);
// A time field: RFC 3339, or with zoneless_offset a zone-less "2024-10-16 16:46:20" read at that
// offset (an RFC 3339 value is accepted there too). Absent or empty is nullopt.
Result<std::optional<UnixTime>> get_time(Item item, std::string_view field,
                                         std::optional<int> zoneless_offset = std::nullopt);

}  // namespace acmon::collectors::detail
