// The web configuration file: YAML (yaml-cpp) into WebConfig, strictly, as exporter-toolkit reads it.
#include "acmon/daemon/web_config.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "acmon/core/config.hpp"
#include "web_tls.hpp"

namespace acmon::daemon {

namespace {

constexpr std::size_t k_max_web_config_bytes = std::size_t{1} << 20;

int line_of(const YAML::Node& n) {
  return n.Mark().is_null() ? 0 : n.Mark().line + 1;
}

[[noreturn]] void fail(const std::string& file, const YAML::Node& n, const std::string& key, const std::string& what) {
  throw config::ConfigError(file, line_of(n), key, what);
}

// "where.key", or key at the top.
std::string dotted(const std::string& where, const std::string& key) {
  std::string out = where;
  if (!out.empty()) {
    out += '.';
  }
  out += key;
  return out;
}

// The entries of a mapping, in order, with duplicate keys refused (YAML forbids them; yaml-cpp
// would keep the first silently).
std::vector<std::pair<std::string, YAML::Node>> entries(const std::string& file, const YAML::Node& map,
                                                        const std::string& where) {
  std::vector<std::pair<std::string, YAML::Node>> out;
  std::set<std::string> seen;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) {
      fail(file, kv.first, where, "a key must be a plain name");
    }
    const auto key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      fail(file, kv.first, dotted(where, key), "appears twice");
    }
    out.emplace_back(key, kv.second);
  }
  return out;
}

std::string scalar(const std::string& file, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) {
    fail(file, n, key, "expected a string");
  }
  return n.Scalar();
}

// Fields of exporter-toolkit's format that acmon does not implement: refused by name rather than
// mistaken for a typo or silently ignored.
const std::set<std::string> k_unsupported_tls{"cert",
                                              "key",
                                              "client_ca",
                                              "client_allowed_sans",
                                              "max_version",
                                              "cipher_suites",
                                              "prefer_server_cipher_suites",
                                              "curve_preferences"};
const std::set<std::string> k_unsupported_top{"http_server_config", "rate_limit"};

int parse_version(const std::string& file, const YAML::Node& n, const std::string& key) {
  static const std::map<std::string, int> k_versions{
      {"TLS10", 0x0301}, {"TLS11", 0x0302}, {"TLS12", 0x0303}, {"TLS13", 0x0304}};
  const auto v = scalar(file, n, key);
  const auto it = k_versions.find(v);
  if (it == k_versions.end()) {
    fail(file, n, key, "\"" + v + "\" is not one of TLS10, TLS11, TLS12, TLS13");
  }
  return it->second;
}

ClientAuth parse_client_auth(const std::string& file, const YAML::Node& n, const std::string& key) {
  static const std::map<std::string, ClientAuth> k_types{
      {"NoClientCert", ClientAuth::no_client_cert},
      {"RequestClientCert", ClientAuth::request_client_cert},
      {"RequireAnyClientCert", ClientAuth::require_any_client_cert},
      {"VerifyClientCertIfGiven", ClientAuth::verify_client_cert_if_given},
      {"RequireAndVerifyClientCert", ClientAuth::require_and_verify_client_cert}};
  const auto v = scalar(file, n, key);
  const auto it = k_types.find(v);
  if (it == k_types.end()) {
    fail(file, n, key,
         "\"" + v +
             "\" is not one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
             "RequireAndVerifyClientCert");
  }
  return it->second;
}

std::optional<WebTlsConfig> parse_tls(const std::string& file, const YAML::Node& node) {
  const std::string where = "tls_server_config";
  if (node.IsNull()) {
    return std::nullopt;
  }
  if (!node.IsMap()) {
    fail(file, node, where, "expected a mapping");
  }
  if (node.size() == 0) {
    return std::nullopt;
  }
  WebTlsConfig tls;
  bool ca_set = false;
  for (const auto& [key, value] : entries(file, node, where)) {
    const std::string name = dotted(where, key);
    if (key == "cert_file") {
      tls.cert_file = scalar(file, value, name);
    } else if (key == "key_file") {
      tls.key_file = scalar(file, value, name);
    } else if (key == "client_ca_file") {
      tls.client_ca_file = scalar(file, value, name);
      ca_set = !tls.client_ca_file.empty();
    } else if (key == "client_auth_type") {
      tls.client_auth = parse_client_auth(file, value, name);
    } else if (key == "min_version") {
      tls.min_version = parse_version(file, value, name);
    } else if (k_unsupported_tls.count(key) != 0) {
      fail(file, value, name, "is part of exporter-toolkit's format but not supported by acmon");
    } else {
      fail(file, value, name, "unknown key");
    }
  }
  if (tls.cert_file.empty()) {
    fail(file, node, where + ".cert_file", "is required (with key_file) when tls_server_config is set");
  }
  if (tls.key_file.empty()) {
    fail(file, node, where + ".key_file", "is required (with cert_file) when tls_server_config is set");
  }
  const bool verifies = tls.client_auth == ClientAuth::verify_client_cert_if_given ||
                        tls.client_auth == ClientAuth::require_and_verify_client_cert;
  if (verifies && !ca_set) {
    fail(file, node, where + ".client_ca_file", "is required to verify client certificates (client_auth_type)");
  }
  if (ca_set && tls.client_auth == ClientAuth::no_client_cert) {
    fail(file, node, where + ".client_auth_type",
         "client_ca_file is set but client certificates are not asked for (NoClientCert)");
  }
  return tls;
}

std::string read_limited(const std::string& path, std::size_t limit, std::string& error) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    error = ec ? ec.message() : (std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
    return {};
  }
  if (std::filesystem::file_size(path, ec) > limit) {
    error = "larger than " + std::to_string(limit / 1024) + " KiB";
    return {};
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in.good() && !in.eof()) {
    error = "cannot be read";
    return {};
  }
  return ss.str();
}

}  // namespace

WebConfig parse_web_config(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw config::ConfigError(file, e.mark.is_null() ? 0 : e.mark.line + 1, "", "not valid YAML: " + e.msg);
  }
  WebConfig cfg;
  cfg.path = file;
  if (root.IsNull()) {
    cfg.auth = std::make_shared<BasicAuth>();
    return cfg;  // an empty file: plain HTTP, no authentication (as exporter-toolkit)
  }
  if (!root.IsMap()) {
    fail(file, root, "", "expected a mapping with tls_server_config and basic_auth_users");
  }
  for (const auto& [key, value] : entries(file, root, "")) {
    if (key == "tls_server_config") {
      cfg.tls = parse_tls(file, value);
    } else if (key == "basic_auth_users") {
      if (value.IsNull()) {
        continue;
      }
      if (!value.IsMap()) {
        fail(file, value, key, "expected a mapping of user names to bcrypt hashes");
      }
      for (const auto& [user, hash] : entries(file, value, key)) {
        const std::string name = dotted(key, user);
        if (user.empty() || user.find(':') != std::string::npos) {
          fail(file, hash, key, "a user name must be non-empty and without ':'");
        }
        // The hash is never repeated in a message: it is as good as a password to guess against.
        if (!hash.IsScalar() || !BasicAuth::valid_hash(hash.Scalar())) {
          fail(file, hash, name, "is not a bcrypt hash ($2y$, $2b$ or $2a$, e.g. from htpasswd -nBC 10 USER)");
        }
        cfg.users.emplace(user, hash.Scalar());
      }
    } else if (k_unsupported_top.count(key) != 0) {
      fail(file, value, key, "is part of exporter-toolkit's format but not supported by acmon");
    } else {
      fail(file, value, key, "unknown key");
    }
  }
  cfg.auth = std::make_shared<BasicAuth>(cfg.users);
  return cfg;
}

WebConfig load_web_config(const std::string& path) {
  std::string error;
  const std::string text = read_limited(path, k_max_web_config_bytes, error);
  if (!error.empty()) {
    throw config::ConfigError(path, 0, "", "cannot read the web configuration: " + error);
  }
  WebConfig cfg = parse_web_config(text, path);
  if (!cfg.tls) {
    return cfg;
  }
  auto& tls = *cfg.tls;
  const auto dir = std::filesystem::path(path).parent_path();
  // exporter-toolkit reads relative names from the configuration file's folder.
  auto read = [&](const std::string& name, const std::string& key) {
    const auto full = std::filesystem::path(name).is_absolute() ? std::filesystem::path(name) : dir / name;
    std::string why;
    std::string content = read_limited(full.string(), k_max_web_config_bytes, why);
    if (!why.empty()) {
      throw config::ConfigError(path, 0, "tls_server_config." + key, "cannot read " + full.string() + ": " + why);
    }
    return content;
  };
  const std::string cert = read(tls.cert_file, "cert_file");
  const std::string key = read(tls.key_file, "key_file");
  const std::string ca = tls.client_ca_file.empty() ? std::string() : read(tls.client_ca_file, "client_ca_file");
  tls.identity = TlsIdentity::make(path, cert, key, ca, tls.client_auth, tls.min_version);
  return cfg;
}

}  // namespace acmon::daemon
