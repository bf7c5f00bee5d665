// Input that must neither crash acmon nor fool it: deep or huge API answers, API text with control
// characters, times and durations at the edges of their ranges, configuration that would reach the wire.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "acmon/core/api.hpp"
#include "acmon/core/config.hpp"
#include "acmon/core/credentials.hpp"
#include "acmon/core/time.hpp"

using namespace acmon;

namespace {

http::Response answer(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

bool one_line(const std::string& s) {
  return s.find_first_of("\r\n\x1b") == std::string::npos;
}

}  // namespace

TEST(Limits, InterpretRefusesADeeplyNestedAnswer) {
  auto r = api::interpret(answer(200, "{\"RequestId\": \"r\", \"AccessTokens\": " + nested(100000) + "}"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::parse);
  EXPECT_NE(r.error().message.find("deeper than"), std::string::npos) << r.error().message;
  EXPECT_LT(r.error().describe().size(), 400U);
}

TEST(Limits, InterpretKeepsANormallyNestedAnswer) {
  auto r = api::interpret(answer(200, "{\"RequestId\": \"r\", \"A\": " + nested(60) + "}"));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
}

TEST(Limits, InterpretCapsAndEscapesTheApiText) {
  const std::string code = "Forged.Code\n2026-01-01 [error] fake" + std::string(5000, 'C');
  const std::string message = "line one\nline two\x1b[31m" + std::string(1 << 20, 'm');
  const nlohmann::json body = {{"Code", code}, {"Message", message}, {"RequestId", "R\nX" + std::string(5000, 'r')}};
  auto r = api::interpret(answer(400, body.dump()));
  ASSERT_FALSE(r.has_value());
  const Error& e = r.error();
  EXPECT_LE(e.code.size(), 400U);
  EXPECT_LE(e.message.size(), 400U);
  EXPECT_LE(e.request_id.size(), 400U);
  EXPECT_TRUE(one_line(e.code) && one_line(e.message) && one_line(e.request_id)) << e.describe();
  EXPECT_NE(e.message.find("line one\\nline two"), std::string::npos) << e.message;
  EXPECT_EQ(e.code.rfind("Forged.Code\\n", 0), 0U) << e.code;
}

TEST(Limits, InterpretSurvivesAMessageThatIsNotAString) {
  for (const char* message : {"5", "null", "[1,2]", "{\"a\":1}", "true"}) {
    const std::string body = std::string("{\"Code\": \"Throttling\", \"Message\": ") + message + "}";
    for (int status : {200, 400}) {
      auto r = api::interpret(answer(status, body));
      ASSERT_FALSE(r.has_value()) << body;
      EXPECT_EQ(r.error().code, "Throttling");
    }
  }
}

TEST(Limits, DescribeIsOneBoundedLine) {
  // 10 MB on purpose: a message far larger than any limit.
  // NOLINTNEXTLINE(bugprone-string-constructor)
  Error e = make_error(ErrorKind::api, "first\nsecond\r\n" + std::string(10'000'000, 'x'));
  e.code = std::string(100000, 'c') + "\n";
  e.request_id = "id\x1b[2J" + std::string(100000, 'r');
  e.http_status = 400;
  const std::string d = e.describe();
  EXPECT_LT(d.size(), 600U);
  EXPECT_TRUE(one_line(d)) << d.substr(0, 200);
  EXPECT_NE(d.find("first\\nsecond\\r\\n"), std::string::npos) << d.substr(0, 200);
}

TEST(Limits, FormatNeverPrintsAFiveDigitYear) {
  const UnixTime end_of_9999 = days_from_civil(9999, 12, 31) * 86400 + 86399;
  EXPECT_EQ(format_rfc3339(end_of_9999), "9999-12-31T23:59:59Z");
  for (UnixTime t : {end_of_9999 + 1, days_from_civil(10000, 3, 30) * 86400, days_from_civil(-1, 1, 1) * 86400,
                     std::numeric_limits<UnixTime>::max(), std::numeric_limits<UnixTime>::min()}) {
    const std::string s = format_rfc3339(t);
    EXPECT_EQ(s.size(), 20U) << s;
    EXPECT_TRUE(parse_rfc3339(s).has_value()) << s;
  }
}

TEST(Limits, ParseRejectsWhatIsNotARealRfc3339Time) {
  EXPECT_FALSE(parse_rfc3339("9999-12-31T23:59:59-01:00").has_value());
  EXPECT_FALSE(parse_rfc3339("0000-01-01T00:00:00+01:00").has_value());
  EXPECT_FALSE(parse_rfc3339("2022-09-09T02:35:44 Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2022-09-09T02:35:44\t+08:00").has_value());
  EXPECT_FALSE(parse_zoneless("9999-12-31 23:00:00", -3600 * 2).has_value());
  EXPECT_TRUE(parse_rfc3339("9999-12-31T23:59:59Z").has_value());
  EXPECT_TRUE(parse_rfc3339("2022-09-09T02:35:44.123+08:00").has_value());
}

TEST(Limits, DurationsHaveAMaximumAndNeverOverflow) {
  EXPECT_FALSE(parse_duration("999999999d").has_value());
  EXPECT_FALSE(parse_duration("36526d").has_value());
  EXPECT_EQ(parse_duration("36525d"), std::int64_t{36525} * 86400);
  std::string many;
  for (int i = 0; i < 200000; ++i) {
    many += "999999999d";
  }
  EXPECT_FALSE(parse_duration(many).has_value());
}

// Configuration: every error names file:line and the key.
namespace {

const char* k_account = "[[accounts]]\nname = \"a\"\naccess_key_id = \"id\"\naccess_key_secret_env = \"S\"\n";

config::ConfigError error_of(const std::string& text) {
  try {
    (void)config::parse(text, "acmon.toml");
  } catch (const config::ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return {"", 0, "", ""};
}

void expect_error(const std::string& text, int line, const std::string& key, const std::string& what) {
  const config::ConfigError e = error_of(text);
  EXPECT_EQ(e.line(), line) << e.what();
  EXPECT_EQ(e.key(), key) << e.what();
  EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  EXPECT_EQ(std::string(e.what()).rfind("acmon.toml:" + std::to_string(line) + ": ", 0), 0U) << e.what();
  EXPECT_LT(std::string(e.what()).size(), 700U);
}

std::string collector(const std::string& product, const std::string& extra) {
  return std::string(k_account) + "[[collectors]]\naccount = \"a\"\nproduct = \"" + product + "\"\n" + extra;
}

}  // namespace

TEST(Limits, ConfiguredRegionsMustBeRegionIds) {
  for (const char* bad :
       {"x@127.0.0.1:19950/#", "cn-hangzhou.evil.com", "CN-HANGZHOU", "x", "cn-", "cn hangzhou", "cn-hangzhou\n"}) {
    nlohmann::json region = bad;
    expect_error(collector("ecs", "regions = [\"cn-beijing\", " + region.dump() + "]\n"), 8, "collectors[0].regions",
                 "not a region id");
  }
  expect_error(collector("ecs", "regions = [\"cn-" + std::string(80, 'a') + "\"]\n"), 8, "collectors[0].regions",
               "not a region id");
  const auto c = config::parse(
      collector("ecs", "regions = [\"cn-hangzhou\", \"us-west-1\", \"cn-hangzhou-finance\"]\n"), "acmon.toml");
  EXPECT_EQ(c.collectors.at(0).regions.size(), 3U);
}

TEST(Limits, ConfiguredEndpointsAreJustSchemeHostAndPort) {
  for (const char* bad : {"http://127.0.0.1:19950/x", "https://user@smc.aliyuncs.com", "https://smc.aliyuncs.com?a=b",
                          "https://smc.aliyuncs.com#f", "https://", "https://:80", "http://h:99999",
                          "http://h:", "ftp://h", "https://smc.aliyuncs.com/ "}) {
    expect_error(collector("smc", std::string("endpoint = \"") + bad + "\"\n"), 8, "collectors[0].endpoint",
                 "is not an http:// or https:// URL");
  }
  for (const char* good : {"http://127.0.0.1:8080", "https://smc.aliyuncs.com/", "http://[::1]:9000", "http://h"}) {
    const auto c = config::parse(collector("smc", std::string("endpoint = \"") + good + "\"\n"), "acmon.toml");
    EXPECT_EQ(c.collectors.at(0).endpoint, good);
  }
}

TEST(Limits, OrderIdsAndAccessKeyIdsHaveTheirDocumentedShapes) {
  expect_error(collector("polardb", "order_ids = [\"1&Action=Delete\"]\n"), 8, "collectors[0].order_ids",
               "not an order id");
  expect_error(collector("polardb", "order_ids = [\"" + std::string(100, '1') + "\"]\n"), 8, "collectors[0].order_ids",
               "not an order id");
  EXPECT_NO_THROW(
      (void)config::parse(collector("polardb", "order_ids = [\"2233****445566\", \"2233000000002\"]\n"), "acmon.toml"));
  expect_error("[[accounts]]\nname = \"a\"\naccess_key_id = \"LTAI x\\n\"\naccess_key_secret_env = \"S\"\n", 3,
               "accounts[0].access_key_id", "not an AccessKey id");
  expect_error(
      "[[accounts]]\nname = \"a\"\naccess_key_id = \"" + std::string(200, 'L') + "\"\naccess_key_secret_env = \"S\"\n",
      3, "accounts[0].access_key_id", "not an AccessKey id");
}

TEST(Limits, DurationsInTheConfigurationHaveAMaximum) {
  expect_error(collector("smc", "interval = \"999999999d\"\n"), 8, "collectors[0].interval", "not a duration");
  expect_error(collector("smc", "interval = \"367d\"\n"), 8, "collectors[0].interval", "at most 366d");
  expect_error("[daemon]\nretention = \"36526d\"\n", 2, "daemon.retention", "not a duration");
  const auto c = config::parse(collector("smc", "interval = \"366d\"\n"), "acmon.toml");
  EXPECT_EQ(c.collectors.at(0).interval, std::int64_t{366} * 86400);
}

TEST(Limits, QuotedValuesInConfigurationErrorsAreCapped) {
  const config::ConfigError e = error_of(collector("smc", "interval = \"" + std::string(100000, '7') + "\"\n"));
  EXPECT_LT(std::string(e.what()).size(), 700U);
}

TEST(Limits, TheConfigurationFileMustBeABoundedRegularFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("acmon-limits-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  try {
    (void)config::load_file(dir.string());
    ADD_FAILURE() << "a directory was read as a configuration";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
  const auto big = dir / "big.toml";
  {
    std::ofstream out(big);
    out << "# " << std::string(2 << 20, 'x') << "\n";
  }
  try {
    (void)config::load_file(big.string());
    ADD_FAILURE() << "a 2 MiB configuration was read";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("larger than"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(Limits, DevZeroIsNotAConfiguration) {
  try {
    (void)config::load_file("/dev/zero");
    ADD_FAILURE() << "/dev/zero was read as a configuration";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
}

TEST(Limits, RamRoleAnswersOfTheWrongShapeAreErrors) {
  // The metadata service is on the network too: a field of the wrong type, or a long Code with a
  // line break, must make an error, not an exception or a forged log line.
  const std::string answers[] = {
      R"({"Code":"Success","AccessKeyId":5,"AccessKeySecret":"s","SecurityToken":"t","Expiration":"2026-01-01T01:00:00Z"})",
      R"({"Code":"Success","AccessKeyId":"STS.x","AccessKeySecret":["s"],"SecurityToken":"t","Expiration":1})",
      nlohmann::json{{"Code", "Failed\n2026-01-01 [error] forged" + std::string(100000, 'x')}}.dump(),
      std::string(100000, '[') + std::string(100000, ']'),
  };
  std::atomic<std::size_t> next{0};
  httplib::Server md;
  md.Put("/latest/api/token",
         [&](const httplib::Request&, httplib::Response& res) { res.set_content("md-token", "text/plain"); });
  md.Get("/latest/meta-data/ram/security-credentials/role", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(answers[next++ % std::size(answers)], "application/json");
  });
  const int port = md.bind_to_any_port("127.0.0.1");
  std::thread t([&] { md.listen_after_bind(); });
  while (!md.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  config::Account a;
  a.name = "r";
  a.source = config::CredentialSource::ram_role;
  a.source_arg = "role";
  CredentialOptions o;
  o.env = [](const std::string&) { return std::optional<std::string>(); };
  o.metadata_url = "http://127.0.0.1:" + std::to_string(port);
  for (std::size_t i = 0; i < std::size(answers); ++i) {
    auto p = make_credential_provider(a, o);
    Result<Credentials> c = make_error(ErrorKind::config, "not called");
    EXPECT_NO_THROW(c = p->get()) << "answer " << i;
    ASSERT_FALSE(c.has_value()) << "answer " << i;
    EXPECT_LT(c.error().message.size(), 600U) << "answer " << i;
    EXPECT_TRUE(one_line(c.error().message)) << c.error().message.substr(0, 200);
  }
  md.stop();
  t.join();
}

TEST(Limits, AnAliyunCliProfileOfTheWrongShapeIsAnError) {
  const auto home = std::filesystem::temp_directory_path() / ("acmon-limits-home-" + std::to_string(::getpid()));
  std::filesystem::create_directories(home / ".aliyun");
  config::Account a;
  a.name = "p";
  a.source = config::CredentialSource::profile;
  a.source_arg = "ops";
  CredentialOptions o;
  o.env = [](const std::string&) { return std::optional<std::string>(); };
  o.home = home.string();
  for (const char* profiles : {R"([{"name": 5}, {"name": "ops", "mode": ["AK"]}])",
                               R"([{"name": "ops", "mode": "AK", "access_key_id": 1, "access_key_secret": "s"}])",
                               R"([{"name": "ops", "mode": "StsToken", "access_key_id": "i", "access_key_secret": "s",
                                    "sts_token": {}}])"}) {
    {
      std::ofstream out(home / ".aliyun" / "config.json");
      out << R"({"current": "ops", "profiles": )" << profiles << "}";
    }
    Result<Credentials> c = make_error(ErrorKind::config, "not called");
    EXPECT_NO_THROW(c = make_credential_provider(a, o)->get()) << profiles;
    EXPECT_FALSE(c.has_value()) << profiles;
  }
  std::filesystem::remove_all(home);
}
