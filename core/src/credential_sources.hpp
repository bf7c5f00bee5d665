// Private: the credential sources, and the pieces they share (a refreshing cache, the STS answer).
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "acmon/core/credentials.hpp"

namespace acmon {

using Fetch = std::function<Result<Credentials>()>;

std::unique_ptr<CredentialProvider> make_static_provider(Credentials c);
std::unique_ptr<CredentialProvider> make_failing_provider(Error e);

// Temporary credentials from fetch, cached and fetched again when less than k_refresh_margin (or
// half their lifetime) remains before their expiry. A failed fetch while the cached credentials
// are still valid keeps them and reports the error; otherwise the error is returned. Thread-safe.
std::unique_ptr<CredentialProvider> make_refreshing_provider(Fetch fetch, const CredentialOptions& o);

// {AccessKeyId, AccessKeySecret, SecurityToken, Expiration} (the metadata service, a credentials
// URI, STS's Credentials). Errors say what is missing, never a value.
Result<Credentials> read_temporary_credentials(const nlohmann::json& j);

std::shared_ptr<http::Transport> transport_of(const CredentialOptions& o);
const Clock& clock_of(const CredentialOptions& o);

// Where an account's STS calls go: sts_endpoint, else ALIBABA_CLOUD_STS_REGION's (sts-vpc with
// ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true), else https://sts.aliyuncs.com.
std::string sts_endpoint_of(const config::Account& a, const CredentialOptions& o);

struct RoleTarget {
  std::string who;  // "account 'prod'": how errors start
  std::string endpoint;
  std::string role_arn;
  std::string session_name;
  std::string external_id;
};
// AssumeRole with the base credentials (signed), refreshed.
std::unique_ptr<CredentialProvider> make_assume_role_provider(std::shared_ptr<CredentialProvider> base,
                                                              RoleTarget target, const CredentialOptions& o);

struct OidcTarget {
  std::string who;
  std::string endpoint;
  std::string role_arn;
  std::string provider_arn;
  std::string token_file;  // read again at each refresh
  std::string session_name;
};
// AssumeRoleWithOIDC (anonymous), refreshed.
std::unique_ptr<CredentialProvider> make_oidc_provider(OidcTarget target, const CredentialOptions& o);

// The ECS instance RAM role (role empty: the one the metadata service names), refreshed.
std::unique_ptr<CredentialProvider> make_metadata_provider(std::string who, std::string role,
                                                           const CredentialOptions& o);
// A credentials URI, refreshed.
std::unique_ptr<CredentialProvider> make_uri_provider(std::string who, std::string url, const CredentialOptions& o);

// profile:NAME (the credentials file, then the aliyun CLI configuration).
std::unique_ptr<CredentialProvider> make_profile_provider(const config::Account& a, const CredentialOptions& o);
// A profile of the aliyun CLI's config.json, any mode; name empty: the file's "current".
std::unique_ptr<CredentialProvider> make_cli_profile_provider(const config::Account& a, const std::string& path,
                                                              const std::string& name, const CredentialOptions& o);
// A profile of an Alibaba Cloud credentials file (INI).
std::unique_ptr<CredentialProvider> make_ini_profile_provider(const config::Account& a, const std::string& path,
                                                              const std::string& name, const CredentialOptions& o);
// credentials = "default": Alibaba's default chain.
std::unique_ptr<CredentialProvider> make_chain_provider(const config::Account& a, const CredentialOptions& o);

// The home folder for ~/.alibabacloud and ~/.aliyun.
std::string home_of(const CredentialOptions& o);
bool readable_file(const std::string& path);

}  // namespace acmon
