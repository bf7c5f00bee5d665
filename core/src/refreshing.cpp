// The pieces every credential source shares: fixed and failing providers, the refreshing cache of
// temporary credentials, and the {AccessKeyId, …, Expiration} answer they all read.
#include <spdlog/spdlog.h>

#include <fstream>

#include "acmon/core/text.hpp"
#include "credential_sources.hpp"

namespace acmon {

namespace {

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

class RefreshingProvider final : public CredentialProvider {
 public:
  RefreshingProvider(Fetch fetch, const CredentialOptions& o)
      : m_fetch(std::move(fetch)), m_clock(clock_of(o)), m_report(o.on_refresh_error) {}

  Result<Credentials> get() override {
    std::lock_guard lock(m_mutex);
    const UnixTime now = m_clock.now();
    if (m_cached && (m_cached->expires_at == 0 || now < m_refresh_at)) {
      return *m_cached;
    }
    auto fresh = m_fetch();
    if (!fresh) {
      if (m_cached && now < m_cached->expires_at) {
        // Still valid: keep using it, say why it was not renewed, and try again at the next call.
        report(fresh.error(), m_cached->expires_at);
        return *m_cached;
      }
      return fresh.error();
    }
    // Refresh when k_refresh_margin remains, or half the lifetime when it is shorter than that.
    const std::int64_t lifetime = fresh->expires_at - now;
    m_refresh_at =
        fresh->expires_at - std::min<std::int64_t>(k_refresh_margin, std::max<std::int64_t>(lifetime, 0) / 2);
    m_cached = *fresh;
    return *fresh;
  }

 private:
  void report(const Error& e, UnixTime valid_until) const {
    const std::string text = "credential refresh failed; the credentials held stay in use until " +
                             format_rfc3339(valid_until) + ": " + e.message +
                             (e.code.empty() ? std::string() : " [" + e.code + "]");
    if (m_report) {
      m_report(text);
    } else {
      spdlog::warn("{}", text);
    }
  }

  Fetch m_fetch;
  const Clock& m_clock;
  std::function<void(const std::string&)> m_report;
  std::mutex m_mutex;
  std::optional<Credentials> m_cached;
  UnixTime m_refresh_at = 0;
};

const SystemClock& system_clock() {
  static const SystemClock k_clock;
  return k_clock;
}

}  // namespace

std::unique_ptr<CredentialProvider> make_static_provider(Credentials c) {
  return std::make_unique<StaticProvider>(std::move(c));
}

std::unique_ptr<CredentialProvider> make_failing_provider(Error e) {
  return std::make_unique<FailingProvider>(std::move(e));
}

std::unique_ptr<CredentialProvider> make_refreshing_provider(Fetch fetch, const CredentialOptions& o) {
  return std::make_unique<RefreshingProvider>(std::move(fetch), o);
}

Result<Credentials> read_temporary_credentials(const nlohmann::json& j) {
  if (!j.is_object()) {
    return make_error(ErrorKind::parse, "the credentials are not a JSON object");
  }
  // A field of another type reads as missing (json::value would throw).
  const auto text = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Credentials c;
  c.access_key_id = text("AccessKeyId");
  c.access_key_secret = text("AccessKeySecret");
  c.security_token = text("SecurityToken");
  auto exp = parse_rfc3339(text("Expiration"));
  if (c.access_key_id.empty() || c.access_key_secret.empty() || c.security_token.empty() || !exp) {
    return make_error(ErrorKind::parse,
                      "the credentials lack AccessKeyId, AccessKeySecret, SecurityToken or Expiration");
  }
  if (!config::valid_access_key_id(c.access_key_id)) {
    return make_error(ErrorKind::parse, "the credentials' AccessKeyId is not an AccessKey id");
  }
  c.expires_at = *exp;
  return c;
}

std::shared_ptr<http::Transport> transport_of(const CredentialOptions& o) {
  if (o.transport) {
    return o.transport;
  }
  return std::make_shared<http::CurlTransport>();
}

const Clock& clock_of(const CredentialOptions& o) {
  return o.clock != nullptr ? *o.clock : system_clock();
}

std::string home_of(const CredentialOptions& o) {
  return o.home.empty() ? o.env("HOME").value_or("") : o.home;
}

bool readable_file(const std::string& path) {
  return !path.empty() && std::ifstream(path).good();
}

}  // namespace acmon
