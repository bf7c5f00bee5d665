// ECS Cloud Assistant activation codes: DescribeActivations in each region, paged by
// NextToken (its TotalCount is not used).
#include "acmon/collectors/collector.hpp"
#include "parse.hpp"
#include "product_api.hpp"

namespace acmon::collectors {

using nlohmann::json;
using namespace detail;

Result<model::Code> parse_ecs(const json& item, const std::string& account, const std::string& region) {
  if (!item.is_object()) {
    return make_error(ErrorKind::parse, "an Activation is not a JSON object");
  }
  model::Code c;
  c.product = config::Product::ecs;
  c.account = account;
  c.region = region;
  ACMON_TRY(id, get_id(item, "ActivationId"));
  ACMON_TRY(name, get_string(item, "InstanceName"));
  ACMON_TRY(desc, get_string(item, "Description"));
  ACMON_TRY(count, get_int(item, "InstanceCount", k_count));
  ACMON_TRY(used, get_int(item, "RegisteredCount", k_count));
  ACMON_TRY(gone, get_int(item, "DeregisteredCount", k_count));
  ACMON_TRY(created, get_time(item, "CreationTime"));
  ACMON_TRY(ttl, get_int(item, "TimeToLiveInHours", k_ecs_ttl_hours));
  ACMON_TRY(expires, expiry(*created, *ttl, 3600, "TimeToLiveInHours"));
  ACMON_TRY(disabled, get_bool(item, "Disabled"));
  c.id = std::move(*id);
  c.name = std::move(*name);
  c.description = std::move(*desc);
  c.limit = *count;
  c.registered = *used;
  c.deregistered = *gone;
  c.created_at = *created;
  c.expires_at = *expires;
  c.api_status = disabled->value_or(false) ? "disabled" : "enabled";
  return c;
}

namespace detail {

const ProductApi& ecs_api() {
  static const ProductApi k_api{
      config::Product::ecs,
      "DescribeActivations",
      Paging::next_token,
      "MaxResults",
      50,
      "ActivationList",
      nullptr,
      "RegionId.ApiNotSupported",
      [](const model::Scope& scope) {
        return signing::Params{{"RegionId", scope.region}};
      },
      [](const json& item, const model::Scope& scope, int /*utc_offset*/) {
        return parse_ecs(item, scope.account, scope.region);
      },
  };
  return k_api;
}

}  // namespace detail

}  // namespace acmon::collectors
