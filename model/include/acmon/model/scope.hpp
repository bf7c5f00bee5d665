// The scope one listing covers.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "acmon/core/config.hpp"

namespace acmon::model {

// One listing: a collector's account and, for ecs, a region, for polardb, an order id.
struct Scope {
  Scope() = default;
  Scope(std::string collector_, config::Product product_, std::string account_, std::string region_ = {},
        std::string order_id_ = {}, std::string organization_ = {})
      : collector(std::move(collector_)),
        product(product_),
        account(std::move(account_)),
        region(std::move(region_)),
        order_id(std::move(order_id_)),
        organization(std::move(organization_)) {}

  std::string collector;
  config::Product product = config::Product::smc;
  std::string account;
  std::string region;
  std::string order_id;
  // A collector of an organization: its name (account is then the member's 16-digit AccountId).
  std::string organization;

  [[nodiscard]] std::string describe() const;
  // What tells the scopes of one collector apart besides region and order: the member's AccountId
  // for an organization, else empty (a collector pointed at another account keeps its scope).
  [[nodiscard]] const std::string& member() const {
    static const std::string k_none;
    return organization.empty() ? k_none : account;
  }  // "prod-ecs (account prod, region cn-hangzhou)"
};

// A scope's identity within one configuration: collector, account, region and order id.
std::string scope_key(const Scope& s);

// [daemon] shard = "index/total": a replica lists the scopes whose hash of (account, product,
// region or order id) modulo total is index. The hash (64-bit FNV-1a) is fixed: every replica and
// every version agrees on it. A region discovery ("*") belongs to every shard.
std::uint64_t shard_hash(const Scope& s);
bool in_shard(const Scope& s, int index, int total);

// A scope the configuration watches: its collector is configured, lists it (an ecs region or a
// polardb order still named; any region for a discovering collector), for an organization's
// collector its account is a current member (cfg.members), and it is in the shard. What
// the database holds of other scopes is history: neither exported nor judged.
bool watched(const config::Config& cfg, const Scope& s);

}  // namespace acmon::model
