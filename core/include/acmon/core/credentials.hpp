// Where an account's AccessKey comes from. Secrets live only in memory; nothing here logs them.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "acmon/core/config.hpp"
#include "acmon/core/http.hpp"
#include "acmon/core/result.hpp"
#include "acmon/core/time.hpp"

namespace acmon {

struct Credentials {
  std::string access_key_id;
  std::string access_key_secret;
  std::string security_token;  // STS; empty when none
  UnixTime expires_at = 0;     // 0: does not expire
};

// Looks up environment variables; replaceable in tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// Reads a secret from a file: refused when the file is readable by its group or others;
// surrounding whitespace (a trailing newline) is dropped. Errors name the file, never its content.
Result<std::string> read_secret_file(const std::string& path);

// Supplies credentials for one account. Thread-safe.
class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  [[nodiscard]] virtual Result<Credentials> get() = 0;
};

// Temporary credentials (STS, the metadata service, OIDC, a credentials URI) are refreshed when less
// than this remains before their returned Expiration (or half their lifetime, when that is shorter).
constexpr std::int64_t k_refresh_margin = 180;

struct CredentialOptions {
  EnvLookup env = process_env();
  std::string home;  // for ~/.alibabacloud and ~/.aliyun; empty: $HOME
  // The metadata service; empty: $ACMON_METADATA_URL, else http://100.100.100.200.
  std::string metadata_url;
  const Clock* clock = nullptr;  // when to refresh; null: the system clock
  // STS, OIDC, metadata and credentials URI requests; null: a libcurl transport per account.
  std::shared_ptr<http::Transport> transport;
  // Told when a refresh failed while the credentials held are still valid (they stay in use).
  // Null: logged as a warning. Never receives a secret.
  std::function<void(const std::string&)> on_refresh_error;
};

// The provider for a configured account. Errors name the account and what is missing.
std::unique_ptr<CredentialProvider> make_credential_provider(const config::Account& account,
                                                             const CredentialOptions& options = {});

// Credentials of another account's role: AssumeRole of role_arn with base's credentials at the STS
// endpoint of `via` (the account base belongs to; its role_session_name), refreshed before they
// expire. Errors start with `who` and carry STS's error code.
std::unique_ptr<CredentialProvider> make_role_provider(std::shared_ptr<CredentialProvider> base,
                                                       const config::Account& via, std::string who,
                                                       std::string role_arn, const CredentialOptions& options = {});

// check-config: the credentials of an account are present and readable (no API calls: sources that
// answer over the network, and the roles they assume, can only be checked when a request is made).
Result<void> check_credentials_present(const config::Account& account, const CredentialOptions& options = {});

}  // namespace acmon
