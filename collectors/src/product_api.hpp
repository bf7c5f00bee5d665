// How each product lists its codes: one description per product API (smc.cpp, ecs.cpp,
// polardb.cpp), read by the pager (pager.cpp). A new product API is one more such file.
#pragma once

#include "acmon/core/config.hpp"
#include "acmon/core/result.hpp"
#include "acmon/core/signing.hpp"
#include "acmon/model/code.hpp"
#include "acmon/model/scope.hpp"
#include "parse.hpp"

namespace acmon::collectors::detail {

enum class Paging {
  page_number,  // PageNumber from 1 with a page size; the answer carries the total
  next_token,   // a page size and NextToken; the listing ends when NextToken comes back empty
};

// One product's list API. The version is config::api_version(product).
struct ProductApi {
  config::Product product;
  const char* action;  // the list action
  Paging paging;
  const char* size_param;  // PageSize, MaxResults
  int page_size;
  const char* items_field;  // the array of items ({"X": [...]} or {"X": {"Y": [...]}})
  const char* total_field;  // page_number only: the total the items must reach
  // An API error code that a first page may answer for a discovered region without the API:
  // an empty, complete listing. nullptr: none.
  const char* unsupported_code;
  // The listing's parameters for one scope, besides paging.
  signing::Params (*scope_params)(const model::Scope& scope);
  // One item as a Code; utc_offset is the collector's time zone (for zone-less times).
  Result<model::Code> (*parse)(Item item, const model::Scope& scope, int utc_offset);
};

const ProductApi& smc_api();
const ProductApi& ecs_api();
const ProductApi& polardb_api();
const ProductApi& product_api(config::Product p);

}  // namespace acmon::collectors::detail
