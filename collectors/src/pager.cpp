// "Complete or error" for both paging styles. A listing that visibly moves while it is read fails
// with pass.changed set; Collector::list decides whether to read it again.
#include "pager.hpp"

#include "acmon/collectors/id_table.hpp"
#include "acmon/core/api.hpp"
#include "acmon/core/text.hpp"

#include <algorithm>
#include <charconv>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace acmon::collectors::detail {

using nlohmann::json;
using simdjson::dom::array;

namespace {

// Errors say which page; the caller knows the scope (Scope::describe()).
Error at_page(Error e, int page) {
  if (page > 0) {
    e.message = "page " + std::to_string(page) + ": " + e.message;
  }
  return e;
}

Result<std::int64_t> read_total(Item doc, const char* field) {
  Item v;
  if (doc[field].get(v) == simdjson::SUCCESS) {
    std::int64_t n = 0;
    if (v.get(n) == simdjson::SUCCESS) {
      return n;
    }
    std::string_view s;
    if (v.get(s) == simdjson::SUCCESS) {
      s = trim(s);
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) {
        return n;
      }
    }
  }
  return make_error(ErrorKind::parse, std::string("the response has no numeric ") + field);
}

// The most codes a pass reserves room for before it has read them: a total from the answer is
// only a hint, and a hostile one must not make acmon allocate for a billion codes.
constexpr std::int64_t k_max_reserve = 200000;

std::size_t room_for(std::int64_t expected) {
  return static_cast<std::size_t>(std::clamp<std::int64_t>(expected, 0, k_max_reserve));
}

// Parses a page's items into the listing. A page never holds more items than the page size asked
// for: one that does is not the page that was asked for (its items are not trusted to be the
// listing's), and a hostile one could make the listing as large as it likes. An id already listed
// on an earlier page fails the pass at once: the list shifted while it was read, or the cloud
// answered a page again (one that ignores PageNumber, or hands out new tokens for the same page),
// and reading on to the end could take up to k_max_pages requests. An id twice on one page fails
// the listing: no movement explains that.
Result<void> take_items(const ProductApi& api, const model::Scope& scope, int utc_offset, array items, Pass& pass,
                        IdTable& ids, int page) {
  Listing& out = pass.listing;
  if (const std::size_t n = items.size(); n > static_cast<std::size_t>(api.page_size)) {
    return at_page(
        make_error(ErrorKind::parse, std::to_string(n) + " items, more than the " + std::to_string(api.page_size) +
                                         " asked for by " + api.size_param + "; the listing is not trusted"),
        page);
  }
  const std::size_t first = out.codes.size();
  for (const Item item : items) {
    auto c = api.parse(item, scope, utc_offset);
    if (!c) {
      return at_page(c.error(), page);
    }
    out.codes.push_back(std::move(*c));
    switch (ids.add(out.codes, out.codes.size() - 1)) {
      case IdTable::Found::added: break;
      case IdTable::Found::repeat:
        if (ids.earlier() >= first) {
          // Not something a list that moves between pages can do: the page itself is wrong.
          return at_page(make_error(ErrorKind::parse, "code " + out.codes.back().id +
                                                          " appears twice on the page; the listing is not trusted"),
                         page);
        }
        pass.changed = true;
        return at_page(make_error(ErrorKind::parse, "code " + out.codes.back().id +
                                                        " appeared on two pages: the list changed while it was "
                                                        "read; the listing is not trusted"),
                       page);
      case IdTable::Found::flood:
        return at_page(make_error(ErrorKind::parse,
                                  "the ids collide in the table that finds repeats far more than any listing's "
                                  "could; the listing is not trusted"),
                       page);
    }
  }
  return {};
}

// A first page that says the discovered region has no such API. Only the first page can say so:
// later, the same answer means the listing broke off, and taking it as "no codes" would delete
// every code of the region.
bool unsupported_here(const ProductApi& api, bool discovered, int page, const Error& e) {
  return page == 1 && discovered && api.unsupported_code != nullptr && e.code == api.unsupported_code;
}

// Fetches one page, counts it and reads it into parser. nullopt: the region has no such API (an
// empty, complete listing, with the answer kept in pass.unsupported). The document lives in parser
// until its next page.
Result<std::optional<Item>> fetch_page(const ProductApi& api, bool discovered, int page, const FetchPage& fetch,
                                       const signing::Params& params, Pass& pass, simdjson::dom::parser& parser) {
  auto body = fetch(params);
  ++pass.listing.pages;
  if (!body) {
    if (unsupported_here(api, discovered, page, body.error())) {
      pass.unsupported = body.error();
      return std::optional<Item>{};
    }
    return at_page(body.error(), page);
  }
  Item doc;
  if (const auto err = parser.parse(*body).get(doc); err != simdjson::SUCCESS) {
    return at_page(make_error(ErrorKind::parse, std::string("invalid JSON: ") + simdjson::error_message(err)), page);
  }
  return std::optional<Item>{doc};
}

// PageNumber from 1 until the items reach the total; an empty page ends it early.
Result<Listing> by_page_number(const ProductApi& api, const model::Scope& scope, int utc_offset, bool discovered,
                               const FetchPage& fetch, Pass& pass, simdjson::dom::parser& parser) {
  Listing& out = pass.listing;
  IdTable ids;
  std::optional<std::int64_t> total;
  for (int page = 1; page <= k_max_pages; ++page) {
    signing::Params params = api.scope_params(scope);
    params["PageNumber"] = std::to_string(page);
    params[api.size_param] = std::to_string(api.page_size);
    ACMON_TRY(fetched, fetch_page(api, discovered, page, fetch, params, pass, parser));
    if (!*fetched) {
      return std::move(out);
    }
    const Item doc = **fetched;
    auto t = read_total(doc, api.total_field);
    const auto items = page_array(doc, api.items_field);
    if (!items) {
      // An error document answered under a success status (api::check_answer already refuses
      // Throttling* and a Code without a RequestId): the API error it names, not a page that lacks
      // fields.
      if (auto e = api::error_document(doc, 200)) {
        return at_page(*e, page);
      }
    }
    if (!t || !items) {
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
    if (!total) {
      // More codes than the pages acmon reads at most could hold: fail now, not after k_max_pages
      // requests.
      if (*t > static_cast<std::int64_t>(k_max_pages) * api.page_size) {
        return at_page(
            make_error(ErrorKind::parse, std::string(api.total_field) + " " + std::to_string(*t) +
                                             " would take more than " + std::to_string(k_max_pages) + " pages of " +
                                             std::to_string(api.page_size) + "; the listing is not trusted"),
            page);
      }
      out.codes.reserve(room_for(*t));
      ids = IdTable(room_for(*t));
    }
    total = *t;
    if (auto r = take_items(api, scope, utc_offset, *items, pass, ids, page); !r) {
      return r.error();
    }
    if (static_cast<std::int64_t>(out.codes.size()) >= *total || items->size() == 0) {
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

// The longest NextToken taken. The cloud's are tens of bytes; one of megabytes would be sent back in
// every request after it and, kept to find a repeat, held up to k_max_pages times.
constexpr std::size_t k_max_token = 4096;

// Empty pages in a row that still carry a token, at most. The cloud may answer one (a page whose
// items were all filtered out); one answering nothing but would be followed to k_max_pages.
constexpr int k_max_empty_pages = 10;

// NextToken until it comes back empty, and only then: an empty page that still carries a token is
// followed, not taken as the end (up to k_max_empty_pages in a row); a token that repeats an
// earlier one fails the listing.
Result<Listing> by_next_token(const ProductApi& api, const model::Scope& scope, int utc_offset, bool discovered,
                              const FetchPage& fetch, Pass& pass, simdjson::dom::parser& parser,
                              std::int64_t expected) {
  Listing& out = pass.listing;
  out.codes.reserve(room_for(expected));
  IdTable ids(room_for(expected));
  std::unordered_set<std::string> tokens;
  std::string token;
  int empty_in_a_row = 0;
  for (int page = 1;; ++page) {
    if (page > k_max_pages) {
      return at_page(make_error(ErrorKind::parse, "more than " + std::to_string(k_max_pages) + " pages; giving up"), 0);
    }
    signing::Params params = api.scope_params(scope);
    params[api.size_param] = std::to_string(api.page_size);
    if (!token.empty()) {
      params["NextToken"] = token;
    }
    ACMON_TRY(fetched, fetch_page(api, discovered, page, fetch, params, pass, parser));
    if (!*fetched) {
      return std::move(out);
    }
    const Item doc = **fetched;
    const auto items = page_array(doc, api.items_field);
    if (!items) {
      if (auto e = api::error_document(doc, 200)) {  // as above
        return at_page(*e, page);
      }
      return at_page(make_error(ErrorKind::parse, std::string("the response lacks ") + api.items_field + "[]"), page);
    }
    if (auto r = take_items(api, scope, utc_offset, *items, pass, ids, page); !r) {
      return r.error();
    }
    std::string next;
    if (Item t; doc["NextToken"].get(t) == simdjson::SUCCESS && !t.is_null()) {
      std::string_view s;
      if (t.get(s) != simdjson::SUCCESS) {
        return at_page(make_error(ErrorKind::parse, "NextToken is not a string"), page);
      }
      // Sent back with the next request and kept to find a repeat: a bounded size.
      if (s.size() > k_max_token) {
        return at_page(
            make_error(ErrorKind::parse, "NextToken is " + std::to_string(s.size()) + " bytes, over the limit of " +
                                             std::to_string(k_max_token) + "; the listing is not trusted"),
            page);
      }
      next = s;
    }
    if (next.empty()) {
      break;
    }
    empty_in_a_row = items->size() == 0 ? empty_in_a_row + 1 : 0;
    if (empty_in_a_row > k_max_empty_pages) {
      return at_page(make_error(ErrorKind::parse, std::to_string(empty_in_a_row) +
                                                      " empty pages in a row, each with a NextToken; the listing "
                                                      "is not trusted"),
                     page);
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

std::optional<array> page_array(Item doc, const char* field) {
  Item v;
  if (doc[field].get(v) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  array a;
  if (v.get(a) == simdjson::SUCCESS) {
    return a;
  }
  simdjson::dom::object o;
  if (v.get(o) == simdjson::SUCCESS && o.size() == 1 && (*o.begin()).value.get(a) == simdjson::SUCCESS) {
    return a;
  }
  return std::nullopt;
}

Result<Listing> read_pages(const ProductApi& api, const model::Scope& scope, int utc_offset, bool discovered,
                           const FetchPage& fetch, Pass& pass, std::int64_t expected) {
  // One parser for every page of the pass: its buffers are allocated once, for the first page.
  simdjson::dom::parser parser;
  switch (api.paging) {
    case Paging::page_number: return by_page_number(api, scope, utc_offset, discovered, fetch, pass, parser);
    case Paging::next_token: return by_next_token(api, scope, utc_offset, discovered, fetch, pass, parser, expected);
  }
  return make_error(ErrorKind::usage, "unknown paging style");
}

}  // namespace acmon::collectors::detail
