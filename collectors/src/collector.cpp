#include <algorithm>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "acmon/collectors/collector.hpp"

#include "acmon/core/pace.hpp"
#include "acmon/core/text.hpp"
#include "pager.hpp"

namespace acmon::collectors {

using config::Product;
using model::Scope;
using nlohmann::json;

std::string default_endpoint(Product p, const std::string& region) {
  switch (p) {
    case Product::smc: return "https://smc.aliyuncs.com";
    case Product::ecs: return region.empty() ? "https://ecs.aliyuncs.com" : "https://ecs." + region + ".aliyuncs.com";
    case Product::polardb: return "https://polardb.aliyuncs.com";
  }
  return {};
}

Result<model::Code> parse_item_text(std::string_view text, const Scope& scope, int utc_offset) {
  const detail::ProductApi& api = detail::product_api(scope.product);
  return detail::parse_text(text, [&](detail::Item item) { return api.parse(item, scope, utc_offset); });
}

Collector::Collector(config::Collector cfg, api::Client& client, CredentialProvider& credentials, api::Pacer* pacer,
                     std::string organization)
    : m_cfg(std::move(cfg)),
      m_client(client),
      m_credentials(credentials),
      m_pacer(pacer),
      m_organization(std::move(organization)) {}

api::Call Collector::make_call(const std::string& action, const std::string& region) const {
  api::Call c;
  c.product = config::to_string(m_cfg.product);
  c.action = action;
  c.signature = m_cfg.signature;
  c.timeout = std::chrono::milliseconds(m_cfg.timeout * 1000);
  c.version = config::api_version(m_cfg.product);
  c.endpoint = m_cfg.endpoint.empty() ? default_endpoint(m_cfg.product, region) : m_cfg.endpoint;
  if (m_pacer != nullptr) {
    c.pacer = m_pacer;
    c.rate = m_cfg.rate_limit;
    c.pace_key = api::pace_key(m_cfg.account, action, region);
  }
  return c;
}

Result<std::vector<Scope>> Collector::scopes() {
  std::vector<Scope> out;
  Scope base;
  base.collector = m_cfg.name;
  base.product = m_cfg.product;
  base.account = m_cfg.account;
  base.organization = m_organization;
  switch (m_cfg.product) {
    case Product::smc: out.push_back(base); break;
    case Product::polardb:
      for (const auto& o : m_cfg.order_ids) {
        Scope s = base;
        s.order_id = o;
        out.push_back(s);
      }
      break;
    case Product::ecs: {
      std::vector<std::string> regions = m_cfg.regions;
      if (regions.size() == 1 && regions[0] == "*") {
        auto doc = m_client.call(make_call("DescribeRegions"), m_credentials);
        if (!doc) {
          Error e = doc.error();
          e.message = m_cfg.name + " (account " + m_cfg.account + ", region discovery): " + e.message;
          return e;
        }
        const json* list = nullptr;
        if (auto it = doc->find("Regions"); it != doc->end() && it->is_object()) {
          list = detail::read_array(*doc, "Regions");
        }
        if (list == nullptr) {
          return make_error(ErrorKind::parse, m_cfg.name + ": DescribeRegions answered without Regions.Region[]");
        }
        regions.clear();
        for (const auto& r : *list) {
          if (r.is_object() && r.contains("RegionId") && r["RegionId"].is_string()) {
            // A region id becomes part of the endpoint's host: one that is not shaped like a
            // region id would send a signed request elsewhere, so it is skipped, not used.
            const auto& id = r["RegionId"].get_ref<const std::string&>();
            if (config::valid_region_id(id)) {
              regions.push_back(id);
            } else {
              spdlog::warn("{}: DescribeRegions named '{}', which is not a region id; skipped", m_cfg.name,
                           cap_text(id, 80));
            }
          }
        }
      }
      for (const auto& r : regions) {
        Scope s = base;
        s.region = r;
        out.push_back(s);
      }
      break;
    }
  }
  return out;
}

Result<Listing> Collector::list(const Scope& scope, int* pages_read, const std::unordered_set<std::string>* known) {
  if (known == nullptr) {
    return list(scope, pages_read, MissingLive(), 0);
  }
  return list(
      scope, pages_read,
      [known](const std::vector<model::Code>& listed) -> Result<std::vector<std::string>> {
        std::unordered_set<std::string_view> held;
        held.reserve(listed.size());
        for (const auto& c : listed) {
          held.insert(c.id);
        }
        std::vector<std::string> lacking;
        for (const auto& id : *known) {
          if (held.count(id) == 0) {
            lacking.push_back(id);
          }
        }
        return lacking;
      },
      known->size());
}

Result<Listing> Collector::list(const Scope& scope, int* pages_read, const MissingLive& missing_live,
                                std::size_t expected) {
  int pages = 0;
  std::optional<Listing> previous;  // the last complete pass, when it lacked live codes
  Result<Listing> result = make_error(ErrorKind::usage, "no pass was made");
  for (int pass = 1; pass <= k_max_passes; ++pass) {
    detail::Pass work;
    result = list_pass(scope, work, expected);
    pages += work.listing.pages;
    if (!result) {
      if (work.changed && pass < k_max_passes) {
        continue;  // the list moved while it was read: read it again from the first page
      }
      break;
    }
    if (!missing_live) {
      break;
    }
    auto lacking = missing_live(result->codes);
    if (!lacking) {
      result = make_error(ErrorKind::db, "the stored codes could not be read: " + lacking.error().message);
      break;
    }
    if (lacking->empty()) {
      break;
    }
    if (work.unsupported) {
      // "No such API here" says nothing about codes the store holds as live in this region: they
      // were listed there before, so the answer is doubtful, and two passes lacking them would
      // mark every one of them deleted. The run fails instead.
      Error e = *work.unsupported;
      e.message = "region " + scope.region + " answered " + e.code + " on page 1 while " +
                  std::to_string(lacking->size()) + " live code(s) are stored for it: not taken as an empty listing" +
                  (e.message.empty() ? std::string() : " (" + e.message + ")");
      result = std::move(e);
      break;
    }
    if (!previous) {
      // One pass alone cannot tell a deleted code from a shifted one (a deletion and an addition
      // between two pages move a live code past the reader): the scope is listed again.
      previous = std::move(*result);
      // The error stands only if no later pass is complete.
      result =
          make_error(ErrorKind::parse,
                     std::to_string(lacking->size()) + " known code(s) missing from the only complete listing of " +
                         std::to_string(pass) + " passes: no code is marked deleted by one listing alone");
      continue;
    }
    // Two consecutive complete passes: a live code is gone only when both lack it. One that only
    // this pass lacks is kept live with its record from the pass before (it is judged again by the
    // next run); one that only the previous pass lacked is in this pass. The codes carried are
    // absent from this pass, so each id is still listed once.
    const std::unordered_set<std::string_view> doubtful(lacking->begin(), lacking->end());
    std::size_t kept = 0;
    for (auto& c : previous->codes) {
      if (doubtful.count(c.id) != 0) {
        result->codes.push_back(std::move(c));
        ++kept;
      }
    }
    if (kept != 0) {
      spdlog::info(
          "{}: {} live code(s) missing from the second of two complete listings only: kept until two "
          "consecutive listings lack them",
          scope.describe(), kept);
    }
    break;
  }
  if (pages_read != nullptr) {
    *pages_read = pages;
  }
  if (result) {
    result->pages = pages;
  }
  return result;
}

Result<Listing> Collector::list_pass(const Scope& scope, detail::Pass& pass, std::size_t expected) {
  // A "*" collector lists only regions that discovery found (the configuration cannot mix "*"
  // with named regions), so for it a region without the API simply has no codes.
  const bool discovered = m_cfg.regions.size() == 1 && m_cfg.regions[0] == "*";
  const detail::ProductApi& api = detail::product_api(scope.product);
  return detail::read_pages(
      api, scope, m_cfg.utc_offset, discovered,
      [&](const signing::Params& params) {
        auto call = make_call(api.action, scope.region);
        call.params = params;
        return m_client.call_body(call, m_credentials);
      },
      pass, static_cast<std::int64_t>(expected));
}

}  // namespace acmon::collectors
