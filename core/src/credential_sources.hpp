// Private: the credential sources that need more than a few lines each.
#pragma once

#include <memory>

#include "acmon/core/credentials.hpp"

namespace acmon {

Result<Credentials> resolve_profile(const config::Account& a, const CredentialOptions& o);
std::unique_ptr<CredentialProvider> make_ram_role_provider(const config::Account& a, const CredentialOptions& o);

}  // namespace acmon
