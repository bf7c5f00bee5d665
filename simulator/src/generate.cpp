// Synthetic, deterministic data sets in the shapes (and quirks) of the API documents.
#include <cstdio>
#include <random>

#include "acmon/core/time.hpp"
#include "acmon/sim/simulator.hpp"

namespace acmon::sim {

using nlohmann::json;

namespace {

std::string zoneless(UnixTime t) {
  std::string s = format_rfc3339(t);
  s[10] = ' ';
  s.pop_back();
  return s;
}

std::string padded(const char* prefix, std::uint64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%08llu", prefix, static_cast<unsigned long long>(n));
  return buf;
}

}  // namespace

json generate(const json& spec) {
  const std::string account = spec.value("account", "LTAIsimulator");
  const auto now = spec.value("now", SystemClock().now());
  std::mt19937_64 rng(spec.value("seed", std::uint64_t{1}));
  auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  json out = {{"accounts", json::array({{{"access_key_id", account},
                                         {"access_key_secret", spec.value("secret", "simulator-secret")}}})}};
  std::uint64_t serial = 0;

  json smc = json::array();
  for (std::int64_t i = 0; i < spec.value("smc", 0); ++i) {
    const auto ttl_days = uniform(1, 90);
    const auto created = now - uniform(0, ttl_days * 86400 + 86400 * 5);
    const auto count = uniform(1, 1000);
    const auto used = uniform(0, count);
    const bool expired = created + ttl_days * 86400 <= now;
    smc.push_back({{"_account", account},
                   {"AccessTokenId", padded("at-gen", ++serial)},
                   {"TimeToLiveInDays", std::to_string(ttl_days)},
                   {"Count", std::to_string(count)},
                   {"RegisteredCount", std::to_string(used)},
                   {"CreationTime", format_rfc3339(created)},
                   {"Status", expired ? "expired" : (used > 0 ? "activated" : "unactivated")},
                   {"Name", "migration-" + std::to_string(i % 97)},
                   {"Description", "generated activation code"}});
  }
  out["smc"] = std::move(smc);

  json ecs = json::array();
  if (spec.contains("ecs")) {
    const auto& e = spec["ecs"];
    for (const auto& region : e.value("regions", json::array({"cn-hangzhou"}))) {
      for (std::int64_t i = 0; i < e.value("per_region", 0); ++i) {
        const auto ttl_hours = uniform(1, 24 * 30);
        const auto created = now - uniform(0, ttl_hours * 3600 + 7200);
        const auto limit = uniform(1, 1000);
        const auto used = uniform(0, limit);
        const bool as_strings = i % 2 == 0;  // the document's sample sends numbers as strings
        auto num = [&](std::int64_t v) { return as_strings ? json(std::to_string(v)) : json(v); };
        const bool disabled = uniform(0, 19) == 0;
        ecs.push_back({{"_account", account},
                       {"_region", region},
                       {"ActivationId", padded("4ECEEE12-SIM-", ++serial)},
                       {"InstanceName", "hybrid-" + std::to_string(i % 31)},
                       {"Description", "generated activation code"},
                       {"InstanceCount", num(limit)},
                       {"RegisteredCount", num(used)},
                       {"DeregisteredCount", num(uniform(0, used))},
                       {"CreationTime", format_rfc3339(created)},
                       {"TimeToLiveInHours", num(ttl_hours)},
                       {"Disabled", as_strings ? json(disabled ? "true" : "false") : json(disabled)},
                       {"IpAddressRange", "0.0.0.0/0"}});
      }
    }
  }
  out["ecs"] = std::move(ecs);

  json polardb = json::array();
  json orders = json::array();
  if (spec.contains("polardb")) {
    const auto& p = spec["polardb"];
    for (const auto& order : p.value("orders", json::array({"2233000000001"}))) {
      orders.push_back({{"_account", account}, {"AliyunOrderId", order}});
      for (std::int64_t i = 0; i < p.value("per_order", 0); ++i) {
        const auto created = now - uniform(86400, 400 * 86400);
        const auto expires = created + uniform(30, 3 * 365) * 86400;
        polardb.push_back({{"_account", account},
                           {"_order", order},
                           {"Id", static_cast<std::int64_t>(++serial)},
                           {"Name", "polardb-" + std::to_string(i)},
                           {"Description", "generated activation code"},
                           {"GmtCreated", zoneless(created) + "\n"},
                           {"GmtModified", zoneless(created) + "\n"},
                           {"ActivateAt", zoneless(created) + "\n"},
                           {"ExpireAt", zoneless(expires) + "\n"},
                           {"MacAddress", "12:34:56:78:98:00"},
                           {"SystemIdentifier", "\t\n" + std::to_string(1234567890123456LL + i)}});
      }
    }
  }
  out["polardb"] = std::move(polardb);
  out["orders"] = std::move(orders);
  return out;
}

}  // namespace acmon::sim
