// A Resource Directory (ResourceManager, Version 2020-03-31): the members of an organization,
// listed with the management account's credentials. Complete or error, like every listing.
#pragma once

#include <string>
#include <vector>

#include "acmon/core/api.hpp"
#include "acmon/core/config.hpp"
#include "acmon/core/credentials.hpp"

namespace acmon::collectors {

// The statuses of a member acmon can reach: CreateSuccess, InviteSuccess, PromoteSuccess,
// PromoteVerifying, PromoteFailed. Others (CreateVerifying, CreateFailed, ...) are skipped.
bool usable_status(const std::string& status);

struct Directory {
  std::vector<config::Member> members;  // usable, the management account first when included
  std::vector<config::Member> skipped;  // listed but not usable (by status), or the management excluded
  int pages = 0;
};

// GetResourceDirectory (the management account's id), then every page of ListAccounts. The
// management account is a member (management = true) when org.include_management, listed or not.
// Errors name the organization, the call and the page.
Result<Directory> list_directory(const config::Organization& org, api::Client& client, CredentialProvider& management,
                                 api::Pacer* pacer = nullptr);

// The credentials of one member: AssumeRole of acs:ram::<AccountId>:role/<org.role> with the
// management account's credentials at its sts_endpoint, refreshed before they expire. Errors start
// with "member <AccountId> (<display name>)" and carry STS's error code.
std::unique_ptr<CredentialProvider> make_member_credentials(const config::Organization& org,
                                                            const config::Account& management_account,
                                                            std::shared_ptr<CredentialProvider> management,
                                                            const config::Member& member,
                                                            const CredentialOptions& options = {});

}  // namespace acmon::collectors
