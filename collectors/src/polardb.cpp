// PolarDB activation codes: DescribeActivationCodes per order, paged by PageNumber
// until TotalRecordCount.
#include "acmon/collectors/collector.hpp"
#include "parse.hpp"
#include "product_api.hpp"

namespace acmon::collectors {

using namespace detail;

namespace {

Result<model::Code> polardb_item(Item item, const std::string& account, const std::string& order_id, int utc_offset) {
  ACMON_TRY(c, new_code(item, "an activation code item", config::Product::polardb, account));
  c->order_id = order_id;
  ACMON_ASSIGN(c->id, get_id(item, "Id"));
  ACMON_ASSIGN(c->name, get_string(item, "Name"));
  ACMON_ASSIGN(c->description, get_string(item, "Description"));
  ACMON_ASSIGN(c->created_at, get_time(item, "GmtCreated", utc_offset));
  ACMON_ASSIGN(c->expires_at, get_time(item, "ExpireAt", utc_offset));
  return c;
}

}  // namespace

Result<model::Code> parse_polardb(const nlohmann::json& item, const std::string& account, const std::string& order_id,
                                  int utc_offset) {
  return parse_dumped(item, [&](Item i) { return polardb_item(i, account, order_id, utc_offset); });
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
      [](Item item, const model::Scope& scope, int utc_offset) {
        return polardb_item(item, scope.account, scope.order_id, utc_offset);
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
