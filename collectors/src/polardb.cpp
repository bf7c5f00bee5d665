// PolarDB activation codes: DescribeActivationCodes per order, paged by PageNumber
// until TotalRecordCount.
#include "acmon/collectors/collector.hpp"
#include "parse.hpp"
#include "product_api.hpp"

namespace acmon::collectors {

using nlohmann::json;
using namespace detail;

Result<model::Code> parse_polardb(const json& item, const std::string& account, const std::string& order_id,
                                  int utc_offset) {
  if (!item.is_object()) {
    return make_error(ErrorKind::parse, "an activation code item is not a JSON object");
  }
  model::Code c;
  c.product = config::Product::polardb;
  c.account = account;
  c.order_id = order_id;
  ACMON_TRY(id, get_id(item, "Id"));
  ACMON_TRY(name, get_string(item, "Name"));
  ACMON_TRY(desc, get_string(item, "Description"));
  ACMON_TRY(created, get_time(item, "GmtCreated", utc_offset));
  ACMON_TRY(expires, get_time(item, "ExpireAt", utc_offset));
  c.id = std::move(*id);
  c.name = std::move(*name);
  c.description = std::move(*desc);
  c.created_at = *created;
  c.expires_at = *expires;
  return c;
}

namespace detail {

const ProductApi& polardb_api() {
  static const ProductApi k_api{
      config::Product::polardb,
      "DescribeActivationCodes",
      Paging::page_number,
      "PageSize",
      50,
      "Items",
      "TotalRecordCount",
      nullptr,
      [](const model::Scope& scope) {
        return signing::Params{{"AliyunOrderId", scope.order_id}};
      },
      [](const json& item, const model::Scope& scope, int utc_offset) {
        return parse_polardb(item, scope.account, scope.order_id, utc_offset);
      },
  };
  return k_api;
}

const ProductApi& product_api(config::Product p) {
  switch (p) {
    case config::Product::smc: return smc_api();
    case config::Product::ecs: return ecs_api();
    case config::Product::polardb: return polardb_api();
  }
  return smc_api();
}

}  // namespace detail

}  // namespace acmon::collectors
