// Collectors: read every page of one scope and return the complete list of codes, or an error —
// never a partial list. They fetch and parse only; storing is the db's work.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <vector>

#include "acmon/core/api.hpp"
#include "acmon/core/config.hpp"
#include "acmon/core/credentials.hpp"
#include "acmon/model/code.hpp"
#include "acmon/model/scope.hpp"

namespace acmon::collectors {

namespace detail {
struct Pass;
}  // namespace detail

struct Listing {
  std::vector<model::Code> codes;
  int pages = 0;
};

// Pages are bounded: a listing never asks for more than this many pages.
constexpr int k_max_pages = 10000;
// Passes over a scope's pages in one listing (re-reads of a list that moved, a confirmation).
constexpr int k_max_passes = 4;

// Parsers of one API item into a Code; errors name the field. Numbers and booleans may come
// as strings; whitespace is trimmed; times per API.md.
Result<model::Code> parse_smc(const nlohmann::json& item, const std::string& account);
Result<model::Code> parse_ecs(const nlohmann::json& item, const std::string& account, const std::string& region);
Result<model::Code> parse_polardb(const nlohmann::json& item, const std::string& account, const std::string& order_id,
                                  int utc_offset);
// One item given as JSON text, read as a list page is read (by simdjson), as an item of scope's
// product (parse_smc and the others read their item's text this way).
Result<model::Code> parse_item_text(std::string_view text, const model::Scope& scope, int utc_offset);

// Everything one collector needs to list its scopes. Thread-safe (it holds no mutable state):
// scopes of one collector may be listed side by side, and discovery may run meanwhile.
class Collector {
 public:
  // pacer (optional, shared by every collector of the process): the rate limit of each account ×
  // API × region (the collector's rate_limit), across every scope that calls it.
  // organization: for a member of an organization, its name (cfg.account is then the member's
  // AccountId); its scopes carry it.
  Collector(config::Collector cfg, api::Client& client, CredentialProvider& credentials, api::Pacer* pacer = nullptr,
            std::string organization = {});

  [[nodiscard]] const config::Collector& config() const { return m_cfg; }

  // The scopes to list. ecs with ["*"] asks DescribeRegions (one API call).
  [[nodiscard]] Result<std::vector<model::Scope>> scopes();
  // One complete listing of one scope, or an error — never a partial list.
  // - A list that visibly moves while it is paged (a changed total, an id on two pages) is read
  //   again from the first page, up to k_max_passes passes.
  // - missing: the ids of the codes the store holds as live for this scope that a complete pass
  //   lacks (Store::live_missing). When the first complete pass lacks any, the scope is listed
  //   again, and a live code is missing from the result only when two consecutive complete passes
  //   both lack it: the result is the second pass plus, with their record from the first, the live
  //   codes only the second lacks (kept live; the next run judges them again). So a list that keeps
  //   changing (codes added and removed meanwhile) still gives a listing after two complete passes.
  //   expected: how many codes the scope had, to size the listing.
  // - known: the same check against the live ids themselves.
  // - A region found by discovery whose first page answers RegionId.ApiNotSupported is an empty,
  //   complete listing while missing finds no live code stored for the scope; with live codes
  //   stored, or on any later page, that answer is an error.
  // pages_read, when given, receives the number of pages requested in all passes, on failure too.
  using MissingLive = std::function<Result<std::vector<std::string>>(const std::vector<model::Code>& listed)>;
  [[nodiscard]] Result<Listing> list(const model::Scope& scope, int* pages_read, const MissingLive& missing,
                                     std::size_t expected);
  [[nodiscard]] Result<Listing> list(const model::Scope& scope, int* pages_read = nullptr,
                                     const std::unordered_set<std::string>* known = nullptr);

 private:
  // One pass over every page of the scope, by its product's paging style.
  Result<Listing> list_pass(const model::Scope& s, detail::Pass& pass, std::size_t expected);
  api::Call make_call(const std::string& action, const std::string& region = "") const;

  config::Collector m_cfg;
  api::Client& m_client;
  CredentialProvider& m_credentials;
  api::Pacer* m_pacer;
  std::string m_organization;
};

// The default endpoint of a product (ecs: per region).
std::string default_endpoint(config::Product p, const std::string& region = "");

}  // namespace acmon::collectors
