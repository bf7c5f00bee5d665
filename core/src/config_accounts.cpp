// [[accounts]]: where each account's credentials come from, and the role they may assume.
#include "toml_reader.hpp"

namespace acmon::config::toml_detail {

namespace {

constexpr const char* k_sources = "\"default\", \"env\", \"oidc\", \"profile:NAME\", \"ram-role:ROLE\" or \"uri:URL\"";

bool valid_uri(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.substr(0, scheme.size()) == scheme && url.size() > scheme.size()) {
      return url.size() <= 2048 && std::all_of(url.begin(), url.end(), [](char c) {
               return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
             });
    }
  }
  return false;
}

void read_source(TableReader& r, Account& a, const std::string& c) {
  if (c == "env") {
    a.source = CredentialSource::env;
  } else if (c == "default") {
    a.source = CredentialSource::chain;
  } else if (c == "oidc") {
    a.source = CredentialSource::oidc;
  } else if (c.rfind("profile:", 0) == 0 && c.size() > 8) {
    a.source = CredentialSource::profile;
    a.source_arg = c.substr(8);
  } else if (c.rfind("ram-role:", 0) == 0 && c.size() > 9) {
    a.source = CredentialSource::ram_role;
    a.source_arg = c.substr(9);
  } else if (c.rfind("uri:", 0) == 0) {
    a.source = CredentialSource::uri;
    a.source_arg = c.substr(4);
    if (!valid_uri(a.source_arg)) {
      // Not quoted: a credentials URI may carry a token.
      r.fail("credentials",
             "\"uri:…\": the credentials URI must be an http:// or https:// URL (printable, at most "
             "2048 characters)");
    }
  } else {
    r.fail("credentials", quoted(c) + " is not one of " + k_sources);
  }
}

// role_arn, oidc_provider_arn, oidc_token_file: only with credentials = "oidc".
void read_oidc(TableReader& r, Account& a) {
  auto role = r.string("role_arn");
  auto provider = r.string("oidc_provider_arn");
  auto token = r.string("oidc_token_file");
  for (const auto& [key, value] :
       {std::pair{"role_arn", &role}, {"oidc_provider_arn", &provider}, {"oidc_token_file", &token}}) {
    if (*value && a.source != CredentialSource::oidc) {
      r.fail(key, "is used only with credentials = \"oidc\"");
    }
    if (*value && (*value)->empty()) {
      r.fail(key, "must not be empty");
    }
  }
  if (role && !valid_role_arn(*role)) {
    r.fail("role_arn", quoted(*role) + " is not a role ARN (acs:ram::<16-digit account id>:role/<name>)");
  }
  if (provider && !valid_oidc_provider_arn(*provider)) {
    r.fail("oidc_provider_arn",
           quoted(*provider) + " is not an OIDC provider ARN (acs:ram::<16-digit account id>:oidc-provider/<name>)");
  }
  a.role_arn = role.value_or("");
  a.oidc_provider_arn = provider.value_or("");
  a.oidc_token_file = token.value_or("");
}

void read_assume_role(TableReader& r, Account& a) {
  auto role = r.string("assume_role");
  auto external = r.string("external_id");
  auto session = r.string("role_session_name");
  auto endpoint = r.string("sts_endpoint");
  if (role && !valid_role_arn(*role)) {
    r.fail("assume_role", quoted(*role) + " is not a role ARN (acs:ram::<16-digit account id>:role/<name>)");
  }
  if (external && !role) {
    r.fail("external_id", "is used only with assume_role");
  }
  if (external && (external->size() < 2 || external->size() > 1224)) {
    r.fail("external_id", "must be 2 to 1224 characters long");
  }
  if (session && !role && a.source != CredentialSource::oidc) {
    r.fail("role_session_name", "is used only with assume_role or credentials = \"oidc\"");
  }
  if (session && !valid_role_session_name(*session)) {
    r.fail("role_session_name", quoted(*session) + " is not 2 to 64 of the characters A-Z a-z 0-9 . @ _ -");
  }
  if (endpoint && !valid_endpoint(*endpoint)) {
    r.fail("sts_endpoint", quoted(*endpoint) +
                               " is not http(s)://HOST[:PORT] (no path, user, query or fragment), e.g. "
                               "\"https://sts.aliyuncs.com\"");
  }
  a.assume_role = role.value_or("");
  a.external_id = external.value_or("");
  a.role_session_name = session.value_or("");
  a.sts_endpoint = endpoint.value_or("");
}

}  // namespace

Account read_account(const toml::table& t, const std::string& prefix, const std::string& file) {
  TableReader r(t, prefix, file);
  Account a;
  a.line = r.line();
  a.name = r.required_string("name");
  r.check_name(a.name);
  if (r.has("access_key_secret")) {
    r.fail("access_key_secret",
           "secrets are not accepted inline; use access_key_secret_file (mode 0600 or stricter) or "
           "access_key_secret_env");
  }
  auto id = r.string("access_key_id");
  auto file_path = r.string("access_key_secret_file");
  auto env = r.string("access_key_secret_env");
  auto token_env = r.string("security_token_env");
  auto creds = r.string("credentials");
  if (creds) {
    if (id || file_path || env || token_env) {
      r.fail("credentials",
             "credentials = " + quoted(*creds) +
                 " cannot be combined with access_key_id, access_key_secret_file, access_key_secret_env or "
                 "security_token_env");
    }
    read_source(r, a, *creds);
  }
  read_oidc(r, a);
  read_assume_role(r, a);
  r.finish();
  if (creds) {
    return a;
  }
  if (!id) {
    r.fail_table("account " + quoted(a.name) +
                 " has no credentials: set access_key_id with access_key_secret_file or access_key_secret_env, "
                 "or credentials = " +
                 k_sources);
  }
  if (id->empty()) {
    r.fail("access_key_id", "must not be empty");
  }
  if (!valid_access_key_id(*id)) {
    r.fail("access_key_id", quoted(*id) + " is not an AccessKey id (letters, digits, '.', '_' and '-', at most 128)");
  }
  if (file_path && env) {
    r.fail("access_key_secret_env", "set either access_key_secret_file or access_key_secret_env, not both");
  }
  if (!file_path && !env) {
    r.fail("access_key_id", "has no secret: set access_key_secret_file or access_key_secret_env");
  }
  if ((file_path && file_path->empty()) || (env && env->empty())) {
    r.fail(file_path ? "access_key_secret_file" : "access_key_secret_env", "must not be empty");
  }
  a.source = CredentialSource::static_key;
  a.access_key_id = *id;
  a.secret_file = file_path.value_or("");
  a.secret_env = env.value_or("");
  a.security_token_env = token_env.value_or("");
  return a;
}

Organization read_organization(const toml::table& t, const std::string& prefix, const std::string& file,
                               const Config& cfg) {
  TableReader r(t, prefix, file);
  Organization o;
  o.line = r.line();
  o.name = r.required_string("name");
  r.check_name(o.name);
  if (cfg.find_account(o.name) != nullptr) {
    r.fail("name", quoted(o.name) + " is also the name of an [[accounts]] entry: collectors could not tell them apart");
  }
  if (cfg.find_organization(o.name) != nullptr) {
    r.fail("name", "organization " + quoted(o.name) + " is defined twice");
  }
  o.account = r.required_string("account");
  if (cfg.find_account(o.account) == nullptr) {
    r.fail("account",
           "no [[accounts]] entry is named " + quoted(o.account) + " (the management account's credentials)");
  }
  if (auto role = r.string("role")) {
    if (!valid_role_name(*role)) {
      r.fail("role", quoted(*role) + " is not a RAM role name (1 to 64 of A-Z a-z 0-9 . @ _ -)");
    }
    o.role = *role;
  }
  o.include_management = r.boolean("include_management").value_or(true);
  if (auto d = r.duration("refresh")) {
    if (*d > k_max_interval) {
      r.fail("refresh", "must be at most 366d");
    }
    o.refresh = *d;
  }
  if (auto e = r.string("endpoint")) {
    if (!valid_endpoint(*e)) {
      r.fail("endpoint", quoted(*e) +
                             " is not http(s)://HOST[:PORT] (no path, user, query or fragment), e.g. "
                             "\"https://resourcemanager.aliyuncs.com\"");
    }
    o.endpoint = *e;
  }
  r.finish();
  return o;
}

}  // namespace acmon::config::toml_detail
