// The item parsers on JSON text, read as a page is read (parse_item_text): the text as an item of
// each product, and when it is an array, each of its items too. Times must come out in range,
// counts too.
#include <cstddef>
#include <cstdint>

#include "acmon/collectors/collector.hpp"
#include "acmon/core/json.hpp"
#include "fuzz_check.hpp"

using namespace acmon;

namespace {

void check_code(const Result<model::Code>& c) {
  if (!c) {
    fuzz::check_error(c.error());
    return;
  }
  for (const auto& t : {c->created_at, c->expires_at}) {
    if (t) {
      fuzz::check(*t >= k_min_rfc3339 && *t <= k_max_rfc3339, "a time outside years 0000-9999", std::to_string(*t));
      fuzz::check(parse_rfc3339(format_rfc3339(*t)) == *t, "a time that does not survive RFC 3339", format_rfc3339(*t));
    }
  }
  for (const auto& n : {c->limit, c->registered, c->deregistered}) {
    fuzz::check(!n || (*n >= 0 && *n <= (std::int64_t{1} << 53)), "a count outside 0..2^53", std::to_string(*n));
  }
}

void parse_all(std::string_view text, int utc_offset) {
  check_code(collectors::parse_item_text(text, model::Scope("c", config::Product::smc, "a"), utc_offset));
  check_code(
      collectors::parse_item_text(text, model::Scope("c", config::Product::ecs, "a", "cn-hangzhou"), utc_offset));
  check_code(collectors::parse_item_text(text, model::Scope("c", config::Product::polardb, "a", "", "2233000000001"),
                                         utc_offset));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  // The first byte picks the PolarDB zone offset, in quarter hours either side of UTC.
  const int utc_offset = (static_cast<int>(data[0] % 97) - 48) * 900;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  parse_all(text, utc_offset);
  auto doc = parse_json_bounded(text);
  if (doc && doc->is_array()) {
    for (const auto& item : *doc) {
      parse_all(item.dump(), utc_offset);
    }
  }
  return 0;
}
