// Every configuration error SPEC.md names, and its message: file, line, key, what.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "acmon/core/config.hpp"
#include "config_errors.hpp"

using namespace acmon::config;
using acmon::testing::expect_error;

namespace {

const char* k_good = R"(
[daemon]
database = "/tmp/acmon-test.db"
listen = "127.0.0.1:9796"
log_level = "debug"
retention = "30d"

[[accounts]]
name = "prod"
access_key_id = "LTAIexample"
access_key_secret_env = "PROD_SECRET"

[[accounts]]
name = "ops"
credentials = "profile:ops"

[[collectors]]
account = "prod"
product = "ecs"
regions = ["cn-hangzhou", "cn-beijing"]
interval = "5m"
timeout = "10s"
signature = "v1"
expiry_warning = "2h"
expiry_critical = "30m"

[[collectors]]
name = "prod-pdb"
account = "prod"
product = "polardb"
order_ids = ["2233000000001"]
time_zone = "+08:00"

[[collectors]]
account = "ops"
product = "smc"
endpoint = "http://127.0.0.1:8080"

[alerts]
expiry_warning = "7d"
expiry_critical = "1d"
usage_warning = 0.8
usage_critical = 0.95

[[notify]]
type = "alertmanager"
url = "http://127.0.0.1:9093"
)";

const char* k_account = "[[accounts]]\nname = \"a\"\naccess_key_id = \"id\"\naccess_key_secret_env = \"S\"\n";

}  // namespace

TEST(Config, ReadsAFullValidFile) {
  const Config c = parse(k_good, "acmon.toml");
  EXPECT_EQ(c.daemon.database, "/tmp/acmon-test.db");
  EXPECT_EQ(c.daemon.log_level, "debug");
  EXPECT_EQ(c.daemon.retention, 30 * 86400);
  ASSERT_EQ(c.accounts.size(), 2U);
  EXPECT_EQ(c.accounts[0].source, CredentialSource::static_key);
  EXPECT_EQ(c.accounts[0].secret_env, "PROD_SECRET");
  EXPECT_EQ(c.accounts[1].source, CredentialSource::profile);
  EXPECT_EQ(c.accounts[1].source_arg, "ops");
  ASSERT_EQ(c.collectors.size(), 3U);
  EXPECT_EQ(c.collectors[0].name, "prod-ecs");
  EXPECT_EQ(c.collectors[0].regions, (std::vector<std::string>{"cn-hangzhou", "cn-beijing"}));
  EXPECT_EQ(c.collectors[0].signature, SignatureVersion::v1);
  const Thresholds t = c.collectors[0].thresholds.apply(c.alerts);
  EXPECT_EQ(t.expiry_warning, 7200);
  EXPECT_EQ(t.expiry_critical, 1800);
  EXPECT_DOUBLE_EQ(t.usage_warning, 0.8);
  EXPECT_EQ(c.collectors[1].utc_offset, 8 * 3600);
  EXPECT_EQ(c.collectors[1].order_ids.size(), 1U);
  EXPECT_EQ(c.collectors[2].name, "ops-smc");
  EXPECT_EQ(c.collectors[2].signature, SignatureVersion::v3);
  EXPECT_EQ(c.collectors[2].interval, 300);
  EXPECT_EQ(c.collectors[2].endpoint, "http://127.0.0.1:8080");
  ASSERT_EQ(c.notify.size(), 1U);
  EXPECT_EQ(c.notify[0].type, Notify::Type::alertmanager);
}

TEST(Config, DefaultsForAnEmptyFile) {
  const Config c = parse("", "acmon.toml");
  EXPECT_EQ(c.daemon.database, "/var/lib/acmon/acmon.db");
  EXPECT_EQ(c.daemon.listen, "127.0.0.1:9796");
  EXPECT_EQ(c.alerts.expiry_warning, 7 * 86400);
  EXPECT_DOUBLE_EQ(c.alerts.usage_critical, 0.95);
}

TEST(Config, SyntaxErrorNamesTheLine) {
  expect_error("[daemon]\nlisten = \n", 2, "", "TOML syntax");
}

TEST(Config, UnknownKeysAreRefusedEverywhere) {
  expect_error("[daemon]\nlisten = \"127.0.0.1:1\"\nlisten_port = 5\n", 3, "daemon.listen_port", "unknown key");
  expect_error("[server]\nx = 1\n", 1, "server", "unknown key");
  expect_error(std::string(k_account) + "region = \"x\"\n", 5, "accounts[0].region", "unknown key");
  expect_error(std::string(k_account) + "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\nintervall = \"5m\"\n", 8,
               "collectors[0].intervall", "unknown key");
  expect_error("[alerts]\nexpiry_warn = \"1d\"\n", 2, "alerts.expiry_warn", "unknown key");
  expect_error("[[notify]]\ntype = \"webhook\"\nurl = \"http://x\"\nheaders = 1\n", 4, "notify[0].headers",
               "unknown key");
}

TEST(Config, WrongTypes) {
  expect_error("[daemon]\nlisten = 9796\n", 2, "daemon.listen", "expected a string, found an integer");
  expect_error("daemon = 5\n", 1, "daemon", "expected a table");
  expect_error("[alerts]\nusage_warning = \"80%\"\n", 2, "alerts.usage_warning", "expected a number");
  expect_error(
      std::string(k_account) + "[[collectors]]\naccount = \"a\"\nproduct = \"ecs\"\nregions = \"cn-hangzhou\"\n", 8,
      "collectors[0].regions", "expected an array of strings");
  expect_error(std::string(k_account) + "[[collectors]]\naccount = \"a\"\nproduct = \"ecs\"\nregions = [1]\n", 8,
               "collectors[0].regions", "element of type an integer");
  expect_error("accounts = 1\n", 1, "accounts", "expected an array of tables");
}

TEST(Config, DaemonValues) {
  expect_error("[daemon]\nlisten = \"localhost\"\n", 2, "daemon.listen", "not HOST:PORT");
  expect_error("[daemon]\nlisten = \"127.0.0.1:70000\"\n", 2, "daemon.listen", "not HOST:PORT");
  expect_error("[daemon]\nlog_level = \"verbose\"\n", 2, "daemon.log_level", "not one of trace");
  expect_error("[daemon]\nretention = \"1y\"\n", 2, "daemon.retention", "not a duration");
  expect_error("[daemon]\nretention = \"30m\"\n", 2, "daemon.retention", "must be at least 1d");
  expect_error("[daemon]\nretention = \"23h\"\n", 2, "daemon.retention", "must be at least 1d");
  expect_error("[daemon]\ndatabase = \"\"\n", 2, "daemon.database", "must not be empty");
}

TEST(Config, AccountCredentials) {
  expect_error("[[accounts]]\naccess_key_id = \"x\"\n", 1, "accounts[0]", "missing required key 'name'");
  expect_error("[[accounts]]\nname = \"a b\"\n", 2, "accounts[0].name", "may hold only");
  expect_error("[[accounts]]\nname = \"a\"\naccess_key_id = \"x\"\naccess_key_secret = \"s3cr3t\"\n", 4,
               "accounts[0].access_key_secret", "not accepted inline");
  expect_error("[[accounts]]\nname = \"a\"\n", 1, "accounts[0]", "has no credentials");
  expect_error("[[accounts]]\nname = \"a\"\naccess_key_id = \"x\"\n", 3, "accounts[0].access_key_id", "has no secret");
  expect_error(
      "[[accounts]]\nname = \"a\"\naccess_key_id = \"x\"\naccess_key_secret_env = \"A\"\n"
      "access_key_secret_file = \"/f\"\n",
      4, "accounts[0].access_key_secret_env", "either");
  expect_error("[[accounts]]\nname = \"a\"\ncredentials = \"vault\"\n", 3, "accounts[0].credentials", "not one of");
  expect_error("[[accounts]]\nname = \"a\"\ncredentials = \"profile:\"\n", 3, "accounts[0].credentials", "not one of");
  expect_error("[[accounts]]\nname = \"a\"\ncredentials = \"env\"\naccess_key_id = \"x\"\n", 3,
               "accounts[0].credentials", "cannot be combined");
  expect_error(std::string(k_account) + k_account, 5, "accounts[1].name", "defined twice");
}

TEST(Config, CollectorRules) {
  const std::string a = k_account;
  expect_error(a + "[[collectors]]\nproduct = \"smc\"\n", 5, "collectors[0]", "missing required key 'account'");
  expect_error(a + "[[collectors]]\naccount = \"nope\"\nproduct = \"smc\"\n", 6, "collectors[0].account",
               "no [[accounts]] entry is named 'nope'");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"rds\"\n", 7, "collectors[0].product",
               "not one of smc, ecs, polardb");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"polardb\"\n", 7, "collectors[0].product",
               "needs order_ids");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"polardb\"\norder_ids = []\n", 8,
               "collectors[0].order_ids", "needs order_ids");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"ecs\"\n", 7, "collectors[0].product", "needs regions");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"ecs\"\nregions = [\"*\", \"cn-beijing\"]\n", 8,
               "collectors[0].regions", "cannot be combined");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"ecs\"\nregions = [\"x\", \"x\"]\n", 8,
               "collectors[0].regions", "listed twice");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\nregions = [\"x\"]\n", 8,
               "collectors[0].regions", "only ecs");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\norder_ids = [\"1\"]\n", 8,
               "collectors[0].order_ids", "only polardb");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\ninterval = \"5s\"\n", 8,
               "collectors[0].interval", "at least 10s");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\ninterval = \"five\"\n", 8,
               "collectors[0].interval", "not a duration");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\ntimeout = \"1h\"\n", 8, "collectors[0].timeout",
               "at most 5m");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\nendpoint = \"smc.aliyuncs.com\"\n", 8,
               "collectors[0].endpoint", "not an http:// or https:// URL");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\nsignature = \"v2\"\n", 8,
               "collectors[0].signature", "not one of v3, v1");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\ntime_zone = \"+08:00\"\n", 8,
               "collectors[0].time_zone", "only polardb");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"polardb\"\norder_ids = [\"1\"]\ntime_zone = \"CST\"\n",
               9, "collectors[0].time_zone", "not a UTC offset");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\n[[collectors]]\naccount = \"a\"\n"
                   "product = \"smc\"\n",
               8, "collectors[1].name", "defined twice");
  expect_error(a + "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\nexpiry_critical = \"8d\"\n", 8,
               "collectors[0].expiry_critical", "must not be longer than expiry_warning");
}

TEST(Config, AlertThresholds) {
  expect_error("[alerts]\nusage_warning = 80\n", 2, "alerts.usage_warning", "out of range");
  expect_error("[alerts]\nusage_critical = 0.0\n", 2, "alerts.usage_critical", "out of range");
  expect_error("[alerts]\nusage_warning = 0.9\nusage_critical = 0.5\n", 3, "alerts.usage_critical", "not be lower");
  expect_error("[alerts]\nexpiry_warning = \"1d\"\nexpiry_critical = \"2d\"\n", 3, "alerts.expiry_critical",
               "must not be longer");
}

TEST(Config, NotifyRules) {
  expect_error("[[notify]]\ntype = \"email\"\nurl = \"http://x\"\n", 2, "notify[0].type", "not one of alertmanager");
  expect_error("[[notify]]\ntype = \"webhook\"\n", 1, "notify[0]", "missing required key 'url'");
  expect_error("[[notify]]\ntype = \"webhook\"\nurl = \"ftp://x\"\n", 3, "notify[0].url", "not an http");
  // A receiver's URL may carry its secret (a token in the query or path, a password before the
  // host): the error is not to quote it.
  for (const char* url :
       {"ftp://hooks.example.com/robot/send?access_token=s3cret", "https://acmon:s3cret@am.example.com:9093/ x",
        "oapi.dingtalk.com/robot?access_token=s3cret"}) {
    const std::string text = std::string("[[notify]]\ntype = \"webhook\"\nurl = \"") + url + "\"\n";
    expect_error(text, 3, "notify[0].url", "not an http");
    EXPECT_EQ(std::string(acmon::testing::error_of(text).what()).find("s3cret"), std::string::npos)
        << acmon::testing::error_of(text).what();
  }
}

TEST(Config, MissingFileNamesTheFile) {
  try {
    load_file("/nonexistent/acmon.toml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), "/nonexistent/acmon.toml");
    EXPECT_NE(std::string(e.what()).find("cannot read"), std::string::npos);
  }
}

TEST(Config, SplitHostPort) {
  EXPECT_EQ(split_host_port("127.0.0.1:9796"), std::make_pair(std::string("127.0.0.1"), 9796));
  EXPECT_EQ(split_host_port("[::1]:0"), std::make_pair(std::string("::1"), 0));
  EXPECT_FALSE(split_host_port("::1:80").has_value());
  EXPECT_FALSE(split_host_port(":80").has_value());
  EXPECT_FALSE(split_host_port("h:").has_value());
  EXPECT_FALSE(split_host_port("h:-1").has_value());
}

TEST(Config, ConcurrencyAndRateLimit) {
  auto cfg =
      parse(std::string("[daemon]\nconcurrency = 16\n") + k_account +
                "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\nrate_limit = 2.5\n"
                "[[collectors]]\naccount = \"a\"\nproduct = \"polardb\"\norder_ids = [\"1\"]\n"
                "[[collectors]]\naccount = \"a\"\nproduct = \"ecs\"\nregions = [\"cn-hangzhou\"]\nrate_limit = 0\n",
            "t.toml");
  EXPECT_EQ(cfg.daemon.concurrency, 16);
  EXPECT_DOUBLE_EQ(cfg.collectors[2].rate_limit, 0);  // no pacing
  EXPECT_DOUBLE_EQ(cfg.collectors[0].rate_limit, 2.5);
  EXPECT_DOUBLE_EQ(cfg.collectors[1].rate_limit, 10);  // the default
  EXPECT_EQ(parse("", "t.toml").daemon.concurrency, 8);
  expect_error("[daemon]\nconcurrency = 0\n", 2, "daemon.concurrency", "out of range");
  expect_error("[daemon]\nconcurrency = 2.5\n", 2, "daemon.concurrency", "whole number");
  expect_error("[daemon]\nconcurrency = \"8\"\n", 2, "daemon.concurrency", "expected a number");
  expect_error(std::string(k_account) + "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\nrate_limit = -1\n", 8,
               "collectors[0].rate_limit", "out of range");
  expect_error(std::string(k_account) + "[[collectors]]\naccount = \"a\"\nproduct = \"smc\"\nrate_limit = 5000\n", 8,
               "collectors[0].rate_limit", "out of range");
}

TEST(Config, Shard) {
  const auto cfg = parse("[daemon]\nshard = \"2/3\"\n", "t.toml");
  EXPECT_EQ(cfg.daemon.shard_index, 2);
  EXPECT_EQ(cfg.daemon.shard_total, 3);
  EXPECT_EQ(parse("", "t.toml").daemon.shard_total, 1);
  for (const char* bad : {"3/3", "-1/2", "1/0", "1", "a/b", "1/2/3", "0/1001", " 0/2"}) {
    expect_error(std::string("[daemon]\nshard = \"") + bad + "\"\n", 2, "daemon.shard", "is not \"I/N\"");
  }
}
