// ECS Cloud Assistant activation codes: DescribeActivations in each region, paged by
// NextToken (its TotalCount is not used).
#include "acmon/collectors/collector.hpp"
#include "parse.hpp"
#include "product_api.hpp"

namespace acmon::collectors {

using namespace detail;

namespace {

Result<model::Code> ecs_item(Item item, const std::string& account, const std::string& region) {
  ACMON_TRY(c, new_code(item, "an Activation", config::Product::ecs, account));
  c->region = region;
  ACMON_ASSIGN(c->id, get_id(item, "ActivationId"));
  ACMON_ASSIGN(c->name, get_string(item, "InstanceName"));
  ACMON_ASSIGN(c->description, get_string(item, "Description"));
  ACMON_ASSIGN(c->limit, get_int(item, "InstanceCount", k_count));
  ACMON_ASSIGN(c->registered, get_int(item, "RegisteredCount", k_count));
  ACMON_ASSIGN(c->deregistered, get_int(item, "DeregisteredCount", k_count));
  ACMON_ASSIGN(c->created_at, get_time(item, "CreationTime"));
  ACMON_TRY(ttl, get_int(item, "TimeToLiveInHours", k_ecs_ttl_hours));
  ACMON_ASSIGN(c->expires_at, expiry(c->created_at, *ttl, 3600, "TimeToLiveInHours"));
  ACMON_TRY(disabled, get_bool(item, "Disabled"));
  c->api_status = disabled->value_or(false) ? "disabled" : "enabled";
  return c;
}

}  // namespace

Result<model::Code> parse_ecs(const nlohmann::json& item, const std::string& account, const std::string& region) {
  return parse_dumped(item, [&](Item i) { return ecs_item(i, account, region); });
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
      [](Item item, const model::Scope& scope, int /*utc_offset*/) {
        return ecs_item(item, scope.account, scope.region);
      },
  };
  return k_api;
}

}  // namespace detail

}  // namespace acmon::collectors
