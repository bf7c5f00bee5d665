#include "acmon/core/credentials.hpp"

#include "acmon/core/text.hpp"
#include "credential_sources.hpp"

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace acmon {

namespace {

Error cred_error(const config::Account& a, const std::string& what) {
  return make_error(ErrorKind::config, "account '" + a.name + "': " + what);
}

Result<Credentials> resolve_static(const config::Account& a, const CredentialOptions& o) {
  Credentials c;
  c.access_key_id = a.access_key_id;
  if (!a.secret_file.empty()) {
    std::string path = a.secret_file;
    // A relative name is a systemd credential (LoadCredential=) when the service manager gave us some.
    if (path.front() != '/') {
      if (auto dir = o.env("CREDENTIALS_DIRECTORY"); dir && !dir->empty()) {
        path = *dir + "/" + path;
      }
    }
    auto s = read_secret_file(path);
    if (!s) {
      return cred_error(a, s.error().message);
    }
    c.access_key_secret = std::move(*s);
  } else {
    auto s = o.env(a.secret_env);
    if (!s || s->empty()) {
      return cred_error(a, "environment variable " + a.secret_env + " (access_key_secret_env) is not set");
    }
    c.access_key_secret = *s;
  }
  if (!a.security_token_env.empty()) {
    auto t = o.env(a.security_token_env);
    if (!t || t->empty()) {
      return cred_error(a, "environment variable " + a.security_token_env + " (security_token_env) is not set");
    }
    c.security_token = *t;
  }
  return c;
}

Result<Credentials> resolve_env(const config::Account& a, const CredentialOptions& o) {
  Credentials c;
  auto id = o.env("ALIBABA_CLOUD_ACCESS_KEY_ID");
  auto secret = o.env("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
  if (!id || id->empty()) {
    return cred_error(a, "credentials = \"env\" but ALIBABA_CLOUD_ACCESS_KEY_ID is not set");
  }
  if (!secret || secret->empty()) {
    return cred_error(a, "credentials = \"env\" but ALIBABA_CLOUD_ACCESS_KEY_SECRET is not set");
  }
  c.access_key_id = *id;
  c.access_key_secret = *secret;
  if (auto t = o.env("ALIBABA_CLOUD_SECURITY_TOKEN")) {
    c.security_token = *t;
  }
  return c;
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read-only after start-up
    if (v == nullptr) {
      return std::nullopt;
    }
    return std::string(v);
  };
}

Result<std::string> read_secret_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(ErrorKind::config, "secret file " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(ErrorKind::config, "secret file " + path + " is not a regular file");
  }
  if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(ErrorKind::config, "secret file " + path + " is readable by its group or others (mode " + mode +
                                             "); refused: chmod 600 it");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(ErrorKind::config, "secret file " + path + ": " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string secret(trim(ss.str()));
  if (secret.empty()) {
    return make_error(ErrorKind::config, "secret file " + path + " is empty");
  }
  return secret;
}

namespace {

std::unique_ptr<CredentialProvider> of(Result<Credentials> r) {
  if (!r) {
    return make_failing_provider(r.error());
  }
  return make_static_provider(std::move(*r));
}

// Where the account's own credentials come from, before any role is assumed.
std::unique_ptr<CredentialProvider> base_provider(const config::Account& a, const CredentialOptions& o) {
  const std::string who = "account '" + a.name + "'";
  switch (a.source) {
    case config::CredentialSource::static_key: return of(resolve_static(a, o));
    case config::CredentialSource::env: return of(resolve_env(a, o));
    case config::CredentialSource::profile: return make_profile_provider(a, o);
    case config::CredentialSource::ram_role:
      return make_metadata_provider(who + " (ram-role '" + a.source_arg + "')", a.source_arg, o);
    case config::CredentialSource::chain: return make_chain_provider(a, o);
    case config::CredentialSource::uri: return make_uri_provider(who, a.source_arg, o);
    case config::CredentialSource::oidc: {
      OidcTarget t{
          who + " (oidc)",
          sts_endpoint_of(a, o),
          a.role_arn.empty() ? o.env("ALIBABA_CLOUD_ROLE_ARN").value_or("") : a.role_arn,
          a.oidc_provider_arn.empty() ? o.env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN").value_or("") : a.oidc_provider_arn,
          a.oidc_token_file.empty() ? o.env("ALIBABA_CLOUD_OIDC_TOKEN_FILE").value_or("") : a.oidc_token_file,
          a.role_session_name.empty() ? o.env("ALIBABA_CLOUD_ROLE_SESSION_NAME").value_or("acmon")
                                      : a.role_session_name};
      if (!config::valid_role_arn(t.role_arn)) {
        return make_failing_provider(
            cred_error(a, "credentials = \"oidc\" needs a role ARN: role_arn or ALIBABA_CLOUD_ROLE_ARN"));
      }
      if (!config::valid_oidc_provider_arn(t.provider_arn)) {
        return make_failing_provider(cred_error(
            a,
            "credentials = \"oidc\" needs an OIDC provider ARN: oidc_provider_arn or ALIBABA_CLOUD_OIDC_PROVIDER_ARN"));
      }
      if (t.token_file.empty()) {
        return make_failing_provider(cred_error(
            a, "credentials = \"oidc\" needs a token file: oidc_token_file or ALIBABA_CLOUD_OIDC_TOKEN_FILE"));
      }
      if (!config::valid_role_session_name(t.session_name)) {
        t.session_name = "acmon";
      }
      return make_oidc_provider(std::move(t), o);
    }
  }
  return make_failing_provider(cred_error(a, "unknown credential source"));
}

}  // namespace

std::unique_ptr<CredentialProvider> make_credential_provider(const config::Account& account,
                                                             const CredentialOptions& options) {
  auto base = base_provider(account, options);
  if (account.assume_role.empty()) {
    return base;
  }
  RoleTarget target{"account '" + account.name + "'", sts_endpoint_of(account, options), account.assume_role,
                    account.role_session_name.empty() ? "acmon" : account.role_session_name, account.external_id};
  return make_assume_role_provider(std::move(base), std::move(target), options);
}

std::unique_ptr<CredentialProvider> make_role_provider(std::shared_ptr<CredentialProvider> base,
                                                       const config::Account& via, std::string who,
                                                       std::string role_arn, const CredentialOptions& options) {
  RoleTarget target{std::move(who), sts_endpoint_of(via, options), std::move(role_arn),
                    via.role_session_name.empty() ? "acmon" : via.role_session_name, ""};
  return make_assume_role_provider(std::move(base), std::move(target), options);
}

namespace {

// check-config makes no request: what would go over the network stops here, and having got that far
// means what the account holds locally (files, variables, keys) is present.
class OfflineTransport final : public http::Transport {
 public:
  Result<http::Response> send(const http::Request& /*request*/) override {
    m_called = true;
    return make_error(ErrorKind::config, "not sent: check-config makes no request");
  }
  [[nodiscard]] bool called() const { return m_called; }

 private:
  std::atomic<bool> m_called{false};
};

}  // namespace

Result<void> check_credentials_present(const config::Account& account, const CredentialOptions& options) {
  auto offline = std::make_shared<OfflineTransport>();
  CredentialOptions o = options;
  o.transport = offline;
  o.on_refresh_error = [](const std::string&) {};
  auto r = make_credential_provider(account, o)->get();
  if (r || offline->called()) {
    return {};
  }
  return r.error();
}

}  // namespace acmon
