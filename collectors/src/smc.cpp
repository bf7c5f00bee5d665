// SMC access tokens: ListAccessTokens, paged by PageNumber until TotalCount.
#include "acmon/collectors/collector.hpp"
#include "parse.hpp"
#include "product_api.hpp"

namespace acmon::collectors {

using nlohmann::json;
using namespace detail;

Result<model::Code> parse_smc(const json& item, const std::string& account) {
  if (!item.is_object()) {
    return make_error(ErrorKind::parse, "an AccessToken is not a JSON object");
  }
  model::Code c;
  c.product = config::Product::smc;
  c.account = account;
  ACMON_TRY(id, get_id(item, "AccessTokenId"));
  ACMON_TRY(name, get_string(item, "Name"));
  ACMON_TRY(desc, get_string(item, "Description"));
  ACMON_TRY(count, get_int(item, "Count", k_smc_count));
  ACMON_TRY(used, get_int(item, "RegisteredCount", k_count));
  ACMON_TRY(created, get_time(item, "CreationTime"));
  ACMON_TRY(ttl, get_int(item, "TimeToLiveInDays", k_smc_ttl_days));
  ACMON_TRY(expires, expiry(*created, *ttl, 86400, "TimeToLiveInDays"));
  ACMON_TRY(status, get_string(item, "Status"));
  c.id = std::move(*id);
  c.name = std::move(*name);
  c.description = std::move(*desc);
  c.limit = *count;
  c.registered = *used;
  c.created_at = *created;
  c.expires_at = *expires;
  if (!status->empty()) {
    c.api_status = std::move(*status);
  }
  return c;
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
      [](const json& item, const model::Scope& scope, int /*utc_offset*/) { return parse_smc(item, scope.account); },
  };
  return k_api;
}

}  // namespace detail

}  // namespace acmon::collectors
