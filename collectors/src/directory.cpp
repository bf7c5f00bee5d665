// ListAccounts page by page (PageNumber until TotalCount), and the member's role assumed through the
// management account.
#include "acmon/collectors/directory.hpp"

#include <algorithm>
#include <set>

#include "acmon/core/pace.hpp"
#include "pager.hpp"
#include "parse.hpp"

namespace acmon::collectors {

using detail::Item;

namespace {

constexpr const char* k_version = "2020-03-31";
constexpr int k_page_size = 100;

Error named(const config::Organization& org, const std::string& what, Error e) {
  e.message = "organization " + org.name + ": " + what + ": " + e.message;
  return e;
}

api::Call make_call(const config::Organization& org, const std::string& action, api::Pacer* pacer) {
  api::Call c;
  c.product = "resourcemanager";
  c.endpoint = org.endpoint;
  c.action = action;
  c.version = k_version;
  c.signature = config::SignatureVersion::v1;  // RPC style
  if (pacer != nullptr) {
    c.pacer = pacer;
    c.rate = 10;
    c.pace_key = api::pace_key(org.account, action, "");
  }
  return c;
}

Result<config::Member> read_member(Item item) {
  if (!item.is_object()) {
    return make_error(ErrorKind::parse, "an Account is not a JSON object");
  }
  config::Member m;
  auto id = detail::get_id(item, "AccountId");
  if (!id) {
    return id.error();
  }
  if (!config::valid_account_id(*id)) {
    return make_error(ErrorKind::parse, "AccountId \"" + *id + "\" is not 16 digits");
  }
  m.account_id = *id;
  for (auto [field, out] :
       {std::pair{"DisplayName", &m.display_name}, {"Status", &m.status}, {"FolderId", &m.folder_id}}) {
    auto v = detail::get_string(item, field);
    if (!v) {
      return make_error(ErrorKind::parse, "account " + m.account_id + ": " + v.error().message);
    }
    *out = *v;
  }
  if (m.status.empty()) {
    return make_error(ErrorKind::parse, "account " + m.account_id + " has no Status");
  }
  return m;
}

Result<std::int64_t> read_count(Item doc, const char* field) {
  std::int64_t n = 0;
  if (doc[field].get(n) == simdjson::SUCCESS && n >= 0) {
    return n;
  }
  return make_error(ErrorKind::parse, std::string("the answer has no whole number ") + field);
}

// An answer's body (api::check_answer found it a JSON object) as a document of parser.
Result<Item> read_answer(simdjson::dom::parser& parser, const Result<std::string>& body) {
  if (!body) {
    return body.error();
  }
  Item doc;
  if (const auto err = parser.parse(*body).get(doc); err != simdjson::SUCCESS) {
    return make_error(ErrorKind::parse, std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  return doc;
}

}  // namespace

bool usable_status(const std::string& status) {
  static const std::set<std::string> k_usable{"CreateSuccess", "InviteSuccess", "PromoteSuccess", "PromoteVerifying",
                                              "PromoteFailed"};
  return k_usable.count(status) != 0;
}

Result<Directory> list_directory(const config::Organization& org, api::Client& client, CredentialProvider& management,
                                 api::Pacer* pacer) {
  Directory out;
  simdjson::dom::parser parser;
  auto rd = read_answer(parser, client.call_body(make_call(org, "GetResourceDirectory", pacer), management));
  ++out.pages;
  if (!rd) {
    return named(org, "GetResourceDirectory", rd.error());
  }
  Item dir;
  const bool has_dir = (*rd)["ResourceDirectory"].get(dir) == simdjson::SUCCESS && dir.is_object();
  auto master = !has_dir ? Result<std::string>(make_error(ErrorKind::parse, "no ResourceDirectory"))
                         : detail::get_id(dir, "MasterAccountId");
  if (!master || !config::valid_account_id(*master)) {
    return named(org, "GetResourceDirectory",
                 make_error(ErrorKind::parse, "the answer has no 16-digit ResourceDirectory.MasterAccountId"));
  }
  const auto master_name = detail::get_string(dir, "MasterAccountName");
  std::vector<config::Member> listed;
  std::set<std::string> seen;
  std::int64_t total = -1;
  for (int page = 1;; ++page) {
    if (page > k_max_pages) {
      return named(org, "ListAccounts",
                   make_error(ErrorKind::parse,
                              "more than " + std::to_string(k_max_pages) + " pages: the listing is not trusted"));
    }
    auto call = make_call(org, "ListAccounts", pacer);
    call.params["PageNumber"] = std::to_string(page);
    call.params["PageSize"] = std::to_string(k_page_size);
    auto doc = read_answer(parser, client.call_body(call, management));
    ++out.pages;
    const std::string where = "ListAccounts page " + std::to_string(page);
    if (!doc) {
      return named(org, where, doc.error());
    }
    auto count = read_count(*doc, "TotalCount");
    if (!count) {
      return named(org, where, count.error());
    }
    if (total >= 0 && *count != total) {
      return named(org, where,
                   make_error(ErrorKind::parse, "TotalCount changed from " + std::to_string(total) + " to " +
                                                    std::to_string(*count) + " while the accounts were listed"));
    }
    // More accounts than the pages read at most could hold: fail now, not after k_max_pages
    // requests.
    if (total < 0 && *count > static_cast<std::int64_t>(k_max_pages) * k_page_size) {
      return named(org, where,
                   make_error(ErrorKind::parse, "TotalCount " + std::to_string(*count) + " would take more than " +
                                                    std::to_string(k_max_pages) + " pages of " +
                                                    std::to_string(k_page_size) + ": the listing is not trusted"));
    }
    total = *count;
    std::optional<simdjson::dom::array> items;
    if (Item accounts; (*doc)["Accounts"].get(accounts) == simdjson::SUCCESS && accounts.is_object()) {
      items = detail::page_array(*doc, "Accounts");
    }
    if (!items) {
      return named(org, where, make_error(ErrorKind::parse, "the answer has no Accounts.Account[]"));
    }
    // Not the page asked for, and a hostile one could make the listing as large as it likes.
    if (items->size() > static_cast<std::size_t>(k_page_size)) {
      return named(org, where,
                   make_error(ErrorKind::parse, std::to_string(items->size()) + " accounts, more than the " +
                                                    std::to_string(k_page_size) +
                                                    " asked for by PageSize: the listing is not trusted"));
    }
    for (const Item item : *items) {
      auto m = read_member(item);
      if (!m) {
        return named(org, where, m.error());
      }
      if (!seen.insert(m->account_id).second) {
        return named(org, where,
                     make_error(ErrorKind::parse,
                                "account " + m->account_id + " appeared twice: the list changed while it was read"));
      }
      listed.push_back(std::move(*m));
    }
    if (static_cast<std::int64_t>(listed.size()) >= total) {
      break;
    }
    if (items->size() == 0) {
      return named(org, where,
                   make_error(ErrorKind::parse, "an empty page before TotalCount (" + std::to_string(total) +
                                                    ") accounts were read: the listing is incomplete"));
    }
  }
  if (static_cast<std::int64_t>(listed.size()) != total) {
    return named(org, "ListAccounts",
                 make_error(ErrorKind::parse, std::to_string(listed.size()) + " accounts read, TotalCount says " +
                                                  std::to_string(total)));
  }
  auto is_master = [&](const config::Member& m) { return m.account_id == *master; };
  if (org.include_management) {
    auto it = std::find_if(listed.begin(), listed.end(), is_master);
    config::Member mgmt;
    if (it != listed.end()) {
      mgmt = *it;
    } else {
      mgmt.account_id = *master;
      if (master_name) {
        mgmt.display_name = *master_name;
      }
    }
    mgmt.management = true;
    out.members.push_back(std::move(mgmt));
  }
  for (auto& m : listed) {
    if (is_master(m)) {
      if (!org.include_management) {
        out.skipped.push_back(std::move(m));
      }
    } else if (usable_status(m.status)) {
      out.members.push_back(std::move(m));
    } else {
      out.skipped.push_back(std::move(m));
    }
  }
  return out;
}

std::unique_ptr<CredentialProvider> make_member_credentials(const config::Organization& org,
                                                            const config::Account& management_account,
                                                            std::shared_ptr<CredentialProvider> management,
                                                            const config::Member& member,
                                                            const CredentialOptions& options) {
  std::string who = "member " + member.account_id;
  if (!member.display_name.empty()) {
    who += " (" + member.display_name + ")";
  }
  return make_role_provider(std::move(management), management_account, std::move(who),
                            "acs:ram::" + member.account_id + ":role/" + org.role, options);
}

}  // namespace acmon::collectors
