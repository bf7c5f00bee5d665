// "Complete or error" for both paging styles. A listing that visibly moves while it is read fails
// with pass.changed set; Collector::list decides whether to read it again.
#include "pager.hpp"

#include <string>
#include <unordered_set>
#include <vector>

namespace acmon::collectors::detail {

using nlohmann::json;

namespace {

// Errors say which page; the caller knows the scope (Scope::describe()).
Error at_page(Error e, int page) {
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

// Adds a page's codes, refusing an id seen on an earlier page (the list shifted under us).
Result<void> add_codes(Listing& out, std::unordered_set<std::string>& seen, std::vector<model::Code> page_codes) {
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

// Parses a page's items and adds them; a repeated id marks the pass changed.
Result<void> take_items(const ProductApi& api, const model::Scope& scope, int utc_offset, const json& items, Pass& pass,
                        std::unordered_set<std::string>& seen, int page) {
  std::vector<model::Code> codes;
  for (const auto& item : items) {
    auto c = api.parse(item, scope, utc_offset);
    if (!c) {
      return at_page(c.error(), page);
    }
    codes.push_back(std::move(*c));
  }
  if (auto r = add_codes(pass.listing, seen, std::move(codes)); !r) {
    pass.changed = true;
    return at_page(r.error(), page);
  }
  return {};
}

// A first page that says the discovered region has no such API. Only the first page can say so:
// later, the same answer means the listing broke off, and taking it as "no codes" would delete
// every code of the region.
bool unsupported_here(const ProductApi& api, bool discovered, int page, const Error& e) {
  return page == 1 && discovered && api.unsupported_code != nullptr && e.code == api.unsupported_code;
}

// Fetches one page and counts it. nullopt: the region has no such API (an empty, complete listing).
Result<std::optional<json>> fetch_page(const ProductApi& api, bool discovered, int page, const FetchPage& fetch,
                                       const signing::Params& params, Listing& out) {
  auto doc = fetch(params);
  ++out.pages;
  if (!doc) {
    if (unsupported_here(api, discovered, page, doc.error())) {
      return std::optional<json>{};
    }
    return at_page(doc.error(), page);
  }
  return std::optional<json>{std::move(*doc)};
}

// PageNumber from 1 until the items reach the total; an empty page ends it early.
Result<Listing> by_page_number(const ProductApi& api, const model::Scope& scope, int utc_offset, bool discovered,
                               const FetchPage& fetch, Pass& pass) {
  Listing& out = pass.listing;
  std::unordered_set<std::string> seen;
  std::optional<std::int64_t> total;
  for (int page = 1; page <= k_max_pages; ++page) {
    signing::Params params = api.scope_params(scope);
    params["PageNumber"] = std::to_string(page);
    params[api.size_param] = std::to_string(api.page_size);
    ACMON_TRY(fetched, fetch_page(api, discovered, page, fetch, params, out));
    if (!*fetched) {
      return std::move(out);
    }
    const json& doc = **fetched;
    auto t = read_total(doc, api.total_field);
    const json* items = read_array(doc, api.items_field);
    if (!t || items == nullptr) {
      return at_page(make_error(ErrorKind::parse,
                                std::string("the response lacks ") + api.total_field + " or " + api.items_field + "[]"),
                     page);
    }
    if (*t < 0) {
      return at_page(make_error(ErrorKind::parse, std::string(api.total_field) + " is negative"), page);
    }
    if (total && *total != *t) {
      pass.changed = true;
      return at_page(
          make_error(ErrorKind::parse, std::string(api.total_field) + " changed from " + std::to_string(*total) +
                                           " to " + std::to_string(*t) + " while paging; the listing is not trusted"),
          page);
    }
    total = *t;
    if (auto r = take_items(api, scope, utc_offset, *items, pass, seen, page); !r) {
      return r.error();
    }
    if (static_cast<std::int64_t>(out.codes.size()) >= *total || items->empty()) {
      break;
    }
  }
  if (static_cast<std::int64_t>(out.codes.size()) != total.value_or(0)) {
    pass.changed = true;
    return at_page(
        make_error(ErrorKind::parse, "listing incomplete: read " + std::to_string(out.codes.size()) + " codes but " +
                                         api.total_field + " is " + std::to_string(total.value_or(0))),
        0);
  }
  return std::move(out);
}

// NextToken until it comes back empty, and only then: an empty page that still carries a token is
// followed, not taken as the end; a token that repeats an earlier one fails the listing.
Result<Listing> by_next_token(const ProductApi& api, const model::Scope& scope, int utc_offset, bool discovered,
                              const FetchPage& fetch, Pass& pass) {
  Listing& out = pass.listing;
  std::unordered_set<std::string> seen;
  std::unordered_set<std::string> tokens;
  std::string token;
  for (int page = 1;; ++page) {
    if (page > k_max_pages) {
      return at_page(make_error(ErrorKind::parse, "more than " + std::to_string(k_max_pages) + " pages; giving up"), 0);
    }
    signing::Params params = api.scope_params(scope);
    params[api.size_param] = std::to_string(api.page_size);
    if (!token.empty()) {
      params["NextToken"] = token;
    }
    ACMON_TRY(fetched, fetch_page(api, discovered, page, fetch, params, out));
    if (!*fetched) {
      return std::move(out);
    }
    const json& doc = **fetched;
    const json* items = read_array(doc, api.items_field);
    if (items == nullptr) {
      return at_page(make_error(ErrorKind::parse, std::string("the response lacks ") + api.items_field + "[]"), page);
    }
    if (auto r = take_items(api, scope, utc_offset, *items, pass, seen, page); !r) {
      return r.error();
    }
    std::string next;
    if (auto it = doc.find("NextToken"); it != doc.end() && !it->is_null()) {
      if (!it->is_string()) {
        return at_page(make_error(ErrorKind::parse, "NextToken is not a string"), page);
      }
      next = it->get<std::string>();
    }
    if (next.empty()) {
      break;
    }
    if (!tokens.insert(next).second) {
      return at_page(make_error(ErrorKind::parse, "NextToken repeated an earlier one; the listing is not trusted"),
                     page);
    }
    token = std::move(next);
  }
  return std::move(out);
}

}  // namespace

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

Result<Listing> read_pages(const ProductApi& api, const model::Scope& scope, int utc_offset, bool discovered,
                           const FetchPage& fetch, Pass& pass) {
  switch (api.paging) {
    case Paging::page_number: return by_page_number(api, scope, utc_offset, discovered, fetch, pass);
    case Paging::next_token: return by_next_token(api, scope, utc_offset, discovered, fetch, pass);
  }
  return make_error(ErrorKind::usage, "unknown paging style");
}

}  // namespace acmon::collectors::detail
