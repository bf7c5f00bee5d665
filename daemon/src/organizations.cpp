#include "acmon/daemon/organizations.hpp"

#include <algorithm>
#include <unordered_set>

#include "acmon/collectors/directory.hpp"

namespace acmon::daemon {

namespace {

// The account ids a listing holds: usable ones, and with_skipped the ones it skipped too.
std::unordered_set<std::string> listed_ids(const collectors::Directory& d, bool with_skipped) {
  std::unordered_set<std::string> out;
  for (const auto& m : d.members) {
    out.insert(m.account_id);
  }
  if (with_skipped) {
    for (const auto& m : d.skipped) {
      out.insert(m.account_id);
    }
  }
  return out;
}

}  // namespace

MemberListing list_members(const config::Organization& org, api::Client& client, CredentialProvider& management,
                           db::Store& store, std::mutex& store_mutex, const Clock& clock, api::Pacer* pacer) {
  MemberListing out;
  auto listed = collectors::list_directory(org, client, management, pacer);
  std::vector<config::Member> stored;
  std::vector<config::Member> kept;  // stored members the first listing held and the second lacks
  if (listed) {
    {
      std::lock_guard lock(store_mutex);
      if (auto previous = store.members(); previous) {
        if (auto it = previous->find(org.name); it != previous->end()) {
          stored = std::move(it->second);
        }
      }
    }
    // One listing that lacks a stored member is not enough for it to leave: ListAccounts pages by
    // PageNumber, and a member added and another removed while it is read shift one past the
    // reader. The members are listed again at once (rather than at the next refresh: a member
    // that did leave is then gone now, and nothing has to be remembered between refreshes); a
    // member leaves only when both listings lack it, and one that only the second lacks stays as
    // stored. A member listed with a status that is not usable is listed, and leaves at once.
    const auto first = listed_ids(*listed, true);
    if (std::any_of(stored.begin(), stored.end(),
                    [&](const config::Member& m) { return first.count(m.account_id) == 0; })) {
      const auto first_usable = listed_ids(*listed, false);
      auto again = collectors::list_directory(org, client, management, pacer);
      if (again) {
        const auto second = listed_ids(*again, true);
        for (const auto& m : stored) {
          if (second.count(m.account_id) == 0 && first_usable.count(m.account_id) != 0) {
            kept.push_back(m);
          }
        }
      }
      listed = std::move(again);
    }
  }
  std::lock_guard lock(store_mutex);
  if (listed) {
    out.members = std::move(listed->members);
    out.members.insert(out.members.end(), kept.begin(), kept.end());
    out.skipped = std::move(listed->skipped);
    if (auto r = store.store_members(org.name, out.members, clock.now()); !r) {
      // The members are known all the same; only `acmon codes` in another process misses them.
      out.error = r.error();
      out.error->message = "organization " + org.name + ": the members could not be stored: " + r.error().message;
    }
    return out;
  }
  out.error = listed.error();
  if (auto previous = store.members(); previous) {
    if (auto it = previous->find(org.name); it != previous->end()) {
      out.members = std::move(it->second);
    }
  }
  return out;
}

MemberCredentials::MemberCredentials(const config::Config& cfg,
                                     std::map<std::string, std::shared_ptr<CredentialProvider>> accounts,
                                     CredentialOptions options)
    : m_cfg(cfg), m_accounts(std::move(accounts)), m_options(std::move(options)) {}

std::shared_ptr<CredentialProvider> MemberCredentials::get(const config::Organization& org,
                                                           const config::Member& member) {
  auto management = m_accounts.at(org.account);
  if (member.management) {
    return management;
  }
  std::lock_guard lock(m_mutex);
  auto& slot = m_members[org.name + "|" + member.account_id];
  if (!slot) {
    slot = collectors::make_member_credentials(org, *m_cfg.find_account(org.account), management, member, m_options);
  }
  return slot;
}

}  // namespace acmon::daemon
