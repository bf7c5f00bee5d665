// The item parsers (parse_smc, parse_ecs, parse_polardb) on JSON text: an object is parsed as an
// item of each product, an array as a list of items. Times must come out in range, counts too.
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

void parse_all(const nlohmann::json& item, int utc_offset) {
  check_code(collectors::parse_smc(item, "a"));
  check_code(collectors::parse_ecs(item, "a", "cn-hangzhou"));
  check_code(collectors::parse_polardb(item, "a", "2233000000001", utc_offset));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  // The first byte picks the PolarDB zone offset, in quarter hours either side of UTC.
  const int utc_offset = (static_cast<int>(data[0] % 97) - 48) * 900;
  auto doc = parse_json_bounded(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  if (!doc) {
    fuzz::check_error(doc.error());
    return 0;
  }
  if (doc->is_array()) {
    for (const auto& item : *doc) {
      parse_all(item, utc_offset);
    }
  } else {
    parse_all(*doc, utc_offset);
  }
  return 0;
}
