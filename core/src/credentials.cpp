#include "acmon/core/credentials.hpp"

#include "acmon/core/text.hpp"
#include "credential_sources.hpp"

#include <sys/stat.h>

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

class StaticProvider final : public CredentialProvider {
 public:
  explicit StaticProvider(Credentials c) : m_creds(std::move(c)) {}
  Result<Credentials> get() override { return m_creds; }

 private:
  Credentials m_creds;
};

class FailingProvider final : public CredentialProvider {
 public:
  explicit FailingProvider(Error e) : m_error(std::move(e)) {}
  Result<Credentials> get() override { return m_error; }

 private:
  Error m_error;
};

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

std::unique_ptr<CredentialProvider> make_credential_provider(const config::Account& account,
                                                             const CredentialOptions& options) {
  Result<Credentials> r = make_error(ErrorKind::config, "");
  switch (account.source) {
    case config::CredentialSource::static_key: r = resolve_static(account, options); break;
    case config::CredentialSource::env: r = resolve_env(account, options); break;
    case config::CredentialSource::profile: r = resolve_profile(account, options); break;
    case config::CredentialSource::ram_role: return make_ram_role_provider(account, options);
  }
  if (!r) {
    return std::make_unique<FailingProvider>(r.error());
  }
  return std::make_unique<StaticProvider>(std::move(*r));
}

Result<void> check_credentials_present(const config::Account& account, const CredentialOptions& options) {
  if (account.source == config::CredentialSource::ram_role) {
    return {};
  }
  auto provider = make_credential_provider(account, options);
  auto r = provider->get();
  if (!r) {
    return r.error();
  }
  return {};
}

}  // namespace acmon
