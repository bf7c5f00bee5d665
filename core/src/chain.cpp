// credentials = "default": Alibaba's default credential chain, in the SDKs' order: environment,
// OIDC, the aliyun CLI profile, the credentials file, the ECS instance RAM role, a credentials URI.
// The first source that answers is kept for the account's life.
#include <atomic>
#include <vector>

#include "acmon/core/text.hpp"
#include "credential_sources.hpp"

namespace acmon {

namespace {

class ChainProvider final : public CredentialProvider {
 public:
  ChainProvider(std::string who, std::vector<std::pair<std::string, std::unique_ptr<CredentialProvider>>> sources)
      : m_who(std::move(who)), m_sources(std::move(sources)) {}

  Result<Credentials> get() override {
    if (CredentialProvider* chosen = m_chosen.load(); chosen != nullptr) {
      return chosen->get();  // each source is thread-safe on its own
    }
    std::lock_guard lock(m_mutex);
    if (CredentialProvider* chosen = m_chosen.load(); chosen != nullptr) {
      return chosen->get();
    }
    if (m_sources.empty()) {
      return make_error(ErrorKind::config,
                        m_who +
                            ": the default credential chain found nothing (no ALIBABA_CLOUD_ACCESS_KEY_ID, no "
                            "OIDC variables, no aliyun CLI or credentials file, the metadata service disabled, "
                            "no ALIBABA_CLOUD_CREDENTIALS_URI)");
    }
    std::string failures;
    Error last;
    for (auto& [name, provider] : m_sources) {
      auto c = provider->get();
      if (c) {
        m_chosen.store(provider.get());
        return c;
      }
      last = c.error();
      failures += (failures.empty() ? "" : "; ") + name + ": " + c.error().message;
    }
    last.message = m_who + ": no source of the default credential chain answered: " + cap_text(failures, 1500);
    return last;
  }

 private:
  std::string m_who;
  std::vector<std::pair<std::string, std::unique_ptr<CredentialProvider>>> m_sources;
  std::mutex m_mutex;
  std::atomic<CredentialProvider*> m_chosen{nullptr};
};

bool set(const CredentialOptions& o, const char* name) {
  auto v = o.env(name);
  return v && !v->empty();
}

}  // namespace

std::unique_ptr<CredentialProvider> make_chain_provider(const config::Account& a, const CredentialOptions& o) {
  const std::string who = "account '" + a.name + "'";
  std::vector<std::pair<std::string, std::unique_ptr<CredentialProvider>>> sources;
  if (set(o, "ALIBABA_CLOUD_ACCESS_KEY_ID") && set(o, "ALIBABA_CLOUD_ACCESS_KEY_SECRET")) {
    Credentials c;
    c.access_key_id = *o.env("ALIBABA_CLOUD_ACCESS_KEY_ID");
    c.access_key_secret = *o.env("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
    c.security_token = o.env("ALIBABA_CLOUD_SECURITY_TOKEN").value_or("");
    sources.emplace_back("environment", make_static_provider(std::move(c)));
  }
  if (set(o, "ALIBABA_CLOUD_ROLE_ARN") && set(o, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN") &&
      set(o, "ALIBABA_CLOUD_OIDC_TOKEN_FILE")) {
    sources.emplace_back(
        "OIDC", make_oidc_provider({who, sts_endpoint_of(a, o), *o.env("ALIBABA_CLOUD_ROLE_ARN"),
                                    *o.env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN"), *o.env("ALIBABA_CLOUD_OIDC_TOKEN_FILE"),
                                    o.env("ALIBABA_CLOUD_ROLE_SESSION_NAME")
                                        .value_or(a.role_session_name.empty() ? "acmon" : a.role_session_name)},
                                   o));
  }
  const std::string home = home_of(o);
  const std::string profile = o.env("ALIBABA_CLOUD_PROFILE").value_or("");
  if (const std::string cli = home + "/.aliyun/config.json";
      !home.empty() && o.env("ALIBABA_CLOUD_CLI_PROFILE_DISABLED").value_or("") != "true" && readable_file(cli)) {
    sources.emplace_back("aliyun CLI profile", make_cli_profile_provider(a, cli, profile, o));
  }
  std::string file = o.env("ALIBABA_CLOUD_CREDENTIALS_FILE").value_or("");
  if (file.empty() && !home.empty()) {
    file = home + "/.alibabacloud/credentials";
  }
  if (readable_file(file)) {
    sources.emplace_back("credentials file",
                         make_ini_profile_provider(a, file, profile.empty() ? "default" : profile, o));
  }
  if (o.env("ALIBABA_CLOUD_ECS_METADATA_DISABLED").value_or("") != "true") {
    sources.emplace_back("ECS RAM role",
                         make_metadata_provider(who, o.env("ALIBABA_CLOUD_ECS_METADATA").value_or(""), o));
  }
  if (set(o, "ALIBABA_CLOUD_CREDENTIALS_URI")) {
    sources.emplace_back("credentials URI", make_uri_provider(who, *o.env("ALIBABA_CLOUD_CREDENTIALS_URI"), o));
  }
  return std::make_unique<ChainProvider>(who, std::move(sources));
}

}  // namespace acmon
