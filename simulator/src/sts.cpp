// The simulator's identities: account ids, root keys, roles with their trust, OIDC providers, and
// the services that hand out temporary credentials (STS AssumeRole and AssumeRoleWithOIDC, the ECS
// metadata service in hardened mode, a credentials URI). Issued STS keys act as the role's account
// until they expire, then answer InvalidSecurityToken.Expired.
#include "sim_impl.hpp"

namespace acmon::sim {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// "acs:ram::<16 digits>:role/<name>" -> the account id; empty when malformed.
std::string role_account(const std::string& arn) {
  if (!config::valid_role_arn(arn)) {
    return {};
  }
  return arn.substr(9, 16);
}

std::string param_of(const std::map<std::string, std::string>& p, const char* k) {
  auto it = p.find(k);
  return it == p.end() ? std::string() : it->second;
}

std::vector<std::string> strings_of(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key)) {
    for (const auto& v : j.at(key)) {
      out.push_back(v.get<std::string>());
    }
  }
  return out;
}

}  // namespace

void Simulator::Impl::load_identities(const json& data) {
  for (const auto& a : data.value("accounts", json::array())) {
    const std::string account_id = a.value("account_id", "");
    if (!account_id.empty() &&
        (account_id.size() != 16 || account_id.find_first_not_of("0123456789") != std::string::npos)) {
      throw std::invalid_argument("an account_id is 16 digits");
    }
    const std::string id = a.value("access_key_id", "");
    const std::string secret = a.value("access_key_secret", "");
    if (id.empty() != secret.empty() || (id.empty() && account_id.empty())) {
      throw std::invalid_argument("every account needs access_key_id and access_key_secret, or an account_id");
    }
    if (!id.empty()) {
      accounts[id] = {secret, a.value("security_token", "")};
      key_info[id] = {account_id, a.value("root", false)};
    }
    for (const auto& r : a.value("roles", json::array())) {
      if (account_id.empty()) {
        throw std::invalid_argument("an account with roles needs an account_id");
      }
      Role role;
      role.arn = "acs:ram::" + account_id + ":role/" + r.at("name").get<std::string>();
      role.trust = strings_of(r, "trust");
      role.external_id = r.value("external_id", "");
      role.max_duration = r.value("max_duration", 3600LL);
      roles[lower(role.arn)] = role;
    }
  }
  for (const auto& p : data.value("oidc_providers", json::array())) {
    oidc_providers[p.at("arn").get<std::string>()] = {p.at("issuer").get<std::string>(), strings_of(p, "audiences")};
  }
  if (data.contains("ecs_metadata")) {
    metadata_role = data["ecs_metadata"].at("role").get<std::string>();
    metadata_hardened = data["ecs_metadata"].value("hardened", true);
  }
  if (data.contains("credentials_uri")) {
    credentials_uri_role = data["credentials_uri"].at("role").get<std::string>();
  }
  sts_expire_after = data.value("sts_expire_after", 0LL);
}

std::optional<std::pair<std::string, std::string>> Simulator::Impl::key_secret(const std::string& id) const {
  if (auto it = accounts.find(id); it != accounts.end()) {
    return it->second;
  }
  std::lock_guard lock(sts_mutex);
  if (auto it = sts_keys.find(id); it != sts_keys.end()) {
    return std::make_pair(it->second.secret, it->second.token);
  }
  return std::nullopt;
}

std::string Simulator::Impl::canonical_account(const std::string& account) const {
  auto it = key_info.find(account);
  return it == key_info.end() || it->second.account_id.empty() ? account : it->second.account_id;
}

std::string Simulator::Impl::owner_of(const std::string& key_id) const {
  {
    std::lock_guard lock(sts_mutex);
    if (auto it = sts_keys.find(key_id); it != sts_keys.end()) {
      return it->second.owner;
    }
  }
  return canonical_account(key_id);
}

std::optional<Reply> Simulator::Impl::sts_expired(const std::string& key_id, const std::string& rid) const {
  std::lock_guard lock(sts_mutex);
  auto it = sts_keys.find(key_id);
  if (it != sts_keys.end() && SystemClock().now() >= it->second.expires) {
    return api_error(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.", rid);
  }
  return std::nullopt;
}

json Simulator::Impl::issue_credentials(const Role& role, long long duration) {
  StsKey k;
  const std::string id = "STS.NT" + crypto::random_hex(12);
  k.secret = crypto::random_hex(16);
  k.token = "CAIS" + crypto::random_hex(48);
  k.account_id = role_account(role.arn);
  k.owner = k.account_id;
  std::lock_guard lock(sts_mutex);
  k.expires = SystemClock().now() + (sts_expire_after > 0 ? sts_expire_after : duration);
  ++sts_issued;
  if (sts_keys.size() > 100000) {
    const UnixTime now = SystemClock().now();
    std::erase_if(sts_keys, [now](const auto& e) { return e.second.expires < now - 3600; });
  }
  json out = {{"AccessKeyId", id},
              {"AccessKeySecret", k.secret},
              {"SecurityToken", k.token},
              {"Expiration", format_rfc3339(k.expires)}};
  sts_keys.emplace(id, std::move(k));
  return out;
}

Reply Simulator::Impl::assume_role(const std::string& key_id, const Params& p, const std::string& rid) {
  const std::string arn = param_of(p, "RoleArn");
  const std::string session = param_of(p, "RoleSessionName");
  const std::string external = param_of(p, "ExternalId");
  if (role_account(arn).empty()) {
    return api_error(400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.", rid);
  }
  if (!config::valid_role_session_name(session)) {
    return api_error(400, "InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed.", rid);
  }
  long long duration = 3600;
  if (const std::string d = param_of(p, "DurationSeconds"); !d.empty()) {
    auto v = to_int(d);
    if (!v || *v < 900) {
      return api_error(400, "InvalidParameter.DurationSeconds", "The Min/Max value of DurationSeconds is 15min/1hr.",
                       rid);
    }
    duration = *v;
  }
  if (p.count("ExternalId") != 0 && (external.size() < 2 || external.size() > 1224)) {
    return api_error(400, "InvalidParameter.ExternalId", "The parameter ExternalId is wrongly formed.", rid);
  }
  std::string caller_account;
  bool root = false;
  if (auto it = key_info.find(key_id); it != key_info.end()) {
    caller_account = it->second.account_id;
    root = it->second.root;
  } else {
    std::lock_guard lock(sts_mutex);
    if (auto s = sts_keys.find(key_id); s != sts_keys.end()) {
      caller_account = s->second.account_id;
    }
  }
  if (root) {
    return api_error(403, "NoPermission", "Roles may not be assumed by root accounts.", rid);
  }
  auto role = roles.find(lower(arn));
  if (role == roles.end()) {
    return api_error(404, "EntityNotExist.Role", "The role not exists: " + arn + ".", rid);
  }
  const auto& trust = role->second.trust;
  const bool trusted =
      !caller_account.empty() && (std::find(trust.begin(), trust.end(), caller_account) != trust.end() ||
                                  std::find(trust.begin(), trust.end(), "*") != trust.end());
  if (!trusted) {
    return api_error(403, "NoPermission", "You are not authorized to do this action. You should be authorized by RAM.",
                     rid);
  }
  if (!role->second.external_id.empty() && external != role->second.external_id) {
    return api_error(403, "NoPermission", "You are not authorized to do this action. You should be authorized by RAM.",
                     rid);
  }
  if (duration > role->second.max_duration) {
    return api_error(400, "InvalidParameter.DurationSeconds",
                     "The Max value of DurationSeconds is " + std::to_string(role->second.max_duration) + ".", rid);
  }
  Reply r;
  const std::string role_id = "3" + crypto::random_hex(8).substr(0, 16);
  r.body = {
      {"RequestId", rid},
      {"AssumedRoleUser", {{"Arn", role->second.arn + "/" + session}, {"AssumedRoleId", role_id + ":" + session}}},
      {"Credentials", issue_credentials(role->second, duration)}};
  return r;
}

Reply Simulator::Impl::assume_role_with_oidc(const Params& p, const std::string& rid) {
  const std::string arn = param_of(p, "RoleArn");
  const std::string provider_arn = param_of(p, "OIDCProviderArn");
  const std::string token = param_of(p, "OIDCToken");
  const std::string session = param_of(p, "RoleSessionName");
  if (role_account(arn).empty()) {
    return api_error(400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.", rid);
  }
  if (!session.empty() && !config::valid_role_session_name(session)) {
    return api_error(400, "InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed.", rid);
  }
  auto provider = oidc_providers.find(provider_arn);
  if (provider == oidc_providers.end()) {
    return api_error(404, "EntityNotExist.OIDCProvider", "The OIDC provider does not exist.", rid);
  }
  // The claims are checked (issuer, audience, expiry); the token's own signature is not.
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string::npos ? std::string::npos : token.find('.', dot1 + 1);
  std::optional<std::string> payload;
  if (dot2 != std::string::npos) {
    payload = crypto::base64_decode(std::string_view(token).substr(dot1 + 1, dot2 - dot1 - 1), true);
  }
  json claims = payload ? json::parse(*payload, nullptr, false) : json();
  if (!claims.is_object()) {
    return api_error(400, "AuthenticationFail.OIDCToken.Invalid", "The OIDCToken is invalid.", rid);
  }
  if (claims.value("iss", "") != provider->second.issuer) {
    return api_error(400, "AuthenticationFail.OIDCToken.IssuerNotMatch", "The issuer of the OIDCToken does not match.",
                     rid);
  }
  std::vector<std::string> aud;
  if (claims.contains("aud") && claims["aud"].is_string()) {
    aud.push_back(claims["aud"].get<std::string>());
  } else if (claims.contains("aud") && claims["aud"].is_array()) {
    for (const auto& v : claims["aud"]) {
      if (v.is_string()) {
        aud.push_back(v.get<std::string>());
      }
    }
  }
  const auto& wanted = provider->second.audiences;
  if (std::none_of(aud.begin(), aud.end(),
                   [&](const std::string& a) { return std::find(wanted.begin(), wanted.end(), a) != wanted.end(); })) {
    return api_error(400, "AuthenticationFail.OIDCToken.AudienceNotMatch",
                     "The audience of the OIDCToken does not match.", rid);
  }
  if (!claims.contains("exp") || !claims["exp"].is_number() || claims["exp"].get<double>() <= SystemClock().now()) {
    return api_error(400, "AuthenticationFail.OIDCToken.Expired", "The OIDCToken is expired.", rid);
  }
  auto role = roles.find(lower(arn));
  if (role == roles.end()) {
    return api_error(404, "EntityNotExist.Role", "The role not exists: " + arn + ".", rid);
  }
  const auto& trust = role->second.trust;
  if (std::find(trust.begin(), trust.end(), provider_arn) == trust.end()) {
    return api_error(403, "AuthenticationFail.NoPermission", "The role does not trust this OIDC provider.", rid);
  }
  {
    std::lock_guard lock(sts_mutex);
    oidc_tokens_seen.push_back(claims.value("jti", claims.value("sub", "")));
  }
  Reply r;
  const std::string name = session.empty() ? "oidc" : session;
  r.body = {{"RequestId", rid},
            {"AssumedRoleUser", {{"Arn", role->second.arn + "/" + name}, {"AssumedRoleId", "3oidc:" + name}}},
            {"OIDCTokenInfo", {{"Issuer", provider->second.issuer}, {"Subject", claims.value("sub", "")}}},
            {"Credentials", issue_credentials(role->second, 3600)}};
  return r;
}

json Simulator::Impl::sts_stats() const {
  std::lock_guard lock(sts_mutex);
  return {{"issued", sts_issued}, {"oidc_tokens", oidc_tokens_seen}};
}

void Simulator::Impl::sts_routes() {
  // The ECS metadata service, hardened mode: a session token from PUT, then GETs carrying it.
  server.Put("/latest/api/token", [this](const httplib::Request& req, httplib::Response& res) {
    auto ttl = to_int(req.get_header_value("X-aliyun-ecs-metadata-token-ttl-seconds"));
    if (!ttl || *ttl < 1 || *ttl > 21600) {
      res.status = 400;
      return;
    }
    const std::string token = crypto::random_hex(24);
    std::lock_guard lock(sts_mutex);
    metadata_tokens[token] = SystemClock().now() + *ttl;
    res.set_content(token, "text/plain");
  });
  auto authorized = [this](const httplib::Request& req, httplib::Response& res) {
    const std::string token = req.get_header_value("X-aliyun-ecs-metadata-token");
    if (token.empty()) {
      res.status = metadata_hardened ? 403 : 200;
      return !metadata_hardened;
    }
    std::lock_guard lock(sts_mutex);
    auto it = metadata_tokens.find(token);
    if (it == metadata_tokens.end() || it->second <= SystemClock().now()) {
      res.status = 401;
      return false;
    }
    return true;
  };
  const std::string prefix = "/latest/meta-data/ram/security-credentials/";
  server.Get(prefix, [this, authorized](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) {
      return;
    }
    if (metadata_role.empty()) {
      res.status = 404;
      return;
    }
    res.set_content(metadata_role.substr(metadata_role.find("role/") + 5), "text/plain");
  });
  server.Get(prefix + "(.+)", [this, authorized](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) {
      return;
    }
    auto role = roles.find(lower(metadata_role));
    if (metadata_role.empty() || role == roles.end() ||
        lower(req.matches[1].str()) != lower(metadata_role.substr(metadata_role.find("role/") + 5))) {
      res.status = 404;
      return;
    }
    json c = issue_credentials(role->second, 21600);
    c["Code"] = "Success";
    c["LastUpdated"] = format_rfc3339(SystemClock().now());
    res.set_content(c.dump(), "application/json");
  });
  // A credentials URI, as a sidecar serves one.
  server.Get("/_sim/credentials-uri", [this](const httplib::Request&, httplib::Response& res) {
    auto role = roles.find(lower(credentials_uri_role));
    if (role == roles.end()) {
      res.status = 404;
      res.set_content(R"({"Code":"NotFound"})", "application/json");
      return;
    }
    json c = issue_credentials(role->second, 3600);
    c["Code"] = "Success";
    res.set_content(c.dump(), "application/json");
  });
  // {"expire_after": N}: credentials issued from now on live N seconds (0: as asked);
  // {"expire_all": true}: every credential issued so far expires now.
  server.Post("/_sim/sts", [this](const httplib::Request& req, httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) {
      res.status = 400;
      return;
    }
    std::lock_guard lock(sts_mutex);
    if (body.contains("expire_after") && body["expire_after"].is_number_integer()) {
      sts_expire_after = body["expire_after"].get<long long>();
    }
    if (body.value("expire_all", false)) {
      const UnixTime now = SystemClock().now();
      for (auto& [id, k] : sts_keys) {
        k.expires = std::min(k.expires, now);
      }
    }
    res.set_content("{\"ok\":true}", "application/json");
  });
}

}  // namespace acmon::sim
