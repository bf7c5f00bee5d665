// The scope one listing covers.
#pragma once

#include <string>

#include "acmon/core/config.hpp"

namespace acmon::model {

// One listing: a collector's account and, for ecs, a region, for polardb, an order id.
struct Scope {
  std::string collector;
  config::Product product = config::Product::smc;
  std::string account;
  std::string region;
  std::string order_id;

  [[nodiscard]] std::string describe() const;  // "prod-ecs (account prod, region cn-hangzhou)"
};

// A scope's identity within one configuration: collector, region and order id.
std::string scope_key(const Scope& s);

}  // namespace acmon::model
