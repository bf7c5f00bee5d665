// Credentials through real HTTP against the simulator: AssumeRole (and its errors), ExternalId,
// OIDC with a token file read again at each refresh, a credentials URI, the metadata service in
// hardened mode, refresh before the returned Expiration, and a failed refresh that keeps using
// credentials that are still valid.
#include <gtest/gtest.h>

#include <thread>

#include "acmon/core/api.hpp"
#include "doubles.hpp"
#include "sts_fixture.hpp"

using namespace acmon;
using namespace acmon::testing;
namespace fs = std::filesystem;

namespace {

class Sts : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("acmon-sts-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir);
    sim = std::make_unique<sim::Simulator>(org_data());
    sim->start();
    options.env = [this](const std::string& k) -> std::optional<std::string> {
      auto it = env.find(k);
      return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    options.clock = &clock;
    options.on_refresh_error = [this](const std::string& m) { reports.push_back(m); };
  }
  void TearDown() override {
    client.reset();
    transport.reset();
    sim.reset();
    fs::remove_all(dir);
  }

  // The management account's key, assuming a role in the member.
  config::Account mgmt(const std::string& role = "ResourceDirectoryAccountAccessRole") {
    config::Account a;
    a.name = "mgmt";
    a.access_key_id = "LTAImgmt";
    a.secret_env = "MGMT_SECRET";
    a.assume_role = role.empty() ? "" : role_arn(k_member, role);
    a.sts_endpoint = sim->base_url();
    return a;
  }

  // The SMC tokens these credentials list.
  Result<std::vector<std::string>> tokens(CredentialProvider& p,
                                          config::SignatureVersion v = config::SignatureVersion::v3) {
    api::Call c;
    c.product = "smc";
    c.endpoint = sim->base_url();
    c.action = "ListAccessTokens";
    c.version = "2019-06-01";
    c.signature = v;
    auto r = client->call(c, p);
    if (!r) {
      return r.error();
    }
    std::vector<std::string> ids;
    for (const auto& t : (*r)["AccessTokens"]) {
      ids.push_back(t["AccessTokenId"].get<std::string>());
    }
    return ids;
  }

  void control(const nlohmann::json& body) {
    http::Request r;
    r.method = "POST";
    r.url = sim->base_url() + "/_sim/sts";
    r.body = body.dump();
    auto res = transport->send(r);
    ASSERT_TRUE(res && res->status == 200);
  }

  std::uint64_t issued() const { return sim->stats()["sts"]["issued"].get<std::uint64_t>(); }

  fs::path dir;
  std::unique_ptr<sim::Simulator> sim;
  std::map<std::string, std::string> env{{"MGMT_SECRET", "mgmt-secret"}};
  ManualClock clock{SystemClock().now()};
  CredentialOptions options;
  std::vector<std::string> reports;
  std::unique_ptr<http::CurlTransport> transport = std::make_unique<http::CurlTransport>();
  NoSleep sleeper;
  SystemClock signing_clock;  // requests are signed at the real time, whatever the refresh clock says
  std::unique_ptr<api::Client> client = std::make_unique<api::Client>(*transport, signing_clock, sleeper);
};

void expect_no_secret(const std::string& text) {
  for (const char* secret : {"mgmt-secret", "root-secret", "other-secret"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << text;
  }
}

}  // namespace

TEST_F(Sts, AssumeRoleActsAsTheMember) {
  auto p = make_credential_provider(mgmt(), options);
  auto c = p->get();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id.rfind("STS.", 0), 0U);
  EXPECT_FALSE(c->security_token.empty());
  EXPECT_GT(c->expires_at, clock.now() + 3000);
  for (auto v : {config::SignatureVersion::v3, config::SignatureVersion::v1}) {
    auto ids = tokens(*p, v);
    ASSERT_TRUE(ids) << ids.error().message;
    EXPECT_EQ(*ids, (std::vector<std::string>{"at-member-1", "at-member-2"}));
  }
  // The management account's own key lists its own codes (filed under its account id).
  auto own = make_credential_provider(mgmt(""), options);
  auto ids = tokens(*own);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_EQ(*ids, (std::vector<std::string>{"at-mgmt-1"}));
  EXPECT_EQ(issued(), 1U);  // cached: one AssumeRole for every call above
}

TEST_F(Sts, ErrorsNameTheAccountAndTheCode) {
  struct Case {
    config::Account account;
    std::string code;
    std::string detail;
  };
  auto root = mgmt();
  root.access_key_id = "LTAIroot";
  root.secret_env = "ROOT_SECRET";
  env["ROOT_SECRET"] = "root-secret";
  auto wrong_secret = mgmt();
  env["WRONG"] = "not-the-secret";
  wrong_secret.secret_env = "WRONG";
  for (const auto& [account, code, detail] :
       std::vector<Case>{{mgmt("NoSuchRole"), "EntityNotExist.Role", "role/NoSuchRole"},
                         {mgmt("strangers"), "NoPermission", "role/strangers"},
                         {root, "NoPermission", "root accounts"},
                         {wrong_secret, "SignatureDoesNotMatch", "AssumeRole"}}) {
    auto r = make_credential_provider(account, options)->get();
    ASSERT_FALSE(r) << code;
    EXPECT_EQ(r.error().code, code);
    const std::string m = r.error().message;
    EXPECT_EQ(m.rfind("account 'mgmt': AssumeRole acs:ram::2000000000000002:role/", 0), 0U) << m;
    EXPECT_NE(m.find(code), std::string::npos) << m;
    EXPECT_NE(m.find(detail), std::string::npos) << m;
    expect_no_secret(m + r.error().describe());
  }
  // A listing with those credentials fails with the same error, before any request to SMC.
  auto p = make_credential_provider(mgmt("NoSuchRole"), options);
  auto ids = tokens(*p);
  ASSERT_FALSE(ids);
  EXPECT_EQ(ids.error().code, "EntityNotExist.Role");
  EXPECT_EQ(sim->stats()["by_action"].value("ListAccessTokens", 0), 0);
}

TEST_F(Sts, TheSimulatorChecksParametersAsStsDoes) {
  FixedCredentials key("LTAImgmt", "mgmt-secret");
  auto assume = [&](signing::Params params) {
    api::Call c;
    c.product = "sts";
    c.endpoint = sim->base_url();
    c.action = "AssumeRole";
    c.version = "2015-04-01";
    params.emplace("RoleArn", role_arn(k_member, "ResourceDirectoryAccountAccessRole"));
    params.emplace("RoleSessionName", "acmon");
    c.params = std::move(params);
    auto r = client->call(c, key);
    return r ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(assume({}), "ok");
  EXPECT_EQ(assume({{"DurationSeconds", "900"}}), "ok");
  EXPECT_EQ(assume({{"DurationSeconds", "899"}}), "InvalidParameter.DurationSeconds");
  EXPECT_EQ(assume({{"DurationSeconds", "3601"}}), "InvalidParameter.DurationSeconds");  // the role's maximum
  EXPECT_EQ(assume({{"RoleSessionName", "a"}}), "InvalidParameter.RoleSessionName");
  EXPECT_EQ(assume({{"RoleSessionName", "a:b"}}), "InvalidParameter.RoleSessionName");
  EXPECT_EQ(assume({{"ExternalId", "x"}}), "InvalidParameter.ExternalId");
  EXPECT_EQ(assume({{"RoleArn", "acs:ram::2000000000000002:user/x"}}), "InvalidParameter.RoleArn");
  EXPECT_EQ(assume({{"RoleArn", role_arn(k_member, "resourcedirectoryaccountaccessrole")}}),
            "ok");  // names ignore case
  api::Call wrong_version;
  wrong_version.product = "sts";
  wrong_version.endpoint = sim->base_url();
  wrong_version.action = "AssumeRole";
  wrong_version.version = "2019-06-01";
  EXPECT_EQ(client->call(wrong_version, key).error().code, "InvalidVersion");
}

TEST_F(Sts, ExternalIdWhenTheRoleRequiresOne) {
  auto a = mgmt("with-external");
  auto missing = make_credential_provider(a, options)->get();
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "NoPermission");
  a.external_id = "ext-wrong";
  auto wrong = make_credential_provider(a, options)->get();
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, "NoPermission");
  EXPECT_EQ(wrong.error().message.find("ext-wrong"), std::string::npos) << wrong.error().message;
  a.external_id = "ext-123";
  auto p = make_credential_provider(a, options);
  auto ids = tokens(*p);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_EQ(ids->size(), 2U);
}

TEST_F(Sts, OidcReadsTheTokenFileAgainAtEachRefresh) {
  const auto token_file = dir / "token";
  std::ofstream(token_file) << oidc_token("first", clock.now() + 3600) << "\n";
  config::Account a;
  a.name = "k8s";
  a.source = config::CredentialSource::oidc;
  a.sts_endpoint = sim->base_url();
  env["ALIBABA_CLOUD_ROLE_ARN"] = role_arn(k_mgmt, "acmon-pod");
  env["ALIBABA_CLOUD_OIDC_PROVIDER_ARN"] = k_oidc_provider;
  env["ALIBABA_CLOUD_OIDC_TOKEN_FILE"] = token_file.string();
  auto p = make_credential_provider(a, options);
  auto ids = tokens(*p);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_EQ(*ids, (std::vector<std::string>{"at-mgmt-1"}));
  // Kubernetes rotates the projected token; the next refresh (3 minutes before Expiration) reads it.
  std::ofstream(token_file) << oidc_token("second", clock.now() + 3600);
  clock.advance(3000);
  ASSERT_TRUE(p->get());
  EXPECT_EQ(sim->stats()["sts"]["oidc_tokens"], nlohmann::json::array({"first"}));
  clock.advance(500);
  auto refreshed = tokens(*p);
  ASSERT_TRUE(refreshed) << refreshed.error().message;
  EXPECT_EQ(sim->stats()["sts"]["oidc_tokens"], nlohmann::json::array({"first", "second"}));

  // What the token says is checked: an expired token, another audience, another issuer.
  for (const auto& [token, code] : std::vector<std::pair<std::string, std::string>>{
           {oidc_token("old", SystemClock().now() - 10), "AuthenticationFail.OIDCToken.Expired"},
           {oidc_token("aud", SystemClock().now() + 600, "someone-else"),
            "AuthenticationFail.OIDCToken.AudienceNotMatch"},
           {oidc_token("iss", SystemClock().now() + 600, "sts.aliyuncs.com", "https://evil"),
            "AuthenticationFail.OIDCToken.IssuerNotMatch"},
           {"not-a-jwt", "AuthenticationFail.OIDCToken.Invalid"}}) {
    std::ofstream(token_file) << token;
    auto r = make_credential_provider(a, options)->get();
    ASSERT_FALSE(r) << code;
    EXPECT_EQ(r.error().code, code);
    EXPECT_NE(r.error().message.find("account 'k8s' (oidc): AssumeRoleWithOIDC"), std::string::npos)
        << r.error().message;
    EXPECT_EQ(r.error().message.find(token), std::string::npos) << r.error().message;
  }
  // A role that does not trust the provider.
  std::ofstream(token_file) << oidc_token("x", SystemClock().now() + 600);
  a.role_arn = role_arn(k_mgmt, "EcsRole");
  auto untrusted = make_credential_provider(a, options)->get();
  ASSERT_FALSE(untrusted);
  EXPECT_EQ(untrusted.error().code, "AuthenticationFail.NoPermission");
}

TEST_F(Sts, CredentialsUri) {
  config::Account a;
  a.name = "sidecar";
  a.source = config::CredentialSource::uri;
  a.source_arg = sim->base_url() + "/_sim/credentials-uri?secret-looking=query";
  auto p = make_credential_provider(a, options);
  auto ids = tokens(*p);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_EQ(ids->size(), 2U);  // the member's role
  a.source_arg = sim->base_url() + "/_sim/nothing-here?secret-looking=query";
  auto r = make_credential_provider(a, options)->get();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("HTTP 404"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("secret-looking"), std::string::npos) << r.error().message;
}

TEST_F(Sts, MetadataServiceInHardenedMode) {
  http::Request bare;  // without a session token the hardened service answers nothing
  bare.url = sim->base_url() + "/latest/meta-data/ram/security-credentials/";
  auto refused = transport->send(bare);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  bare.headers = {{"X-aliyun-ecs-metadata-token", "forged"}};
  EXPECT_EQ(transport->send(bare)->status, 401);

  options.metadata_url = sim->base_url();
  config::Account a;
  a.name = "ecs";
  a.source = config::CredentialSource::ram_role;
  a.source_arg = "EcsRole";
  auto p = make_credential_provider(a, options);
  auto ids = tokens(*p);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_EQ(*ids, (std::vector<std::string>{"at-mgmt-1"}));
  a.source_arg = "OtherRole";
  auto r = make_credential_provider(a, options)->get();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no RAM role"), std::string::npos) << r.error().message;
  // The instance role may assume a role in turn.
  a.source_arg = "EcsRole";
  a.assume_role = role_arn(k_member, "ResourceDirectoryAccountAccessRole");
  a.sts_endpoint = sim->base_url();
  auto chained = make_credential_provider(a, options);
  auto member = tokens(*chained);
  ASSERT_TRUE(member) << member.error().message;
  EXPECT_EQ(member->size(), 2U);
}

TEST_F(Sts, RefreshedBeforeTheReturnedExpirationNotTheDurationAsked) {
  control({{"expire_after", 600}});  // asked for 3600 s, given 600
  auto p = make_credential_provider(mgmt(), options);
  auto first = p->get();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_LE(first->expires_at, SystemClock().now() + 601);
  clock.advance(400);  // 200 s left: kept
  EXPECT_EQ(p->get()->access_key_id, first->access_key_id);
  clock.advance(30);  // 170 s left: refreshed
  auto second = p->get();
  ASSERT_TRUE(second);
  EXPECT_NE(second->access_key_id, first->access_key_id);
  EXPECT_EQ(issued(), 2U);
  EXPECT_TRUE(reports.empty());
}

TEST_F(Sts, AFailedRefreshKeepsCredentialsThatAreStillValid) {
  control({{"expire_after", 600}});
  auto p = make_credential_provider(mgmt(), options);
  auto first = p->get();
  ASSERT_TRUE(first) << first.error().message;
  sim->set_faults(nlohmann::json::array(
      {{{"kind", "error"}, {"action", "AssumeRole"}, {"code", "NoPermission"}, {"status", 403}, {"times", 0}}}));
  clock.advance(500);  // in the refresh window, still valid
  auto kept = p->get();
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->access_key_id, first->access_key_id);
  ASSERT_EQ(reports.size(), 1U);
  EXPECT_NE(reports[0].find("NoPermission"), std::string::npos) << reports[0];
  EXPECT_NE(reports[0].find("account 'mgmt'"), std::string::npos) << reports[0];
  expect_no_secret(reports[0]);
  EXPECT_EQ(reports[0].find(first->access_key_secret), std::string::npos);
  auto ids = tokens(*p);  // the simulator still takes them
  ASSERT_TRUE(ids) << ids.error().message;
  clock.advance(200);  // expired: the error now
  auto gone = p->get();
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, "NoPermission");
  sim->set_faults(nlohmann::json::array());
  auto back = p->get();
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_NE(back->access_key_id, first->access_key_id);
}

TEST_F(Sts, ExpiredStsCredentialsAreRefused) {
  auto p = make_credential_provider(mgmt(), options);
  auto c = p->get();
  ASSERT_TRUE(c);
  control({{"expire_all", true}});
  FixedCredentials held(c->access_key_id, c->access_key_secret, c->security_token);
  auto r = tokens(held);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "InvalidSecurityToken.Expired");
  FixedCredentials forged(c->access_key_id, c->access_key_secret, "CAISforged");
  EXPECT_EQ(tokens(forged).error().code, "InvalidSecurityToken.Mismatch");
}
