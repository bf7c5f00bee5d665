// Temporary credentials over plain HTTP: the ECS instance RAM role from the metadata service
// (hardened mode: a session token first, then the role's STS credentials), and a credentials URI.
#include <nlohmann/json.hpp>

#include "acmon/core/http.hpp"
#include "acmon/core/json.hpp"
#include "acmon/core/text.hpp"
#include "credential_sources.hpp"

namespace acmon {

namespace {

constexpr std::chrono::milliseconds k_metadata_timeout{3000};
constexpr std::chrono::milliseconds k_metadata_connect{1000};

// The answer of the metadata service or a credentials URI: Code (when present) must be Success.
Result<Credentials> read_answer(const http::Response& resp) {
  auto parsed = parse_json_bounded(resp.body);
  if (!parsed || !parsed->is_object()) {
    return make_error(ErrorKind::parse, "the credentials are not a JSON object");
  }
  auto code = parsed->find("Code");
  if (code != parsed->end() && (!code->is_string() || code->get<std::string>() != "Success")) {
    Error e = make_error(ErrorKind::api, "the credentials answer is not a success");
    e.code = code->is_string() ? cap_text(code->get<std::string>(), 100) : std::string("?");
    return e;
  }
  return read_temporary_credentials(*parsed);
}

class Metadata {
 public:
  Metadata(std::string who, std::string role, std::string base, const CredentialOptions& o)
      : m_who(std::move(who)), m_role(std::move(role)), m_base(std::move(base)), m_transport(transport_of(o)) {
    while (!m_base.empty() && m_base.back() == '/') {
      m_base.pop_back();
    }
  }

  Result<Credentials> operator()() {
    http::Request token_req;
    token_req.method = "PUT";
    token_req.url = m_base + "/latest/api/token";
    token_req.headers = {{"X-aliyun-ecs-metadata-token-ttl-seconds", "21600"}};
    token_req.timeout = k_metadata_timeout;
    token_req.connect_timeout = k_metadata_connect;
    auto token = m_transport->send(token_req);
    if (!token) {
      return fail("cannot reach the metadata service: " + token.error().message);
    }
    if (token->status != 200 || token->body.empty()) {
      return fail("metadata token request answered HTTP " + std::to_string(token->status));
    }
    std::string role = m_role;
    if (role.empty()) {
      auto named = get("/latest/meta-data/ram/security-credentials/", token->body);
      if (!named) {
        return named.error();
      }
      if (named->status != 200) {
        return fail("the instance has no RAM role (HTTP " + std::to_string(named->status) + ")");
      }
      role = std::string(trim(named->body));
      if (role.empty() || role.size() > 64 || role.find_first_of("/?#% \n") != std::string::npos) {
        return fail("the metadata service names no usable RAM role");
      }
    }
    auto resp = get("/latest/meta-data/ram/security-credentials/" + role, token->body);
    if (!resp) {
      return resp.error();
    }
    if (resp->status == 404) {
      return fail("the instance has no RAM role '" + cap_text(role, 64) + "'");
    }
    if (resp->status != 200) {
      return fail("role credentials request answered HTTP " + std::to_string(resp->status));
    }
    auto c = read_answer(*resp);
    if (!c) {
      Error e = c.error();
      e.message = m_who + " (metadata " + m_base + "): role credentials: " + e.message;
      return e;
    }
    return c;
  }

 private:
  Error fail(const std::string& what) const {
    return make_error(ErrorKind::config, m_who + " (metadata " + m_base + "): " + what);
  }

  Result<http::Response> get(const std::string& path, const std::string& token) {
    http::Request req;
    req.url = m_base + path;
    req.headers = {{"X-aliyun-ecs-metadata-token", token}};
    req.timeout = k_metadata_timeout;
    req.connect_timeout = k_metadata_connect;
    auto resp = m_transport->send(req);
    if (!resp) {
      return fail("cannot reach the metadata service: " + resp.error().message);
    }
    return resp;
  }

  std::string m_who;
  std::string m_role;
  std::string m_base;
  std::shared_ptr<http::Transport> m_transport;
};

class CredentialsUri {
 public:
  CredentialsUri(std::string who, std::string url, const CredentialOptions& o)
      : m_who(std::move(who)), m_url(std::move(url)), m_transport(transport_of(o)) {}

  Result<Credentials> operator()() {
    http::Request req;
    req.url = m_url;
    req.timeout = std::chrono::milliseconds(10000);
    auto resp = m_transport->send(req);
    if (!resp) {
      return fail(resp.error());
    }
    if (resp->status != 200) {
      return fail(make_error(ErrorKind::http, "answered HTTP " + std::to_string(resp->status)));
    }
    auto c = read_answer(*resp);
    if (!c) {
      return fail(c.error());
    }
    return c;
  }

 private:
  // The URI may carry a token in its query: only its scheme, host and path are named.
  Error fail(Error e) const {
    const auto q = m_url.find_first_of("?#");
    e.message = m_who + " (credentials URI " + cap_text(m_url.substr(0, q), 200) + "): " + e.message;
    return e;
  }

  std::string m_who;
  std::string m_url;
  std::shared_ptr<http::Transport> m_transport;
};

}  // namespace

std::unique_ptr<CredentialProvider> make_metadata_provider(std::string who, std::string role,
                                                           const CredentialOptions& o) {
  std::string url = o.metadata_url;
  if (url.empty()) {
    url = o.env("ACMON_METADATA_URL").value_or("http://100.100.100.200");
  }
  auto fetch = std::make_shared<Metadata>(std::move(who), std::move(role), url, o);
  return make_refreshing_provider([fetch] { return (*fetch)(); }, o);
}

std::unique_ptr<CredentialProvider> make_uri_provider(std::string who, std::string url, const CredentialOptions& o) {
  auto fetch = std::make_shared<CredentialsUri>(std::move(who), std::move(url), o);
  return make_refreshing_provider([fetch] { return (*fetch)(); }, o);
}

}  // namespace acmon
