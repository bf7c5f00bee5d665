#include "acmon/daemon/organizations.hpp"

#include "acmon/collectors/directory.hpp"

namespace acmon::daemon {

MemberListing list_members(const config::Organization& org, api::Client& client, CredentialProvider& management,
                           db::Store& store, std::mutex& store_mutex, const Clock& clock, api::Pacer* pacer) {
  MemberListing out;
  auto listed = collectors::list_directory(org, client, management, pacer);
  std::lock_guard lock(store_mutex);
  if (listed) {
    out.members = std::move(listed->members);
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
