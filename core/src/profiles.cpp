// Credentials from a profile: the Alibaba Cloud credentials file (INI) or the aliyun CLI's config.json,
// every mode of the latter (AK, StsToken, RamRoleArn, EcsRamRole, OIDC, ChainableRamRoleArn).
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "acmon/core/credentials.hpp"
#include "acmon/core/text.hpp"
#include "credential_sources.hpp"

namespace acmon {

namespace {

using IniSection = std::map<std::string, std::string>;

// A minimal INI reader: [section], key = value, ';' and '#' comments, optional quotes.
std::map<std::string, IniSection> read_ini(std::istream& in) {
  std::map<std::string, IniSection> out;
  std::string line;
  std::string section;
  while (std::getline(in, line)) {
    std::string t(trim(line));
    if (t.empty() || t[0] == ';' || t[0] == '#') {
      continue;
    }
    if (t.front() == '[' && t.back() == ']') {
      section = std::string(trim(std::string_view(t).substr(1, t.size() - 2)));
      out[section];
      continue;
    }
    const auto eq = t.find('=');
    if (eq == std::string::npos || section.empty()) {
      continue;
    }
    std::string key(trim(std::string_view(t).substr(0, eq)));
    std::string value(trim(std::string_view(t).substr(eq + 1)));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    out[section][key] = value;
  }
  return out;
}

constexpr int k_max_chain = 8;  // ChainableRamRoleArn: source profiles followed at most

std::string who_of(const config::Account& a, const std::string& profile) {
  return "account '" + a.name + "' (profile '" + cap_text(profile, 64) + "')";
}

Error perr(const std::string& who, const std::string& what) {
  return make_error(ErrorKind::config, who + ": " + what);
}

std::string session_of(const config::Account& a, const std::string& configured) {
  if (!configured.empty()) {
    return configured;
  }
  return a.role_session_name.empty() ? "acmon" : a.role_session_name;
}

std::unique_ptr<CredentialProvider> ini_provider(const config::Account& a, const std::string& path,
                                                 const std::string& name, const CredentialOptions& o) {
  const std::string who = who_of(a, name);
  std::ifstream in(path);
  auto ini = read_ini(in);
  auto it = ini.find(name);
  if (it == ini.end()) {
    return make_failing_provider(perr(who, "no profile of that name in " + path));
  }
  const IniSection& s = it->second;
  auto get = [&](const char* k) -> std::string {
    auto f = s.find(k);
    return f == s.end() ? std::string() : f->second;
  };
  const std::string type = get("type").empty() ? "access_key" : get("type");
  if (type == "ecs_ram_role") {
    return make_metadata_provider(who, get("role_name"), o);
  }
  if (type != "access_key" && type != "sts" && type != "ram_role_arn") {
    return make_failing_provider(perr(who, "type '" + cap_text(type, 40) + "' in " + path +
                                               " is not supported (access_key, sts, ram_role_arn or "
                                               "ecs_ram_role)"));
  }
  Credentials c;
  c.access_key_id = get("access_key_id");
  c.access_key_secret = get("access_key_secret");
  if (c.access_key_id.empty() || c.access_key_secret.empty()) {
    return make_failing_provider(perr(who, "access_key_id or access_key_secret is missing in " + path));
  }
  if (type == "sts") {
    c.security_token = get("security_token");
    if (c.security_token.empty()) {
      return make_failing_provider(perr(who, "type sts needs security_token in " + path));
    }
  }
  if (type == "ram_role_arn") {
    if (!config::valid_role_arn(get("role_arn"))) {
      return make_failing_provider(perr(who, "type ram_role_arn needs a role_arn in " + path));
    }
    return make_assume_role_provider(
        make_static_provider(std::move(c)),
        {who, sts_endpoint_of(a, o), get("role_arn"), session_of(a, get("role_session_name")), get("external_id")}, o);
  }
  return make_static_provider(std::move(c));
}

std::unique_ptr<CredentialProvider> cli_provider(const config::Account& a, const std::string& path,
                                                 const nlohmann::json& profiles, const std::string& name, int depth,
                                                 const CredentialOptions& o) {
  const std::string who = who_of(a, name);
  for (const auto& p : profiles) {
    // A field of another type reads as missing (json::value would throw).
    const auto text = [&](const char* key, const char* fallback = "") {
      auto it = p.find(key);
      if (it == p.end()) {
        return std::string(fallback);
      }
      return it->is_string() ? it->get<std::string>() : std::string();
    };
    if (!p.is_object() || text("name") != name) {
      continue;
    }
    const std::string mode = text("mode", "AK");
    std::string endpoint = sts_endpoint_of(a, o);
    if (a.sts_endpoint.empty() && config::valid_region_id(text("sts_region"))) {
      endpoint = "https://sts." + text("sts_region") + ".aliyuncs.com";
    }
    const RoleTarget role{who, endpoint, text("ram_role_arn"), session_of(a, text("ram_session_name")),
                          text("external_id")};
    const bool needs_role = mode == "RamRoleArn" || mode == "ChainableRamRoleArn" || mode == "OIDC";
    if (needs_role && !config::valid_role_arn(role.role_arn)) {
      std::string why = "mode ";
      why.append(mode).append(" needs ram_role_arn (a role ARN) in ").append(path);
      return make_failing_provider(perr(who, why));
    }
    if (mode == "EcsRamRole") {
      return make_metadata_provider(who, text("ram_role_name"), o);
    }
    if (mode == "OIDC") {
      OidcTarget t{who, endpoint, role.role_arn, text("oidc_provider_arn"), text("oidc_token_file"), role.session_name};
      if (!config::valid_oidc_provider_arn(t.provider_arn) || t.token_file.empty()) {
        return make_failing_provider(perr(who, "mode OIDC needs oidc_provider_arn and oidc_token_file in " + path));
      }
      return make_oidc_provider(std::move(t), o);
    }
    if (mode == "ChainableRamRoleArn") {
      const std::string source = text("source_profile");
      if (source.empty() || source == name || depth >= k_max_chain) {
        return make_failing_provider(
            perr(who, "mode ChainableRamRoleArn needs a source_profile other than itself, without a loop, in " + path));
      }
      return make_assume_role_provider(cli_provider(a, path, profiles, source, depth + 1, o), role, o);
    }
    if (mode != "AK" && mode != "StsToken" && mode != "RamRoleArn") {
      return make_failing_provider(perr(who, "mode '" + cap_text(mode, 40) + "' in " + path +
                                                 " is not supported (AK, StsToken, RamRoleArn, EcsRamRole, OIDC or "
                                                 "ChainableRamRoleArn)"));
    }
    Credentials c;
    c.access_key_id = text("access_key_id");
    c.access_key_secret = text("access_key_secret");
    if (c.access_key_id.empty() || c.access_key_secret.empty()) {
      return make_failing_provider(perr(who, "access_key_id or access_key_secret is missing in " + path));
    }
    if (mode == "StsToken") {
      c.security_token = text("sts_token");
      if (c.security_token.empty()) {
        return make_failing_provider(perr(who, "mode StsToken needs sts_token in " + path));
      }
    }
    if (mode == "RamRoleArn") {
      return make_assume_role_provider(make_static_provider(std::move(c)), role, o);
    }
    return make_static_provider(std::move(c));
  }
  return make_failing_provider(perr(who, "no profile of that name in " + path));
}

}  // namespace

std::unique_ptr<CredentialProvider> make_ini_profile_provider(const config::Account& a, const std::string& path,
                                                              const std::string& name, const CredentialOptions& o) {
  return ini_provider(a, path, name, o);
}

std::unique_ptr<CredentialProvider> make_cli_profile_provider(const config::Account& a, const std::string& path,
                                                              const std::string& name, const CredentialOptions& o) {
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("profiles") || !j["profiles"].is_array()) {
    return make_failing_provider(
        perr(who_of(a, name.empty() ? "current" : name), path + " is not an aliyun CLI configuration (no profiles[])"));
  }
  std::string chosen = name;
  if (chosen.empty()) {
    auto cur = j.find("current");
    chosen = cur != j.end() && cur->is_string() && !cur->get<std::string>().empty() ? cur->get<std::string>()
                                                                                    : std::string("default");
  }
  return cli_provider(a, path, j["profiles"], chosen, 0, o);
}

std::unique_ptr<CredentialProvider> make_profile_provider(const config::Account& a, const CredentialOptions& o) {
  const std::string home = home_of(o);
  const std::string& name = a.source_arg;
  if (auto f = o.env("ALIBABA_CLOUD_CREDENTIALS_FILE"); f && !f->empty()) {
    if (!readable_file(*f)) {
      return make_failing_provider(
          perr(who_of(a, name), "ALIBABA_CLOUD_CREDENTIALS_FILE names " + *f + ", which cannot be read"));
    }
    return ini_provider(a, *f, name, o);
  }
  std::vector<std::string> tried;
  for (const char* rel : {"/.alibabacloud/credentials.ini", "/.alibabacloud/credentials"}) {
    const std::string p = home + rel;
    tried.push_back(p);
    if (!home.empty() && readable_file(p)) {
      std::ifstream in(p);
      if (read_ini(in).count(name) != 0) {
        return ini_provider(a, p, name, o);
      }
    }
  }
  const std::string cli = home + "/.aliyun/config.json";
  tried.push_back(cli);
  if (!home.empty() && readable_file(cli)) {
    return make_cli_profile_provider(a, cli, name, o);
  }
  std::string list;
  for (const auto& t : tried) {
    if (!list.empty()) {
      list += ", ";
    }
    list += t;
  }
  return make_failing_provider(perr(who_of(a, name), "no such profile (looked in " + list + ")"));
}

}  // namespace acmon
