// Organizations: the members of each Resource Directory, listed with the management account's
// credentials, and the credentials of each member (its role assumed through the management account).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "acmon/core/api.hpp"
#include "acmon/core/config.hpp"
#include "acmon/core/credentials.hpp"
#include "acmon/db/store.hpp"

namespace acmon::daemon {

// One listing of an organization's members.
struct MemberListing {
  std::vector<config::Member> members;  // usable (the management account first when included)
  std::vector<config::Member> skipped;  // listed but not usable
  // The listing failed: members are then the ones stored by the last listing that succeeded (a
  // failed listing never makes a member leave).
  std::optional<Error> error;
};

// Lists the members and stores them (under store_mutex); on failure reads the previous ones back.
// A listing that lacks a stored member is made again at once: a member leaves only when two
// consecutive listings lack it, and one lacked by the second only stays as stored.
MemberListing list_members(const config::Organization& org, api::Client& client, CredentialProvider& management,
                           db::Store& store, std::mutex& store_mutex, const Clock& clock, api::Pacer* pacer = nullptr);

// The credentials of every member of the organizations of one configuration, made once per member
// and kept (each refreshes its own STS credentials). Thread-safe.
class MemberCredentials {
 public:
  // accounts: the configuration's account credentials by name (shared with the caller).
  MemberCredentials(const config::Config& cfg, std::map<std::string, std::shared_ptr<CredentialProvider>> accounts,
                    CredentialOptions options);
  // The management account's own credentials for it; its role assumed for any other member.
  std::shared_ptr<CredentialProvider> get(const config::Organization& org, const config::Member& member);
  std::shared_ptr<CredentialProvider> account(const std::string& name) const { return m_accounts.at(name); }

 private:
  const config::Config& m_cfg;
  std::map<std::string, std::shared_ptr<CredentialProvider>> m_accounts;
  CredentialOptions m_options;
  std::mutex m_mutex;
  std::map<std::string, std::shared_ptr<CredentialProvider>> m_members;  // "org|account id"
};

}  // namespace acmon::daemon
