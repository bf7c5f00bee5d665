// The scope one listing covers.
#pragma once

#include <cstdint>
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

// [daemon] shard = "index/total": a replica lists the scopes whose hash of (account, product,
// region or order id) modulo total is index. The hash (64-bit FNV-1a) is fixed: every replica and
// every version agrees on it. A region discovery ("*") belongs to every shard.
std::uint64_t shard_hash(const Scope& s);
bool in_shard(const Scope& s, int index, int total);

// A scope the configuration watches: its collector is configured, lists it (an ecs region or a
// polardb order still named; any region for a discovering collector) and it is in the shard. What
// the database holds of other scopes is history: neither exported nor judged.
bool watched(const config::Config& cfg, const Scope& s);

}  // namespace acmon::model
