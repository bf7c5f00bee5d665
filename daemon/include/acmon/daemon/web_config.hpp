// The web configuration file ([daemon] web_config): the Prometheus exporter-toolkit's format, TLS
// and basic authentication for every endpoint of the daemon's HTTP server.
//
//   tls_server_config:
//     cert_file: server.crt          # relative names are read from the file's folder
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert
//     client_ca_file: clients-ca.crt
//     min_version: TLS12
//   basic_auth_users:
//     prometheus: $2y$10$…          # bcrypt
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "acmon/daemon/basic_auth.hpp"

namespace acmon::daemon {

// tls_server_config.client_auth_type, as exporter-toolkit spells them (Go's tls.ClientAuthType).
enum class ClientAuth {
  no_client_cert,                 // NoClientCert (default)
  request_client_cert,            // RequestClientCert: asked for, not required, not verified
  require_any_client_cert,        // RequireAnyClientCert: required, not verified
  verify_client_cert_if_given,    // VerifyClientCertIfGiven: verified when sent
  require_and_verify_client_cert  // RequireAndVerifyClientCert
};

// A certificate chain and key, the clients' CAs and the handshake's rules, ready for GnuTLS
// (private to the daemon: web_tls.hpp).
class TlsIdentity;

struct WebTlsConfig {
  std::string cert_file;       // as written
  std::string key_file;        // as written
  std::string client_ca_file;  // as written; empty: none
  ClientAuth client_auth = ClientAuth::no_client_cert;
  int min_version = 0x0303;  // TLS10 0x0301, TLS11 0x0302, TLS12 0x0303 (default), TLS13 0x0304
  // Built from the files by load_web_config; null after parse_web_config.
  std::shared_ptr<const TlsIdentity> identity;
};

struct WebConfig {
  std::string path;
  std::optional<WebTlsConfig> tls;           // absent or empty tls_server_config: plain HTTP
  std::map<std::string, std::string> users;  // basic_auth_users: user → bcrypt hash
  std::shared_ptr<const BasicAuth> auth;     // the users, with their cache
};

// The file's text, checked: unknown keys, wrong types, missing or contradictory settings and hashes
// that are not bcrypt are config::ConfigError ("FILE:LINE: KEY: what", never a hash or a key).
// Fields of exporter-toolkit that acmon does not implement are refused by name. Reads no other file.
WebConfig parse_web_config(const std::string& text, const std::string& file);
// Reads path (at most 1 MiB) and the files it names (relative to its folder) and builds the TLS
// identity: a certificate or key that cannot be read or used, or that do not match, is a
// config::ConfigError naming path and the setting.
WebConfig load_web_config(const std::string& path);

}  // namespace acmon::daemon
