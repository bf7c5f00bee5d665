// STS (Version 2015-04-01): AssumeRole, signed with the base credentials, and AssumeRoleWithOIDC,
// anonymous with the token read from its file at each refresh.
#include <fstream>
#include <sstream>

#include "acmon/core/api.hpp"
#include "acmon/core/crypto.hpp"
#include "acmon/core/json.hpp"
#include "acmon/core/text.hpp"
#include "credential_sources.hpp"

namespace acmon {

namespace {

constexpr const char* k_sts_version = "2015-04-01";
constexpr std::chrono::milliseconds k_sts_timeout{10000};
constexpr std::size_t k_max_token_bytes = 64 * 1024;

Error named(const std::string& who, const std::string& what, Error e) {
  e.message = who + ": " + what + ": " + (e.code.empty() ? std::string() : e.code + ": ") + e.message;
  return e;
}

Result<Credentials> read_sts_answer(const nlohmann::json& doc) {
  auto it = doc.find("Credentials");
  if (it == doc.end()) {
    return make_error(ErrorKind::parse, "the STS answer has no Credentials");
  }
  return read_temporary_credentials(*it);
}

// The credentials of an STS answer, or its error named after the account and the call.
Result<Credentials> answer_of(const std::string& who, const std::string& what, const Result<nlohmann::json>& doc) {
  if (!doc) {
    return named(who, what, doc.error());
  }
  auto c = read_sts_answer(*doc);
  if (!c) {
    return named(who, what, c.error());
  }
  return c;
}

class AssumeRole {
 public:
  AssumeRole(std::shared_ptr<CredentialProvider> base, RoleTarget target, const CredentialOptions& o)
      : m_base(std::move(base)),
        m_target(std::move(target)),
        m_transport(transport_of(o)),
        m_client(*m_transport, clock_of(o), m_sleeper) {}

  Result<Credentials> operator()() {
    api::Call call;
    call.product = "sts";
    call.endpoint = m_target.endpoint;
    call.action = "AssumeRole";
    call.version = k_sts_version;
    call.timeout = k_sts_timeout;
    call.params["RoleArn"] = m_target.role_arn;
    call.params["RoleSessionName"] = m_target.session_name;
    call.params["DurationSeconds"] = "3600";
    if (!m_target.external_id.empty()) {
      call.params["ExternalId"] = m_target.external_id;
    }
    const std::string what = "AssumeRole " + m_target.role_arn + " at " + m_target.endpoint;
    return answer_of(m_target.who, what, m_client.call(call, *m_base));
  }

 private:
  std::shared_ptr<CredentialProvider> m_base;
  RoleTarget m_target;
  std::shared_ptr<http::Transport> m_transport;
  api::RealSleeper m_sleeper;
  api::Client m_client;
};

Result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(ErrorKind::config, "the OIDC token file " + path + " cannot be read");
  }
  std::string text(k_max_token_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > k_max_token_bytes) {
    return make_error(ErrorKind::config, "the OIDC token file " + path + " is larger than 64 KiB");
  }
  std::string token(trim(text));
  if (token.empty()) {
    return make_error(ErrorKind::config, "the OIDC token file " + path + " is empty");
  }
  return token;
}

class AssumeRoleWithOidc {
 public:
  AssumeRoleWithOidc(OidcTarget target, const CredentialOptions& o)
      : m_target(std::move(target)), m_transport(transport_of(o)), m_clock(clock_of(o)) {}

  Result<Credentials> operator()() {
    const std::string what = "AssumeRoleWithOIDC " + m_target.role_arn + " at " + m_target.endpoint;
    auto token = read_token_file(m_target.token_file);
    if (!token) {
      return named(m_target.who, what, token.error());
    }
    signing::Params query{{"Action", "AssumeRoleWithOIDC"},
                          {"Version", k_sts_version},
                          {"Format", "JSON"},
                          {"Timestamp", format_rfc3339(m_clock.now())}};
    signing::Params form{{"RoleArn", m_target.role_arn},
                         {"OIDCProviderArn", m_target.provider_arn},
                         {"OIDCToken", *token},
                         {"RoleSessionName", m_target.session_name},
                         {"DurationSeconds", "3600"}};
    std::string base = m_target.endpoint;
    while (!base.empty() && base.back() == '/') {
      base.pop_back();
    }
    http::Request req;
    req.method = "POST";
    req.url = base + "/?" + signing::canonical_query(query);
    req.body = signing::canonical_query(form);
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
    req.timeout = k_sts_timeout;
    auto resp = m_transport->send(req);
    if (!resp) {
      return named(m_target.who, what, resp.error());
    }
    return answer_of(m_target.who, what, api::interpret(*resp));
  }

 private:
  OidcTarget m_target;
  std::shared_ptr<http::Transport> m_transport;
  const Clock& m_clock;
};

}  // namespace

std::string sts_endpoint_of(const config::Account& a, const CredentialOptions& o) {
  if (!a.sts_endpoint.empty()) {
    return a.sts_endpoint;
  }
  const std::string region = o.env("ALIBABA_CLOUD_STS_REGION").value_or("");
  if (!region.empty() && config::valid_region_id(region)) {
    const bool vpc = o.env("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED").value_or("") == "true";
    return std::string("https://") + (vpc ? "sts-vpc." : "sts.") + region + ".aliyuncs.com";
  }
  return "https://sts.aliyuncs.com";
}

std::unique_ptr<CredentialProvider> make_assume_role_provider(std::shared_ptr<CredentialProvider> base,
                                                              RoleTarget target, const CredentialOptions& o) {
  auto fetch = std::make_shared<AssumeRole>(std::move(base), std::move(target), o);
  return make_refreshing_provider([fetch] { return (*fetch)(); }, o);
}

std::unique_ptr<CredentialProvider> make_oidc_provider(OidcTarget target, const CredentialOptions& o) {
  auto fetch = std::make_shared<AssumeRoleWithOidc>(std::move(target), o);
  return make_refreshing_provider([fetch] { return (*fetch)(); }, o);
}

}  // namespace acmon
