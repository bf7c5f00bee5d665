// SMC access tokens: ListAccessTokens, paged by PageNumber until TotalCount.
#include "acmon/collectors/collector.hpp"
#include "parse.hpp"
#include "product_api.hpp"

namespace acmon::collectors {

using namespace detail;

namespace {

Result<model::Code> smc_item(Item item, const std::string& account) {
  ACMON_TRY(c, new_code(item, "an AccessToken", config::Product::smc, account));
  ACMON_ASSIGN(c->id, get_id(item, "AccessTokenId"));
  ACMON_ASSIGN(c->name, get_string(item, "Name"));
  ACMON_ASSIGN(c->description, get_string(item, "Description"));
  ACMON_ASSIGN(c->limit, get_int(item, "Count", k_smc_count));
  ACMON_ASSIGN(c->registered, get_int(item, "RegisteredCount", k_count));
  ACMON_ASSIGN(c->created_at, get_time(item, "CreationTime"));
  ACMON_TRY(ttl, get_int(item, "TimeToLiveInDays", k_smc_ttl_days));
  ACMON_ASSIGN(c->expires_at, expiry(c->created_at, *ttl, 86400, "TimeToLiveInDays"));
  ACMON_TRY(status, get_string(item, "Status"));
  if (!status->empty()) {
    c->api_status = std::move(*status);
  }
  return c;
}

}  // namespace

Result<model::Code> parse_smc(const nlohmann::json& item, const std::string& account) {
  return parse_dumped(item, [&](Item i) { return smc_item(i, account); });
}

namespace detail {

const ProductApi& smc_api() {
  static const ProductApi k_api{
      config::Product::smc,
      "ListAccessTokens",
      Paging::page_number,
      "PageSize",
      50,
      "AccessTokens",
      "TotalCount",
      nullptr,
      [](const model::Scope& /*scope*/) { return signing::Params{}; },
      [](Item item, const model::Scope& scope, int /*utc_offset*/) { return smc_item(item, scope.account); },
  };
  return k_api;
}

}  // namespace detail

}  // namespace acmon::collectors
