// Credentials of the ECS instance RAM role, from the instance metadata service (hardened mode:
// a session token first, then the role's STS credentials), refreshed before they expire.
#include <nlohmann/json.hpp>

#include "acmon/core/credentials.hpp"
#include "acmon/core/http.hpp"
#include "acmon/core/json.hpp"
#include "acmon/core/text.hpp"
#include "credential_sources.hpp"

namespace acmon {

namespace {

constexpr std::int64_t k_refresh_margin = 600;  // refresh this long before expiry

class RamRoleProvider final : public CredentialProvider {
 public:
  RamRoleProvider(config::Account account, std::string base_url, const Clock* clock)
      : m_account(std::move(account)), m_base(std::move(base_url)), m_clock(clock != nullptr ? clock : &m_system) {
    while (!m_base.empty() && m_base.back() == '/') {
      m_base.pop_back();
    }
  }

  Result<Credentials> get() override {
    std::lock_guard lock(m_mutex);
    const UnixTime now = m_clock->now();
    if (m_cached && m_cached->expires_at - k_refresh_margin > now) {
      return *m_cached;
    }
    auto fresh = fetch();
    if (!fresh) {
      // A failed refresh keeps serving credentials that are still valid.
      if (m_cached && m_cached->expires_at > now) {
        return *m_cached;
      }
      return fresh.error();
    }
    m_cached = *fresh;
    return *fresh;
  }

 private:
  Error fail(const std::string& what) const {
    return make_error(ErrorKind::config, "account '" + m_account.name + "' (ram-role '" + m_account.source_arg +
                                             "', metadata " + m_base + "): " + what);
  }

  Result<Credentials> fetch() {
    http::Request token_req;
    token_req.method = "PUT";
    token_req.url = m_base + "/latest/api/token";
    token_req.headers = {{"X-aliyun-ecs-metadata-token-ttl-seconds", "21600"}};
    token_req.timeout = std::chrono::milliseconds(3000);
    token_req.connect_timeout = std::chrono::milliseconds(1000);
    auto token = m_transport.send(token_req);
    if (!token) {
      return fail("cannot reach the metadata service: " + token.error().message);
    }
    if (token->status != 200 || token->body.empty()) {
      return fail("metadata token request answered HTTP " + std::to_string(token->status));
    }
    http::Request creds_req;
    creds_req.url = m_base + "/latest/meta-data/ram/security-credentials/" + m_account.source_arg;
    creds_req.headers = {{"X-aliyun-ecs-metadata-token", token->body}};
    creds_req.timeout = token_req.timeout;
    creds_req.connect_timeout = token_req.connect_timeout;
    auto resp = m_transport.send(creds_req);
    if (!resp) {
      return fail("cannot reach the metadata service: " + resp.error().message);
    }
    if (resp->status == 404) {
      return fail("the instance has no RAM role of that name");
    }
    if (resp->status != 200) {
      return fail("role credentials request answered HTTP " + std::to_string(resp->status));
    }
    auto parsed = parse_json_bounded(resp->body);
    if (!parsed || !parsed->is_object()) {
      return fail("role credentials are not a JSON object");
    }
    const nlohmann::json& j = *parsed;
    // A field of another type reads as missing (json::value would throw).
    const auto text = [&](const char* key) {
      auto it = j.find(key);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (const std::string code = text("Code"); !code.empty() && code != "Success") {
      return fail("role credentials answered Code " + cap_text(code, 100));
    }
    Credentials c;
    c.access_key_id = text("AccessKeyId");
    c.access_key_secret = text("AccessKeySecret");
    c.security_token = text("SecurityToken");
    auto exp = parse_rfc3339(text("Expiration"));
    if (c.access_key_id.empty() || c.access_key_secret.empty() || c.security_token.empty() || !exp) {
      return fail("role credentials lack AccessKeyId, AccessKeySecret, SecurityToken or Expiration");
    }
    c.expires_at = *exp;
    return c;
  }

  config::Account m_account;
  std::string m_base;
  SystemClock m_system;
  const Clock* m_clock;
  http::CurlTransport m_transport;
  std::mutex m_mutex;
  std::optional<Credentials> m_cached;
};

}  // namespace

std::unique_ptr<CredentialProvider> make_ram_role_provider(const config::Account& a, const CredentialOptions& o) {
  std::string url = o.metadata_url;
  if (url.empty()) {
    url = o.env("ACMON_METADATA_URL").value_or("http://100.100.100.200");
  }
  return std::make_unique<RamRoleProvider>(a, url, o.clock);
}

}  // namespace acmon
