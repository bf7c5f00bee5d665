// Credentials from a profile: the Alibaba Cloud credentials file (INI) or the aliyun CLI's config.json.
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "acmon/core/credentials.hpp"
#include "acmon/core/text.hpp"
#include "credential_sources.hpp"

namespace acmon {

namespace {

bool file_exists(const std::string& p) {
  return std::ifstream(p).good();
}

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

Error perr(const config::Account& a, const std::string& what) {
  return make_error(ErrorKind::config, "account '" + a.name + "' (profile '" + a.source_arg + "'): " + what);
}

Result<Credentials> from_ini(const config::Account& a, const std::string& path) {
  std::ifstream in(path);
  auto ini = read_ini(in);
  auto it = ini.find(a.source_arg);
  if (it == ini.end()) {
    return perr(a, "no profile of that name in " + path);
  }
  const IniSection& s = it->second;
  auto get = [&](const char* k) -> std::string {
    auto f = s.find(k);
    return f == s.end() ? std::string() : f->second;
  };
  const std::string type = get("type").empty() ? "access_key" : get("type");
  if (type != "access_key" && type != "sts") {
    return perr(a, "type '" + type + "' in " + path + " is not supported (access_key or sts)");
  }
  Credentials c;
  c.access_key_id = get("access_key_id");
  c.access_key_secret = get("access_key_secret");
  if (c.access_key_id.empty() || c.access_key_secret.empty()) {
    return perr(a, "access_key_id or access_key_secret is missing in " + path);
  }
  if (type == "sts") {
    c.security_token = get("security_token");
    if (c.security_token.empty()) {
      return perr(a, "type sts needs security_token in " + path);
    }
  }
  return c;
}

Result<Credentials> from_aliyun_cli(const config::Account& a, const std::string& path) {
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("profiles") || !j["profiles"].is_array()) {
    return perr(a, path + " is not an aliyun CLI configuration (no profiles[])");
  }
  for (const auto& p : j["profiles"]) {
    // A field of another type reads as missing (json::value would throw).
    const auto text = [&](const char* key, const char* fallback = "") {
      auto it = p.find(key);
      if (it == p.end()) {
        return std::string(fallback);
      }
      return it->is_string() ? it->get<std::string>() : std::string();
    };
    if (!p.is_object() || text("name") != a.source_arg) {
      continue;
    }
    const std::string mode = text("mode", "AK");
    if (mode != "AK" && mode != "StsToken") {
      std::string why = "mode '";
      why.append(cap_text(mode, 40)).append("' in ").append(path).append(" is not supported (AK or StsToken)");
      return perr(a, why);
    }
    Credentials c;
    c.access_key_id = text("access_key_id");
    c.access_key_secret = text("access_key_secret");
    if (c.access_key_id.empty() || c.access_key_secret.empty()) {
      return perr(a, "access_key_id or access_key_secret is missing in " + path);
    }
    if (mode == "StsToken") {
      c.security_token = text("sts_token");
      if (c.security_token.empty()) {
        return perr(a, "mode StsToken needs sts_token in " + path);
      }
    }
    return c;
  }
  return perr(a, "no profile of that name in " + path);
}

}  // namespace

Result<Credentials> resolve_profile(const config::Account& a, const CredentialOptions& o) {
  std::string home = o.home;
  if (home.empty()) {
    home = o.env("HOME").value_or("");
  }
  std::vector<std::string> tried;
  if (auto f = o.env("ALIBABA_CLOUD_CREDENTIALS_FILE"); f && !f->empty()) {
    if (!file_exists(*f)) {
      return perr(a, "ALIBABA_CLOUD_CREDENTIALS_FILE names " + *f + ", which cannot be read");
    }
    return from_ini(a, *f);
  }
  for (const char* rel : {"/.alibabacloud/credentials.ini", "/.alibabacloud/credentials"}) {
    const std::string p = home + rel;
    tried.push_back(p);
    if (!home.empty() && file_exists(p)) {
      auto r = from_ini(a, p);
      if (r || r.error().message.find("no profile of that name") == std::string::npos) {
        return r;
      }
    }
  }
  const std::string cli = home + "/.aliyun/config.json";
  tried.push_back(cli);
  if (!home.empty() && file_exists(cli)) {
    return from_aliyun_cli(a, cli);
  }
  std::string list;
  for (const auto& t : tried) {
    if (!list.empty()) {
      list += ", ";
    }
    list += t;
  }
  return perr(a, "no such profile (looked in " + list + ")");
}

}  // namespace acmon
