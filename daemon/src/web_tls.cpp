#include "web_tls.hpp"

#include <gnutls/x509.h>

#include "acmon/core/config.hpp"

namespace acmon::daemon {

namespace {

gnutls_datum_t datum(const std::string& s) {
  // GnuTLS takes the bytes as non-const but only reads them.
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())), static_cast<unsigned>(s.size())};
}

// Whether pem holds at least one certificate GnuTLS can parse.
bool has_certificate(const std::string& pem) {
  gnutls_x509_crt_t* list = nullptr;
  unsigned n = 0;
  const gnutls_datum_t d = datum(pem);
  if (gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM, 0) < 0) {
    return false;
  }
  for (unsigned i = 0; i < n; ++i) {
    gnutls_x509_crt_deinit(list[i]);
  }
  gnutls_free(list);
  return n > 0;
}

bool verifies(ClientAuth a) {
  return a == ClientAuth::verify_client_cert_if_given || a == ClientAuth::require_and_verify_client_cert;
}

bool requires_cert(ClientAuth a) {
  return a == ClientAuth::require_any_client_cert || a == ClientAuth::require_and_verify_client_cert;
}

// A client's certificate, if it sent one, chains to client_ca_file (the session's credentials):
// 0 lets the handshake go on, anything else fails it.
int verify_in_handshake(gnutls_session_t session) {
  unsigned n = 0;
  if (gnutls_certificate_get_peers(session, &n) == nullptr || n == 0) {
    return 0;
  }
  unsigned status = 0;
  return gnutls_certificate_verify_peers2(session, &status) >= 0 && status == 0 ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
}

}  // namespace

std::shared_ptr<const TlsIdentity> TlsIdentity::make(const std::string& file, const std::string& cert_pem,
                                                     const std::string& key_pem, const std::string& ca_pem,
                                                     ClientAuth client_auth, int min_version) {
  const auto fail = [&file](const std::string& key, const std::string& what) {
    throw config::ConfigError(file, 0, "tls_server_config." + key, what);
  };
  std::shared_ptr<TlsIdentity> id(new TlsIdentity());
  id->m_cert_pem = cert_pem;
  id->m_key_pem = key_pem;
  id->m_client_auth = client_auth;
  if (gnutls_certificate_allocate_credentials(&id->m_credentials) < 0) {
    fail("cert_file", "GnuTLS cannot allocate credentials");
  }
  if (!has_certificate(cert_pem)) {
    fail("cert_file", "holds no PEM certificate GnuTLS can read");
  }
  const gnutls_datum_t cert = datum(cert_pem);
  const gnutls_datum_t key = datum(key_pem);
  if (const int rc =
          gnutls_certificate_set_x509_key_mem2(id->m_credentials, &cert, &key, GNUTLS_X509_FMT_PEM, nullptr, 0);
      rc < 0) {
    fail("key_file", rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH
                         ? std::string("is not the private key of the certificate in cert_file")
                         : std::string("holds no usable unencrypted PEM private key (") + gnutls_strerror(rc) + ")");
  }
  if (!ca_pem.empty()) {
    const gnutls_datum_t ca = datum(ca_pem);
    if (gnutls_certificate_set_x509_trust_mem(id->m_credentials, &ca, GNUTLS_X509_FMT_PEM) <= 0) {
      fail("client_ca_file", "holds no PEM certificate GnuTLS can read");
    }
  }
  std::string priority = "NORMAL:-VERS-ALL";
  for (const auto& [version, name] : {std::pair{0x0304, "TLS1.3"}, std::pair{0x0303, "TLS1.2"},
                                      std::pair{0x0302, "TLS1.1"}, std::pair{0x0301, "TLS1.0"}}) {
    if (version >= min_version) {
      priority += std::string(":+VERS-") + name;
    }
  }
  if (gnutls_priority_init(&id->m_priority, priority.c_str(), nullptr) < 0) {
    fail("min_version", "GnuTLS does not accept the priority string " + priority);
  }
  return id;
}

TlsIdentity::~TlsIdentity() {
  if (m_priority != nullptr) {
    gnutls_priority_deinit(m_priority);
  }
  if (m_credentials != nullptr) {
    gnutls_certificate_free_credentials(m_credentials);
  }
}

bool TlsIdentity::configure(gnutls_session_t session) const {
  if (gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, m_credentials) < 0 ||
      gnutls_priority_set(session, m_priority) < 0) {
    return false;
  }
  gnutls_certificate_server_set_request(session, requires_cert(m_client_auth)                  ? GNUTLS_CERT_REQUIRE
                                                 : m_client_auth == ClientAuth::no_client_cert ? GNUTLS_CERT_IGNORE
                                                                                               : GNUTLS_CERT_REQUEST);
  if (verifies(m_client_auth)) {
    // In the handshake, against client_ca_file (a missing certificate is for REQUIRE to refuse).
    gnutls_session_set_verify_function(session, &verify_in_handshake);
  }
  return true;
}

bool TlsIdentity::client_allowed(gnutls_session_t session) const {
  unsigned n = 0;
  const gnutls_datum_t* peers = gnutls_certificate_get_peers(session, &n);
  const bool sent = peers != nullptr && n > 0;
  if (!sent) {
    return !requires_cert(m_client_auth);
  }
  if (!verifies(m_client_auth)) {
    return true;
  }
  unsigned status = 0;
  return gnutls_certificate_verify_peers2(session, &status) >= 0 && status == 0;
}

}  // namespace acmon::daemon
