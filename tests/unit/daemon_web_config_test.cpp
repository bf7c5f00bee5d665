// The web configuration file (exporter-toolkit's format): what it accepts, the errors it gives, and
// basic authentication's bcrypt check and its cache.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include <unistd.h>

#include "acmon/core/config.hpp"
#include "acmon/daemon/basic_auth.hpp"
#include "acmon/daemon/web_config.hpp"

namespace acmon::daemon {
namespace {

// bcrypt (cost 10) of "scrape-secret" and of "changed-secret".
constexpr const char* k_scrape = "$2b$10$AKGIQze39FcEJ7id7V.dv.d94D.khWUsfmqXthW/A8hgoTd.lFdke";
constexpr const char* k_changed = "$2b$10$6HUGcLO./i27aDmfuMMTYugXGxNtJHS8H8fldBxDnhlrw9oO71Q2q";

using Users = std::map<std::string, std::string>;

config::ConfigError error_of(const std::string& text) {
  try {
    (void)parse_web_config(text, "web.yml");
  } catch (const config::ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return config::ConfigError("", 0, "", "");
}

void expect_error(const std::string& text, int line, const std::string& key, const std::string& what) {
  const auto e = error_of(text);
  EXPECT_EQ(e.file(), "web.yml");
  EXPECT_EQ(e.line(), line) << e.what();
  EXPECT_EQ(e.key(), key) << e.what();
  EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  EXPECT_EQ(std::string(e.what()).rfind("web.yml", 0), 0U) << e.what();
}

TEST(WebConfig, ReadsEverySupportedField) {
  const auto cfg = parse_web_config(std::string("tls_server_config:\n"
                                                "  cert_file: server.crt\n"
                                                "  key_file: /etc/acmon/server.key\n"
                                                "  client_auth_type: RequireAndVerifyClientCert\n"
                                                "  client_ca_file: ca.crt\n"
                                                "  min_version: TLS13\n"
                                                "basic_auth_users:\n"
                                                "  prometheus: ") +
                                        k_scrape + "\n  other: '" + k_changed + "'\n",
                                    "web.yml");
  ASSERT_TRUE(cfg.tls);
  EXPECT_EQ(cfg.tls->cert_file, "server.crt");
  EXPECT_EQ(cfg.tls->key_file, "/etc/acmon/server.key");
  EXPECT_EQ(cfg.tls->client_ca_file, "ca.crt");
  EXPECT_EQ(cfg.tls->client_auth, ClientAuth::require_and_verify_client_cert);
  EXPECT_EQ(cfg.tls->min_version, 0x0304);
  EXPECT_EQ(cfg.tls->identity, nullptr);  // parse reads no file
  ASSERT_EQ(cfg.users.size(), 2U);
  EXPECT_EQ(cfg.users.at("prometheus"), k_scrape);
  ASSERT_TRUE(cfg.auth);
  EXPECT_FALSE(cfg.auth->empty());
}

TEST(WebConfig, DefaultsAndEmptyParts) {
  const auto tls = parse_web_config("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n", "web.yml");
  ASSERT_TRUE(tls.tls);
  EXPECT_EQ(tls.tls->min_version, 0x0303);  // TLS12
  EXPECT_EQ(tls.tls->client_auth, ClientAuth::no_client_cert);
  EXPECT_TRUE(tls.users.empty());
  EXPECT_FALSE(parse_web_config("", "web.yml").tls);
  EXPECT_FALSE(parse_web_config("tls_server_config: {}\nbasic_auth_users:\n", "web.yml").tls);
}

TEST(WebConfig, Errors) {
  expect_error("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [x]\n", 4,
               "tls_server_config.cipher_suites", "not supported by acmon");
  expect_error("tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n", 4, "tls_server_config.certfile",
               "unknown key");
  expect_error("http_server_config:\n  http2: false\n", 2, "http_server_config", "not supported by acmon");
  expect_error("basic_auth_user:\n  a: b\n", 2, "basic_auth_user", "unknown key");
  expect_error("tls_server_config:\n  key_file: b\n", 2, "tls_server_config.cert_file", "is required");
  expect_error("tls_server_config:\n  cert_file: a\n", 2, "tls_server_config.key_file", "is required");
  expect_error("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n", 4,
               "tls_server_config.min_version", "\"TLS14\" is not one of TLS10, TLS11, TLS12, TLS13");
  expect_error("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Yes\n", 4,
               "tls_server_config.client_auth_type", "is not one of NoClientCert");
  expect_error("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: VerifyClientCertIfGiven\n", 2,
               "tls_server_config.client_ca_file", "is required to verify");
  expect_error("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n", 2,
               "tls_server_config.client_auth_type", "NoClientCert");
  expect_error("tls_server_config:\n  cert_file: [a]\n  key_file: b\n", 2, "tls_server_config.cert_file",
               "expected a string");
  expect_error("tls_server_config: x\n", 1, "tls_server_config", "expected a mapping");
  expect_error("- a\n- b\n", 1, "", "expected a mapping");
  expect_error("basic_auth_users:\n  a: x\n  a: y\n", 3, "basic_auth_users.a", "appears twice");
  expect_error("basic_auth_users: [a]\n", 1, "basic_auth_users", "expected a mapping");
  expect_error("basic_auth_users:\n  'a:b': x\n", 2, "basic_auth_users", "without ':'");
  expect_error("basic_auth_users: {prometheus: x\n", 2, "", "not valid YAML");
}

TEST(WebConfig, ABadHashIsRefusedWithoutQuotingIt) {
  const std::string bad[] = {
      "plain-password",
      "$1$abcdefgh$abcdefghijklmnopqrstuv",                            // md5-crypt
      "$2x$10$AKGIQze39FcEJ7id7V.dv.d94D.khWUsfmqXthW/A8hgoTd.lFdke",  // $2x$: not accepted
      "$2b$03$AKGIQze39FcEJ7id7V.dv.d94D.khWUsfmqXthW/A8hgoTd.lFdke",  // cost below 4
      "$2b$10$AKGIQze39FcEJ7id7V.dv.d94D.khWUsfmqXthW/A8hgoTd.lFdk",   // one character short
      "$2b$10$AKGIQze39FcEJ7id7V.dv.d94D.khWUsfmqXthW/A8hgoTd.lFdk!",  // not a salt character
  };
  for (const auto& hash : bad) {
    const auto e = error_of("basic_auth_users:\n  prometheus: '" + hash + "'\n");
    EXPECT_EQ(e.key(), "basic_auth_users.prometheus") << hash;
    EXPECT_NE(std::string(e.what()).find("is not a bcrypt hash"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find(hash), std::string::npos) << "the hash is quoted: " << e.what();
  }
  EXPECT_TRUE(BasicAuth::valid_hash(k_scrape));
  EXPECT_TRUE(BasicAuth::valid_hash(std::string("$2y$") + (k_scrape + 4)));
  EXPECT_TRUE(BasicAuth::valid_hash(std::string("$2a$") + (k_scrape + 4)));
}

TEST(WebConfig, LoadNamesTheFileAndTheSetting) {
  const auto dir = std::filesystem::temp_directory_path() / ("acmon-web-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "web.yml").string();
  { std::ofstream(path) << "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n"; }
  try {
    (void)load_web_config(path);
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.key(), "tls_server_config.cert_file");
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    // Relative to the file's folder, not to the working directory.
    EXPECT_NE(std::string(e.what()).find((dir / "missing.crt").string()), std::string::npos) << e.what();
  }
  {
    std::ofstream(dir / "bad.crt") << "not a certificate\n";
    std::ofstream(dir / "bad.key") << "not a key\n";
    std::ofstream(path) << "tls_server_config:\n  cert_file: bad.crt\n  key_file: bad.key\n";
  }
  try {
    (void)load_web_config(path);
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.key(), "tls_server_config.cert_file") << e.what();
    EXPECT_NE(std::string(e.what()).find("no PEM certificate"), std::string::npos) << e.what();
  }
  try {
    (void)load_web_config((dir / "absent.yml").string());
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("absent.yml"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(WebConfig, TheExampleParses) {
  std::ifstream in(std::string(ACMON_SOURCE_DIR) + "/examples/web-config.yml");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  const auto cfg = parse_web_config(text, "web-config.yml");
  ASSERT_TRUE(cfg.tls);
  EXPECT_EQ(cfg.tls->cert_file, "acmon.crt");
  EXPECT_EQ(cfg.users.size(), 1U);
  EXPECT_TRUE(cfg.auth->check("prometheus", "change-me"));  // the hash the example says it is
}

TEST(WebConfig, TheDaemonKey) {
  EXPECT_EQ(config::parse("[daemon]\nweb_config = \"/etc/acmon/web-config.yml\"\n", "acmon.toml").daemon.web_config,
            "/etc/acmon/web-config.yml");
  EXPECT_EQ(config::parse("[daemon]\n", "acmon.toml").daemon.web_config, "");
  try {
    (void)config::parse("[daemon]\nweb_config = \"\"\n", "acmon.toml");
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.key(), "daemon.web_config");
    EXPECT_EQ(e.line(), 2);
  }
}

TEST(BasicAuth, ChecksPasswordsAndCachesOnlySuccess) {
  const BasicAuth auth(Users{{"prometheus", k_scrape}});
  EXPECT_FALSE(auth.check("prometheus", "wrong"));
  EXPECT_EQ(auth.bcrypt_runs(), 1U);
  EXPECT_TRUE(auth.check("prometheus", "scrape-secret"));
  EXPECT_EQ(auth.bcrypt_runs(), 2U);
  EXPECT_TRUE(auth.check("prometheus", "scrape-secret"));
  EXPECT_EQ(auth.bcrypt_runs(), 2U);  // from the cache
  // A wrong password after a right one is checked again, and refused.
  EXPECT_FALSE(auth.check("prometheus", "scrape-secreT"));
  EXPECT_FALSE(auth.check("prometheus", ""));
  EXPECT_EQ(auth.bcrypt_runs(), 4U);
  // Still cached for the right one.
  EXPECT_TRUE(auth.check("prometheus", "scrape-secret"));
  EXPECT_EQ(auth.bcrypt_runs(), 4U);
  // An unknown user costs a bcrypt run too (no timing difference), and never passes.
  EXPECT_FALSE(auth.check("grafana", "scrape-secret"));
  EXPECT_EQ(auth.bcrypt_runs(), 5U);
  // A password with a NUL in it is not cut short.
  EXPECT_FALSE(auth.check("prometheus", std::string("scrape-secret\0x", 15)));
}

TEST(BasicAuth, TheSameUserWithAnotherHashIsNotCached) {
  const BasicAuth before(Users{{"prometheus", k_scrape}});
  EXPECT_TRUE(before.check("prometheus", "scrape-secret"));
  const BasicAuth after(Users{{"prometheus", k_changed}});  // a reload with a new password
  EXPECT_FALSE(after.check("prometheus", "scrape-secret"));
  EXPECT_TRUE(after.check("prometheus", "changed-secret"));
}

TEST(BasicAuth, AuthorizationHeader) {
  const BasicAuth auth(Users{{"prometheus", k_scrape}});
  // base64("prometheus:scrape-secret")
  EXPECT_TRUE(auth.check_header("Basic cHJvbWV0aGV1czpzY3JhcGUtc2VjcmV0"));
  EXPECT_TRUE(auth.check_header("basic cHJvbWV0aGV1czpzY3JhcGUtc2VjcmV0"));
  EXPECT_FALSE(auth.check_header("Bearer cHJvbWV0aGV1czpzY3JhcGUtc2VjcmV0"));
  EXPECT_FALSE(auth.check_header("Basic cHJvbWV0aGV1czpzY3JhcGUtc2VjcmV1"));  // …secreu
  EXPECT_FALSE(auth.check_header("Basic cHJvbWV0aGV1cw=="));                  // "prometheus", no colon
  EXPECT_FALSE(auth.check_header("Basic !!!"));
  EXPECT_FALSE(auth.check_header("Basic "));
  EXPECT_TRUE(BasicAuth().empty());
}

}  // namespace
}  // namespace acmon::daemon
