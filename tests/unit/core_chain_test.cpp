// The credential chain and every aliyun CLI profile mode, with a fake environment and home folder,
// against a small fake of STS, the metadata service and a credentials URI on loopback (the
// simulator proves the signatures and the trust: tests/integration/sts_test.cpp).
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "acmon/core/credentials.hpp"

using namespace acmon;
namespace fs = std::filesystem;

namespace {

struct Home {
  fs::path path;
  Home() {
    path = fs::temp_directory_path() /
           ("acmon-chain-" + std::to_string(::getpid()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~Home() { fs::remove_all(path); }
  [[nodiscard]] fs::path write(const std::string& name, const std::string& content) const {
    fs::path p = path / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << content;
    ::chmod(p.c_str(), 0600);
    return p;
  }
};

// One call the fake cloud answered: the action, who signed it, and the parameters that matter.
struct Seen {
  std::string action;
  std::string key_id;
  std::string role_arn;
  std::string token;
  std::string session;
};

std::string form_value(const std::string& body, const std::string& key) {
  httplib::Params p;
  httplib::detail::parse_query_text(body, p);
  auto it = p.find(key);
  return it == p.end() ? std::string() : it->second;
}

class FakeCloud {
 public:
  FakeCloud() {
    m_server.Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      Seen s;
      s.action = req.has_param("Action") ? req.get_param_value("Action") : req.get_header_value("x-acs-action");
      const std::string auth = req.get_header_value("Authorization");
      if (auto p = auth.find("Credential="); p != std::string::npos) {
        s.key_id = auth.substr(p + 11, auth.find(',', p) - p - 11);
      }
      s.role_arn = req.has_param("RoleArn") ? req.get_param_value("RoleArn") : form_value(req.body, "RoleArn");
      s.token = form_value(req.body, "OIDCToken");
      s.session = req.has_param("RoleSessionName") ? req.get_param_value("RoleSessionName")
                                                   : form_value(req.body, "RoleSessionName");
      const std::string id = (s.action == "AssumeRole" ? "STS.role" : "STS.oidc") + std::to_string(record(s));
      res.set_content(R"({"RequestId":"r","Credentials":)" + creds(id) + "}", "application/json");
    });
    m_server.Put("/latest/api/token",
                 [](const httplib::Request&, httplib::Response& res) { res.set_content("md", "text/plain"); });
    m_server.Get("/latest/meta-data/ram/security-credentials/",
                 [](const httplib::Request&, httplib::Response& res) { res.set_content("ecs-role", "text/plain"); });
    m_server.Get("/latest/meta-data/ram/security-credentials/ecs-role", [this](const httplib::Request& req,
                                                                               httplib::Response& res) {
      if (req.get_header_value("X-aliyun-ecs-metadata-token") != "md") {
        res.status = 403;
        return;
      }
      const int n = record({"metadata", "", "", "", ""});
      res.set_content(R"({"Code":"Success",)" + creds("STS.ecs" + std::to_string(n)).substr(1), "application/json");
    });
    m_server.Get("/uri", [this](const httplib::Request&, httplib::Response& res) {
      const int n = record({"uri", "", "", "", ""});
      res.set_content(R"({"Code":"Success",)" + creds("STS.uri" + std::to_string(n)).substr(1), "application/json");
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    while (!m_server.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~FakeCloud() {
    m_server.stop();
    m_thread.join();
  }
  FakeCloud(const FakeCloud&) = delete;
  FakeCloud& operator=(const FakeCloud&) = delete;

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  std::vector<Seen> seen() {
    std::lock_guard lock(m_mutex);
    return m_seen;
  }

 private:
  static std::string creds(const std::string& id) {
    return R"({"AccessKeyId":")" + id + R"(","AccessKeySecret":"secret-)" + id +
           R"(","SecurityToken":"token","Expiration":")" + format_rfc3339(SystemClock().now() + 3600) + R"("})";
  }
  int record(Seen s) {
    std::lock_guard lock(m_mutex);
    m_seen.push_back(std::move(s));
    return static_cast<int>(m_seen.size());
  }

  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
  std::mutex m_mutex;
  std::vector<Seen> m_seen;
};

using Vars = std::map<std::string, std::string>;

CredentialOptions options(const FakeCloud& cloud, const Home& home, const Vars& vars) {
  CredentialOptions o;
  o.env = [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  o.home = home.path.string();
  o.metadata_url = cloud.url();
  return o;
}

config::Account account(config::CredentialSource source, const std::string& arg, const FakeCloud& cloud) {
  config::Account a;
  a.name = "acct";
  a.source = source;
  a.source_arg = arg;
  a.sts_endpoint = cloud.url();
  return a;
}

const char* k_cli = R"({"current": "ak", "profiles": [
  {"name": "ak", "mode": "AK", "access_key_id": "LTAIcli", "access_key_secret": "s"},
  {"name": "sts", "mode": "StsToken", "access_key_id": "STS.cli", "access_key_secret": "s", "sts_token": "t"},
  {"name": "rra", "mode": "RamRoleArn", "access_key_id": "LTAIrra", "access_key_secret": "s",
   "ram_role_arn": "acs:ram::1111111111111111:role/first", "ram_session_name": "cli-session"},
  {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "ecs-role"},
  {"name": "ecs-any", "mode": "EcsRamRole"},
  {"name": "oidc", "mode": "OIDC", "ram_role_arn": "acs:ram::1111111111111111:role/pod",
   "oidc_provider_arn": "acs:ram::1111111111111111:oidc-provider/ack", "oidc_token_file": "TOKEN_FILE"},
  {"name": "chain", "mode": "ChainableRamRoleArn", "source_profile": "rra",
   "ram_role_arn": "acs:ram::2222222222222222:role/second"},
  {"name": "loop", "mode": "ChainableRamRoleArn", "source_profile": "loop",
   "ram_role_arn": "acs:ram::2222222222222222:role/second"},
  {"name": "odd", "mode": "External", "process_command": "x"},
  {"name": "bad-rra", "mode": "RamRoleArn", "access_key_id": "LTAIrra", "access_key_secret": "s"}
]})";

std::string cli_config(const Home& home) {
  std::string text = k_cli;
  text.replace(text.find("TOKEN_FILE"), 10, (home.path / "token").string());
  return text;
}

}  // namespace

TEST(CliProfiles, EveryModeOfTheAliyunCli) {
  FakeCloud cloud;
  Home home;
  (void)home.write(".aliyun/config.json", cli_config(home));
  (void)home.write("token", "header.payload.sig\n");
  const auto o = options(cloud, home, {});
  auto get = [&](const std::string& profile) {
    return make_credential_provider(account(config::CredentialSource::profile, profile, cloud), o)->get();
  };

  auto ak = get("ak");
  ASSERT_TRUE(ak) << ak.error().message;
  EXPECT_EQ(ak->access_key_id, "LTAIcli");
  EXPECT_EQ(ak->expires_at, 0);
  auto sts = get("sts");
  ASSERT_TRUE(sts) << sts.error().message;
  EXPECT_EQ(sts->security_token, "t");
  EXPECT_TRUE(cloud.seen().empty());

  auto rra = get("rra");
  ASSERT_TRUE(rra) << rra.error().message;
  EXPECT_EQ(rra->access_key_id, "STS.role1");
  EXPECT_GT(rra->expires_at, 0);
  ASSERT_EQ(cloud.seen().size(), 1U);
  EXPECT_EQ(cloud.seen()[0].action, "AssumeRole");
  EXPECT_EQ(cloud.seen()[0].key_id, "LTAIrra");
  EXPECT_EQ(cloud.seen()[0].role_arn, "acs:ram::1111111111111111:role/first");
  EXPECT_EQ(cloud.seen()[0].session, "cli-session");

  auto ecs = get("ecs");
  ASSERT_TRUE(ecs) << ecs.error().message;
  EXPECT_EQ(ecs->access_key_id.rfind("STS.ecs", 0), 0U);
  auto ecs_any = get("ecs-any");  // the role named by the metadata service
  ASSERT_TRUE(ecs_any) << ecs_any.error().message;
  EXPECT_EQ(ecs_any->access_key_id.rfind("STS.ecs", 0), 0U);

  auto oidc = get("oidc");
  ASSERT_TRUE(oidc) << oidc.error().message;
  EXPECT_EQ(oidc->access_key_id.rfind("STS.oidc", 0), 0U);
  EXPECT_EQ(cloud.seen().back().action, "AssumeRoleWithOIDC");
  EXPECT_EQ(cloud.seen().back().token, "header.payload.sig");
  EXPECT_EQ(cloud.seen().back().key_id, "");  // anonymous

  // ChainableRamRoleArn: the source profile's role is assumed first, and its credentials sign the next.
  const std::size_t before = cloud.seen().size();
  auto chain = get("chain");
  ASSERT_TRUE(chain) << chain.error().message;
  const auto seen = cloud.seen();
  ASSERT_EQ(seen.size(), before + 2);
  EXPECT_EQ(seen[before].role_arn, "acs:ram::1111111111111111:role/first");
  EXPECT_EQ(seen[before].key_id, "LTAIrra");
  EXPECT_EQ(seen[before + 1].role_arn, "acs:ram::2222222222222222:role/second");
  EXPECT_EQ(seen[before + 1].key_id, "STS.role" + std::to_string(before + 1));
  EXPECT_EQ(chain->access_key_id, "STS.role" + std::to_string(before + 2));

  for (const auto& [profile, what] :
       std::vector<std::pair<std::string, std::string>>{{"loop", "source_profile other than itself"},
                                                        {"odd", "mode 'External'"},
                                                        {"bad-rra", "needs ram_role_arn"},
                                                        {"nobody", "no profile of that name"}}) {
    auto r = get(profile);
    ASSERT_FALSE(r) << profile;
    EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("account 'acct' (profile '" + profile + "')"), std::string::npos)
        << r.error().message;
    EXPECT_EQ(r.error().message.find("secret"), std::string::npos) << r.error().message;
  }
}

TEST(CredentialsFile, RamRoleArnAndEcsRamRoleTypes) {
  FakeCloud cloud;
  Home home;
  (void)home.write(
      ".alibabacloud/credentials",
      "[rra]\ntype = ram_role_arn\naccess_key_id = LTAIini\naccess_key_secret = s\n"
      "role_arn = acs:ram::1111111111111111:role/ini\n\n[ecs]\ntype = ecs_ram_role\nrole_name = ecs-role\n");
  const auto o = options(cloud, home, {});
  auto rra = make_credential_provider(account(config::CredentialSource::profile, "rra", cloud), o)->get();
  ASSERT_TRUE(rra) << rra.error().message;
  EXPECT_EQ(cloud.seen().at(0).key_id, "LTAIini");
  EXPECT_EQ(cloud.seen().at(0).session, "acmon");
  auto ecs = make_credential_provider(account(config::CredentialSource::profile, "ecs", cloud), o)->get();
  ASSERT_TRUE(ecs) << ecs.error().message;
  EXPECT_EQ(ecs->access_key_id.rfind("STS.ecs", 0), 0U);
}

TEST(DefaultChain, FollowsAlibabasOrder) {
  FakeCloud cloud;
  Home home;
  const auto cli = home.write(".aliyun/config.json", cli_config(home));
  const auto file = home.write(".alibabacloud/credentials",
                               "[default]\naccess_key_id = LTAIfile\naccess_key_secret = s\n"
                               "[ops]\naccess_key_id = LTAIops\naccess_key_secret = s\n");
  const auto token = home.write("token", "a.b.c");
  Vars vars{{"ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIenv"},
            {"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"},
            {"ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1111111111111111:role/pod"},
            {"ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "acs:ram::1111111111111111:oidc-provider/ack"},
            {"ALIBABA_CLOUD_OIDC_TOKEN_FILE", token.string()},
            {"ALIBABA_CLOUD_CREDENTIALS_URI", cloud.url() + "/uri"}};
  auto next = [&]() -> std::string {
    auto r = make_credential_provider(account(config::CredentialSource::chain, "", cloud), options(cloud, home, vars))
                 ->get();
    return r ? r->access_key_id : "error: " + r.error().message;
  };
  EXPECT_EQ(next(), "LTAIenv");
  vars.erase("ALIBABA_CLOUD_ACCESS_KEY_ID");
  EXPECT_EQ(next().rfind("STS.oidc", 0), 0U);
  vars.erase("ALIBABA_CLOUD_OIDC_TOKEN_FILE");
  EXPECT_EQ(next(), "LTAIcli");  // the CLI's current profile
  vars["ALIBABA_CLOUD_PROFILE"] = "sts";
  EXPECT_EQ(next(), "STS.cli");
  fs::remove(cli);
  vars["ALIBABA_CLOUD_PROFILE"] = "ops";
  EXPECT_EQ(next(), "LTAIops");  // the credentials file, the named profile
  vars.erase("ALIBABA_CLOUD_PROFILE");
  EXPECT_EQ(next(), "LTAIfile");  // its default profile
  fs::remove(file);
  EXPECT_EQ(next().rfind("STS.ecs", 0), 0U);  // the ECS RAM role
  vars["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true";
  EXPECT_EQ(next().rfind("STS.uri", 0), 0U);  // the credentials URI
  vars.erase("ALIBABA_CLOUD_CREDENTIALS_URI");
  EXPECT_NE(next().find("the default credential chain found nothing"), std::string::npos) << next();
}

TEST(DefaultChain, AnUnreachableMetadataServiceFallsThroughToTheUri) {
  FakeCloud cloud;
  Home home;
  auto o = options(cloud, home, {{"ALIBABA_CLOUD_CREDENTIALS_URI", cloud.url() + "/uri"}});
  o.metadata_url = "http://127.0.0.1:1";
  auto p = make_credential_provider(account(config::CredentialSource::chain, "", cloud), o);
  auto r = p->get();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->access_key_id.rfind("STS.uri", 0), 0U);
  EXPECT_EQ(p->get()->access_key_id, r->access_key_id);  // kept, not fetched again
}

TEST(CheckConfig, MakesNoRequestAndFindsWhatIsMissing) {
  FakeCloud cloud;
  Home home;
  (void)home.write(".aliyun/config.json", cli_config(home));
  const auto o = options(cloud, home, {});
  // Sources that answer over the network are present as far as check-config can tell ...
  for (const char* profile : {"ak", "rra", "ecs", "chain"}) {
    EXPECT_TRUE(check_credentials_present(account(config::CredentialSource::profile, profile, cloud), o)) << profile;
  }
  auto assumed = account(config::CredentialSource::profile, "ak", cloud);
  assumed.assume_role = "acs:ram::1111111111111111:role/x";
  EXPECT_TRUE(check_credentials_present(assumed, o));
  EXPECT_TRUE(cloud.seen().empty());
  // ... what is missing locally is not.
  auto missing = check_credentials_present(account(config::CredentialSource::profile, "nobody", cloud), o);
  EXPECT_FALSE(missing);
  auto oidc = account(config::CredentialSource::oidc, "", cloud);
  oidc.role_arn = "acs:ram::1111111111111111:role/pod";
  oidc.oidc_provider_arn = "acs:ram::1111111111111111:oidc-provider/ack";
  oidc.oidc_token_file = (home.path / "no-token").string();
  auto r = check_credentials_present(oidc, o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no-token"), std::string::npos) << r.error().message;
  auto base_missing = account(config::CredentialSource::env, "", cloud);
  base_missing.assume_role = "acs:ram::1111111111111111:role/x";
  EXPECT_FALSE(check_credentials_present(base_missing, o));
  EXPECT_TRUE(cloud.seen().empty());
}
