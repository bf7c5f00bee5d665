#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "acmon/core/credentials.hpp"

using namespace acmon;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("acmon-cred-" + std::to_string(::getpid()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& content, unsigned mode = 0600) const {
    fs::path p = path / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << content;
    ::chmod(p.c_str(), mode);
    return p;
  }
};

CredentialOptions env_of(std::map<std::string, std::string> vars, const std::string& home = "") {
  CredentialOptions o;
  o.env = [vars = std::move(vars)](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  o.home = home;
  return o;
}

config::Account static_account() {
  config::Account a;
  a.name = "prod";
  a.access_key_id = "LTAIid";
  return a;
}

}  // namespace

TEST(SecretFile, ReadsAndTrimsAPrivateFile) {
  TempDir d;
  auto p = d.write("secret", "s3cr3t\n", 0600);
  auto r = read_secret_file(p);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "s3cr3t");
}

TEST(SecretFile, RefusesGroupOrWorldReadableWithoutShowingTheSecret) {
  TempDir d;
  for (unsigned mode : {0640U, 0604U, 0644U}) {
    auto p = d.write("secret", "s3cr3t\n", mode);
    auto r = read_secret_file(p);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("readable by its group or others"), std::string::npos);
    EXPECT_NE(r.error().message.find(p.string()), std::string::npos);
    EXPECT_EQ(r.error().message.find("s3cr3t"), std::string::npos);
  }
}

TEST(SecretFile, MissingAndEmpty) {
  TempDir d;
  auto r = read_secret_file((d.path / "none").string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("No such file"), std::string::npos);
  auto e = read_secret_file(d.write("empty", "\n"));
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("is empty"), std::string::npos);
}

TEST(Credentials, StaticFromFileAndEnv) {
  TempDir d;
  auto a = static_account();
  a.secret_file = d.write("secret", "from-file\n");
  auto c = make_credential_provider(a, env_of({}))->get();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "LTAIid");
  EXPECT_EQ(c->access_key_secret, "from-file");

  auto b = static_account();
  b.secret_env = "PROD_SECRET";
  b.security_token_env = "PROD_TOKEN";
  auto missing = make_credential_provider(b, env_of({}))->get();
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("account 'prod'"), std::string::npos);
  EXPECT_NE(missing.error().message.find("PROD_SECRET"), std::string::npos);
  auto ok = make_credential_provider(b, env_of({{"PROD_SECRET", "x"}, {"PROD_TOKEN", "t"}}))->get();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->security_token, "t");
}

TEST(Credentials, ARelativeSecretFileIsASystemdCredential) {
  TempDir d;
  d.write("creds/prod", "from-systemd\n", 0400);
  auto a = static_account();
  a.secret_file = "prod";
  auto c = make_credential_provider(a, env_of({{"CREDENTIALS_DIRECTORY", (d.path / "creds").string()}}))->get();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_secret, "from-systemd");
}

TEST(Credentials, EnvSource) {
  config::Account a;
  a.name = "e";
  a.source = config::CredentialSource::env;
  auto none = make_credential_provider(a, env_of({}))->get();
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("ALIBABA_CLOUD_ACCESS_KEY_ID"), std::string::npos);
  auto ok = make_credential_provider(a, env_of({{"ALIBABA_CLOUD_ACCESS_KEY_ID", "i"},
                                                {"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"},
                                                {"ALIBABA_CLOUD_SECURITY_TOKEN", "t"}}))
                ->get();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->access_key_id, "i");
  EXPECT_EQ(ok->security_token, "t");
}

TEST(Credentials, ProfileFromIniAndFromAliyunCli) {
  TempDir d;
  d.write(".alibabacloud/credentials.ini",
          "[default]\ntype = access_key\naccess_key_id = did\naccess_key_secret = dsecret\n\n"
          "[ops]\ntype = sts\naccess_key_id = oid\naccess_key_secret = \"osecret\"\nsecurity_token = otoken\n");
  d.write(
      ".aliyun/config.json",
      R"({"current":"cli","profiles":[{"name":"cli","mode":"AK","access_key_id":"cid","access_key_secret":"cs"}]})");
  config::Account a;
  a.name = "p";
  a.source = config::CredentialSource::profile;
  a.source_arg = "ops";
  auto ops = make_credential_provider(a, env_of({}, d.path.string()))->get();
  ASSERT_TRUE(ops) << ops.error().message;
  EXPECT_EQ(ops->access_key_id, "oid");
  EXPECT_EQ(ops->access_key_secret, "osecret");
  EXPECT_EQ(ops->security_token, "otoken");

  a.source_arg = "cli";  // not in the INI file: found in the aliyun CLI's configuration
  auto cli = make_credential_provider(a, env_of({}, d.path.string()))->get();
  ASSERT_TRUE(cli) << cli.error().message;
  EXPECT_EQ(cli->access_key_id, "cid");

  a.source_arg = "nope";
  auto none = make_credential_provider(a, env_of({}, d.path.string()))->get();
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("profile 'nope'"), std::string::npos);

  // $ALIBABA_CLOUD_CREDENTIALS_FILE wins over the home directory.
  auto other = d.write("other.ini", "[ops]\naccess_key_id = xid\naccess_key_secret = xs\n");
  a.source_arg = "ops";
  auto x =
      make_credential_provider(a, env_of({{"ALIBABA_CLOUD_CREDENTIALS_FILE", other.string()}}, d.path.string()))->get();
  ASSERT_TRUE(x);
  EXPECT_EQ(x->access_key_id, "xid");
}

TEST(Credentials, RamRoleFromAFakeMetadataServiceIsRefreshedBeforeExpiry) {
  httplib::Server md;
  std::atomic<int> token_calls{0};
  std::atomic<int> cred_calls{0};
  ManualClock clock(parse_rfc3339("2026-01-01T00:00:00Z").value());
  md.Put("/latest/api/token", [&](const httplib::Request& req, httplib::Response& res) {
    ++token_calls;
    EXPECT_EQ(req.get_header_value("X-aliyun-ecs-metadata-token-ttl-seconds"), "21600");
    res.set_content("md-token", "text/plain");
  });
  md.Get("/latest/meta-data/ram/security-credentials/acmon-role",
         [&](const httplib::Request& req, httplib::Response& res) {
           if (req.get_header_value("X-aliyun-ecs-metadata-token") != "md-token") {
             res.status = 401;
             return;
           }
           const int n = ++cred_calls;
           res.set_content(R"({"Code":"Success","AccessKeyId":"STS.id)" + std::to_string(n) +
                               R"(","AccessKeySecret":"s","SecurityToken":"tok","Expiration":"2026-01-01T01:00:00Z"})",
                           "application/json");
         });
  const int port = md.bind_to_any_port("127.0.0.1");
  std::thread t([&] { md.listen_after_bind(); });
  while (!md.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  config::Account a;
  a.name = "r";
  a.source = config::CredentialSource::ram_role;
  a.source_arg = "acmon-role";
  CredentialOptions o = env_of({});
  o.metadata_url = "http://127.0.0.1:" + std::to_string(port);
  o.clock = &clock;
  auto p = make_credential_provider(a, o);
  auto c1 = p->get();
  ASSERT_TRUE(c1) << c1.error().message;
  EXPECT_EQ(c1->access_key_id, "STS.id1");
  EXPECT_EQ(c1->security_token, "tok");
  clock.advance(1800);  // 30 minutes before expiry: cached
  EXPECT_EQ(p->get()->access_key_id, "STS.id1");
  clock.advance(1500);  // 5 minutes before expiry: cached still
  EXPECT_EQ(p->get()->access_key_id, "STS.id1");
  clock.advance(180);  // 2 minutes before expiry: refreshed
  EXPECT_EQ(p->get()->access_key_id, "STS.id2");
  EXPECT_EQ(cred_calls.load(), 2);
  EXPECT_EQ(token_calls.load(), 2);

  a.source_arg = "other-role";
  auto missing = make_credential_provider(a, o)->get();
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no RAM role"), std::string::npos);
  p.reset();  // closes its idle keep-alive connection, so stop() does not wait for it
  md.stop();
  t.join();
}
