#include <algorithm>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "acmon/collectors/collector.hpp"
#include "acmon/core/text.hpp"

namespace acmon::collectors {

using config::Product;
using model::Code;
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

namespace {

constexpr int k_smc_page_size = 50;
constexpr int k_ecs_page_size = 50;
constexpr int k_polardb_page_size = 50;

// Errors say which page; the caller knows the scope (Scope::describe()).
Error scoped(const Scope& /*s*/, Error e, int page) {
  if (page > 0) {
    e.message = "page " + std::to_string(page) + ": " + e.message;
  }
  return e;
}

Result<std::int64_t> read_total(const json& doc, const char* field) {
  auto it = doc.find(field);
  if (it != doc.end()) {
    if (it->is_number_integer()) {
      return it->get<std::int64_t>();
    }
    if (it->is_string()) {
      try {
        std::size_t used = 0;
        const std::string s = it->get<std::string>();
        const auto v = std::stoll(s, &used);
        if (used == s.size()) {
          return static_cast<std::int64_t>(v);
        }
      } catch (const std::exception&) {
      }
    }
  }
  return make_error(ErrorKind::parse, std::string("the response has no numeric ") + field);
}

const json* read_array(const json& doc, const char* field) {
  auto it = doc.find(field);
  if (it == doc.end()) {
    return nullptr;
  }
  if (it->is_array()) {
    return &*it;
  }
  // The XML-derived shape some endpoints use: {"AccessTokens": {"AccessToken": [...]}}.
  if (it->is_object() && it->size() == 1 && it->begin()->is_array()) {
    return &*it->begin();
  }
  return nullptr;
}

// Adds a page's codes, refusing an id seen on an earlier page (the list shifted under us).
Result<void> add_codes(Listing& out, std::unordered_set<std::string>& seen, std::vector<Code> page_codes) {
  for (auto& c : page_codes) {
    if (!seen.insert(c.id).second) {
      return make_error(ErrorKind::parse, "code " + c.id +
                                              " appeared on two pages: the list changed while it was read; "
                                              "the listing is not trusted");
    }
    out.codes.push_back(std::move(c));
  }
  return {};
}

}  // namespace

Collector::Collector(config::Collector cfg, api::Client& client, CredentialProvider& credentials)
    : m_cfg(std::move(cfg)), m_client(client), m_credentials(credentials) {}

api::Call Collector::make_call(const std::string& action, const std::string& region) const {
  api::Call c;
  c.product = config::to_string(m_cfg.product);
  c.action = action;
  c.signature = m_cfg.signature;
  c.timeout = std::chrono::milliseconds(m_cfg.timeout * 1000);
  switch (m_cfg.product) {
    case Product::smc: c.version = "2019-06-01"; break;
    case Product::ecs: c.version = "2014-05-26"; break;
    case Product::polardb: c.version = "2017-08-01"; break;
  }
  c.endpoint = m_cfg.endpoint.empty() ? default_endpoint(m_cfg.product, region) : m_cfg.endpoint;
  return c;
}

Result<std::vector<Scope>> Collector::scopes() {
  std::vector<Scope> out;
  Scope base;
  base.collector = m_cfg.name;
  base.product = m_cfg.product;
  base.account = m_cfg.account;
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
          list = read_array(*doc, "Regions");
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
  int pages = 0;
  std::optional<std::vector<std::string>> previous;  // the ids of the last complete pass, sorted
  Result<Listing> result = make_error(ErrorKind::usage, "no pass was made");
  for (int pass = 1; pass <= k_max_passes; ++pass) {
    Pass work;
    result = list_pass(scope, work);
    pages += work.listing.pages;
    if (!result) {
      if (work.changed && pass < k_max_passes) {
        continue;  // the list moved while it was read: read it again from the first page
      }
      break;
    }
    if (known == nullptr) {
      break;
    }
    std::vector<std::string> ids;
    ids.reserve(result->codes.size());
    for (const auto& c : result->codes) {
      ids.push_back(c.id);
    }
    std::sort(ids.begin(), ids.end());
    // A code this pass lacks is gone only if the pass agrees with the one before it: a deletion
    // and an addition between two pages shift a live code out of a PageNumber listing unseen.
    const auto missing =
        static_cast<std::size_t>(std::count_if(known->begin(), known->end(), [&](const std::string& id) {
          return !std::binary_search(ids.begin(), ids.end(), id);
        }));
    if (missing == 0 || (previous && *previous == ids)) {
      break;
    }
    previous = std::move(ids);
    result = make_error(ErrorKind::parse, std::to_string(missing) +
                                              " known code(s) missing, and the list changed "
                                              "between " +
                                              std::to_string(pass) +
                                              " complete listings: no code is marked deleted until two agree");
  }
  if (pages_read != nullptr) {
    *pages_read = pages;
  }
  if (result) {
    result->pages = pages;
  }
  return result;
}

Result<Listing> Collector::list_pass(const Scope& scope, Pass& pass) {
  switch (scope.product) {
    case Product::smc:
      return list_by_page_number(
          scope, pass, {"ListAccessTokens", {}, "TotalCount", "AccessTokens", k_smc_page_size, [&](const json& item) {
                          return parse_smc(item, scope.account);
                        }});
    case Product::ecs: return list_ecs(scope, pass);
    case Product::polardb:
      return list_by_page_number(
          scope, pass,
          {"DescribeActivationCodes",
           {{"AliyunOrderId", scope.order_id}},
           "TotalRecordCount",
           "Items",
           k_polardb_page_size,
           [&](const json& item) { return parse_polardb(item, scope.account, scope.order_id, m_cfg.utc_offset); }});
  }
  return make_error(ErrorKind::usage, "unknown product");
}

Result<Listing> Collector::list_by_page_number(const Scope& s, Pass& pass, const PageNumberListing& how) {
  Listing& out = pass.listing;
  std::unordered_set<std::string> seen;
  std::optional<std::int64_t> total;
  for (int page = 1; page <= k_max_pages; ++page) {
    auto call = make_call(how.action);
    call.params = how.params;
    call.params["PageNumber"] = std::to_string(page);
    call.params["PageSize"] = std::to_string(how.page_size);
    auto doc = m_client.call(call, m_credentials);
    ++out.pages;
    if (!doc) {
      return scoped(s, doc.error(), page);
    }
    auto t = read_total(*doc, how.total_field);
    const json* items = read_array(*doc, how.items_field);
    if (!t || items == nullptr) {
      return scoped(s,
                    make_error(ErrorKind::parse,
                               std::string("the response lacks ") + how.total_field + " or " + how.items_field + "[]"),
                    page);
    }
    if (*t < 0) {
      return scoped(s, make_error(ErrorKind::parse, std::string(how.total_field) + " is negative"), page);
    }
    if (total && *total != *t) {
      pass.changed = true;
      return scoped(
          s,
          make_error(ErrorKind::parse, std::string(how.total_field) + " changed from " + std::to_string(*total) +
                                           " to " + std::to_string(*t) + " while paging; the listing is not trusted"),
          page);
    }
    total = *t;
    std::vector<Code> codes;
    for (const auto& item : *items) {
      auto c = how.parse(item);
      if (!c) {
        return scoped(s, c.error(), page);
      }
      codes.push_back(std::move(*c));
    }
    if (auto r = add_codes(out, seen, std::move(codes)); !r) {
      pass.changed = true;
      return scoped(s, r.error(), page);
    }
    if (static_cast<std::int64_t>(out.codes.size()) >= *total || items->empty()) {
      break;
    }
  }
  if (static_cast<std::int64_t>(out.codes.size()) != total.value_or(0)) {
    pass.changed = true;
    return scoped(
        s,
        make_error(ErrorKind::parse, "listing incomplete: read " + std::to_string(out.codes.size()) + " codes but " +
                                         how.total_field + " is " + std::to_string(total.value_or(0))),
        0);
  }
  return std::move(out);
}

Result<Listing> Collector::list_ecs(const Scope& s, Pass& pass) {
  Listing& out = pass.listing;
  std::unordered_set<std::string> seen;
  std::unordered_set<std::string> tokens;
  std::string token;
  // A "*" collector lists only regions that discovery found (the configuration cannot mix "*"
  // with named regions), so for it a region without the API simply has no codes.
  const bool discovered = m_cfg.regions.size() == 1 && m_cfg.regions[0] == "*";
  for (int page = 1;; ++page) {
    if (page > k_max_pages) {
      return scoped(s, make_error(ErrorKind::parse, "more than " + std::to_string(k_max_pages) + " pages; giving up"),
                    0);
    }
    auto call = make_call("DescribeActivations", s.region);
    call.params = {{"RegionId", s.region}, {"MaxResults", std::to_string(k_ecs_page_size)}};
    if (!token.empty()) {
      call.params["NextToken"] = token;
    }
    auto doc = m_client.call(call, m_credentials);
    ++out.pages;
    if (!doc) {
      // Only the first page can say the region has no such API: later, the same answer means the
      // listing broke off, and taking it as "no codes" would delete every code of the region.
      if (page == 1 && discovered && doc.error().code == "RegionId.ApiNotSupported") {
        return std::move(out);
      }
      return scoped(s, doc.error(), page);
    }
    const json* items = read_array(*doc, "ActivationList");
    if (items == nullptr) {
      return scoped(s, make_error(ErrorKind::parse, "the response lacks ActivationList[]"), page);
    }
    std::vector<Code> codes;
    for (const auto& item : *items) {
      auto c = parse_ecs(item, s.account, s.region);
      if (!c) {
        return scoped(s, c.error(), page);
      }
      codes.push_back(std::move(*c));
    }
    if (auto r = add_codes(out, seen, std::move(codes)); !r) {
      pass.changed = true;
      return scoped(s, r.error(), page);
    }
    std::string next;
    if (auto it = doc->find("NextToken"); it != doc->end() && !it->is_null()) {
      if (!it->is_string()) {
        return scoped(s, make_error(ErrorKind::parse, "NextToken is not a string"), page);
      }
      next = it->get<std::string>();
    }
    // The listing ends when NextToken comes back empty, and only then: an empty page that still
    // carries a token is followed, not taken as the end.
    if (next.empty()) {
      break;
    }
    if (!tokens.insert(next).second) {
      return scoped(s, make_error(ErrorKind::parse, "NextToken repeated an earlier one; the listing is not trusted"),
                    page);
    }
    token = std::move(next);
  }
  return std::move(out);
}

}  // namespace acmon::collectors
