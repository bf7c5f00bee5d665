// Private: the GnuTLS side of the web configuration (web_config.hpp) — credentials built once per
// configuration, and what each new connection's session is given from them.
#pragma once

#include <gnutls/gnutls.h>

#include <memory>
#include <string>

#include "acmon/daemon/web_config.hpp"

namespace acmon::daemon {

class TlsIdentity {
 public:
  // Parses the PEM certificate chain, private key and (when not empty) client CAs, and checks that
  // the key is the certificate's. Errors are config::ConfigError naming file and the setting;
  // they never quote the key.
  static std::shared_ptr<const TlsIdentity> make(const std::string& file, const std::string& cert_pem,
                                                 const std::string& key_pem, const std::string& ca_pem,
                                                 ClientAuth client_auth, int min_version);
  ~TlsIdentity();
  TlsIdentity(const TlsIdentity&) = delete;
  TlsIdentity& operator=(const TlsIdentity&) = delete;

  // For libmicrohttpd's start (MHD_OPTION_HTTPS_MEM_CERT/KEY): every session is then given this
  // identity's credentials instead (configure), so a reload's new certificate serves at once.
  [[nodiscard]] const std::string& cert_pem() const { return m_cert_pem; }
  [[nodiscard]] const std::string& key_pem() const { return m_key_pem; }

  // A new connection's session, before its handshake: these credentials and client CAs, the
  // client certificate asked for or required, verified in the handshake when client_auth says so,
  // and the minimum version. False when GnuTLS refuses (the connection is then closed).
  bool configure(gnutls_session_t session) const;
  // After the handshake, what client_auth demands of the client's certificate holds (a second
  // look at what the handshake enforced already).
  bool client_allowed(gnutls_session_t session) const;

 private:
  TlsIdentity() = default;
  std::string m_cert_pem;
  std::string m_key_pem;
  ClientAuth m_client_auth = ClientAuth::no_client_cert;
  gnutls_certificate_credentials_t m_credentials = nullptr;
  gnutls_priority_t m_priority = nullptr;
};

}  // namespace acmon::daemon
