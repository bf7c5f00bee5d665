// One pass over every page of one scope's listing, for both paging styles: the complete list of
// codes or an error, never a partial list.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "acmon/collectors/collector.hpp"
#include "product_api.hpp"

namespace acmon::collectors::detail {

// One pass; `changed` tells that the list visibly moved while it was read (a changed total, an id
// on two pages, items short of the total), so reading it again may succeed.
struct Pass {
  Listing listing;
  bool changed = false;
  // The first page's answer that the discovered region has no such API (the listing is then
  // empty): it says "no codes" only while the store holds none live there (Collector::list).
  std::optional<Error> unsupported;
};

// Sends the product's list action with these parameters (paging included): the body of the
// answer, which api::check_answer found to be a JSON object.
using FetchPage = std::function<Result<std::string>(const signing::Params& params)>;

// Reads every page of scope with api into pass.listing (pages counted there, on failure too) and
// returns it. Errors name the page ("page 3: …"). discovered: the scope's region came from
// discovery, so a first page answering api.unsupported_code is an empty, complete listing (that
// answer kept in pass.unsupported).
// expected: how many codes the listing likely holds (room is made for them when the answer gives
// no total).
Result<Listing> read_pages(const ProductApi& api, const model::Scope& scope, int utc_offset, bool discovered,
                           const FetchPage& fetch, Pass& pass, std::int64_t expected = 0);

// The array under field: {"X": [...]} or the XML-derived {"X": {"Y": [...]}}; nullptr if neither.
const nlohmann::json* read_array(const nlohmann::json& doc, const char* field);
// The same, in a simdjson document; nullopt if neither.
std::optional<simdjson::dom::array> page_array(Item doc, const char* field);

}  // namespace acmon::collectors::detail
