// [[accounts]] keys of the credential chain and AssumeRole: what is read, and each error with its
// file, line and key.
#include <gtest/gtest.h>

#include "acmon/core/config.hpp"
#include "config_errors.hpp"

using namespace acmon::config;
using acmon::testing::error_of;
using acmon::testing::expect_error;

namespace {

const std::string k_head = "[[accounts]]\nname = \"a\"\n";  // lines 1-2

}  // namespace

TEST(AccountsConfig, ReadsEverySource) {
  const Config c = parse(R"(
[[accounts]]
name = "chain"
credentials = "default"

[[accounts]]
name = "k8s"
credentials = "oidc"
role_arn = "acs:ram::1234567890123456:role/acmon-reader"
oidc_provider_arn = "acs:ram::1234567890123456:oidc-provider/ack-rrsa"
oidc_token_file = "/var/run/secrets/tokens/oidc-token"
role_session_name = "acmon-pod"
sts_endpoint = "https://sts-vpc.cn-hangzhou.aliyuncs.com"

[[accounts]]
name = "sidecar"
credentials = "uri:http://127.0.0.1:9000/credentials?role=a"

[[accounts]]
name = "member"
access_key_id = "LTAIexample"
access_key_secret_env = "MGMT_SECRET"
assume_role = "acs:ram::6543210987654321:role/acmon-reader"
external_id = "abc-123"
role_session_name = "acmon"
sts_endpoint = "http://127.0.0.1:8080"

[[accounts]]
name = "envk8s"
credentials = "oidc"
)",
                         "acmon.toml");
  ASSERT_EQ(c.accounts.size(), 5U);
  EXPECT_EQ(c.accounts[0].source, CredentialSource::chain);
  const Account& k = c.accounts[1];
  EXPECT_EQ(k.source, CredentialSource::oidc);
  EXPECT_EQ(k.role_arn, "acs:ram::1234567890123456:role/acmon-reader");
  EXPECT_EQ(k.oidc_provider_arn, "acs:ram::1234567890123456:oidc-provider/ack-rrsa");
  EXPECT_EQ(k.oidc_token_file, "/var/run/secrets/tokens/oidc-token");
  EXPECT_EQ(k.role_session_name, "acmon-pod");
  EXPECT_EQ(k.sts_endpoint, "https://sts-vpc.cn-hangzhou.aliyuncs.com");
  EXPECT_EQ(c.accounts[2].source, CredentialSource::uri);
  EXPECT_EQ(c.accounts[2].source_arg, "http://127.0.0.1:9000/credentials?role=a");
  const Account& m = c.accounts[3];
  EXPECT_EQ(m.source, CredentialSource::static_key);
  EXPECT_EQ(m.assume_role, "acs:ram::6543210987654321:role/acmon-reader");
  EXPECT_EQ(m.external_id, "abc-123");
  EXPECT_EQ(m.sts_endpoint, "http://127.0.0.1:8080");
  EXPECT_EQ(c.accounts[4].source, CredentialSource::oidc);  // everything from the environment
  EXPECT_TRUE(c.accounts[4].role_arn.empty());
}

TEST(AccountsConfig, SourceErrors) {
  expect_error(k_head + "credentials = \"uri:ftp://x\"\n", 3, "accounts[0].credentials", "http:// or https:// URL");
  expect_error(k_head + "credentials = \"uri:\"\n", 3, "accounts[0].credentials", "http:// or https:// URL");
  expect_error(k_head + "credentials = \"uri:http://a b\"\n", 3, "accounts[0].credentials", "URL");
  // A credentials URI may carry a token: it is not quoted back.
  const std::string msg = error_of(k_head + "credentials = \"uri:ftp://h/?token=s3cr3t\"\n").what();
  EXPECT_EQ(msg.find("s3cr3t"), std::string::npos) << msg;
  expect_error(k_head + "credentials = \"Default\"\n", 3, "accounts[0].credentials",
               "not one of \"default\", \"env\", \"oidc\"");
  expect_error(k_head + "credentials = \"default\"\naccess_key_id = \"x\"\n", 3, "accounts[0].credentials",
               "cannot be combined");
}

TEST(AccountsConfig, OidcKeyErrors) {
  expect_error(k_head + "credentials = \"env\"\nrole_arn = \"acs:ram::1234567890123456:role/r\"\n", 4,
               "accounts[0].role_arn", "only with credentials = \"oidc\"");
  expect_error(k_head + "access_key_id = \"x\"\naccess_key_secret_env = \"S\"\noidc_token_file = \"/t\"\n", 5,
               "accounts[0].oidc_token_file", "only with credentials = \"oidc\"");
  expect_error(k_head + "credentials = \"oidc\"\nrole_arn = \"arn:role\"\n", 4, "accounts[0].role_arn",
               "not a role ARN");
  expect_error(k_head + "credentials = \"oidc\"\nrole_arn = \"acs:ram::123:role/r\"\n", 4, "accounts[0].role_arn",
               "16-digit");
  expect_error(k_head + "credentials = \"oidc\"\noidc_provider_arn = \"acs:ram::1234567890123456:role/r\"\n", 4,
               "accounts[0].oidc_provider_arn", "not an OIDC provider ARN");
  expect_error(k_head + "credentials = \"oidc\"\noidc_token_file = \"\"\n", 4, "accounts[0].oidc_token_file",
               "must not be empty");
  expect_error(k_head + "credentials = \"oidc\"\nrole_arn = 5\n", 4, "accounts[0].role_arn", "expected a string");
}

TEST(AccountsConfig, AssumeRoleErrors) {
  const std::string key = k_head + "access_key_id = \"x\"\naccess_key_secret_env = \"S\"\n";  // lines 1-4
  expect_error(key + "assume_role = \"acs:ram::1234567890123456:user/r\"\n", 5, "accounts[0].assume_role",
               "not a role ARN");
  expect_error(key + "external_id = \"abc\"\n", 5, "accounts[0].external_id", "only with assume_role");
  expect_error(key + "assume_role = \"acs:ram::1234567890123456:role/r\"\nexternal_id = \"x\"\n", 6,
               "accounts[0].external_id", "2 to 1224");
  expect_error(key + "role_session_name = \"acmon\"\n", 5, "accounts[0].role_session_name",
               "only with assume_role or credentials = \"oidc\"");
  expect_error(key + "assume_role = \"acs:ram::1234567890123456:role/r\"\nrole_session_name = \"a b\"\n", 6,
               "accounts[0].role_session_name", "2 to 64");
  expect_error(key + "assume_role = \"acs:ram::1234567890123456:role/r\"\nrole_session_name = \"a\"\n", 6,
               "accounts[0].role_session_name", "2 to 64");
  expect_error(key + "sts_endpoint = \"https://sts.aliyuncs.com/path\"\n", 5, "accounts[0].sts_endpoint",
               "http(s)://HOST[:PORT]");
  expect_error(key + "sts_endpoint = \"sts.aliyuncs.com\"\n", 5, "accounts[0].sts_endpoint", "http(s)://HOST[:PORT]");
  expect_error(key + "assume_roles = \"acs:ram::1234567890123456:role/r\"\n", 5, "accounts[0].assume_roles",
               "unknown key");
}

TEST(AccountsConfig, ShapesOfArnsAndSessionNames) {
  EXPECT_TRUE(valid_role_arn("acs:ram::1234567890123456:role/ResourceDirectoryAccountAccessRole"));
  EXPECT_FALSE(valid_role_arn("acs:ram::1234567890123456:role/"));
  EXPECT_FALSE(valid_role_arn("acs:ram::12345678901234567:role/r"));
  EXPECT_FALSE(valid_role_arn("acs:ram::123456789012345a:role/r"));
  EXPECT_FALSE(valid_role_arn("acs:ram::1234567890123456:role/r x"));
  EXPECT_TRUE(valid_oidc_provider_arn("acs:ram::1234567890123456:oidc-provider/ack-rrsa-c123"));
  EXPECT_FALSE(valid_oidc_provider_arn("acs:ram::1234567890123456:role/ack"));
  EXPECT_TRUE(valid_role_session_name("acmon@node-1.example_x"));
  EXPECT_FALSE(valid_role_session_name(std::string(65, 'a')));
  EXPECT_FALSE(valid_role_session_name("a/b"));
}
