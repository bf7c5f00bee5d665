// The simulator behaves as the documents say: paging, parameter ranges, quirks, signatures.
#include <gtest/gtest.h>

#include "acmon/core/crypto.hpp"
#include "sim_fixture.hpp"

using namespace acmon;
using namespace acmon::testing;
using nlohmann::json;

namespace {

json smc_tokens(int n) {
  json list = json::array();
  for (int i = 0; i < n; ++i) {
    list.push_back(smc_token("at-" + std::to_string(1000 + i)));
  }
  return list;
}

}  // namespace

TEST_F(SimTest, SmcPagesByPageNumberAndPageSize) {
  for (int n : {0, 1, 50, 51, 120}) {
    start({{"smc", smc_tokens(n)}});
    int seen = 0;
    for (int page = 1; page <= 4; ++page) {
      auto r = run(call("ListAccessTokens", {{"PageNumber", std::to_string(page)}, {"PageSize", "50"}}));
      ASSERT_TRUE(r) << r.error().describe();
      EXPECT_EQ((*r)["TotalCount"], n);
      EXPECT_EQ((*r)["PageNumber"], page);
      EXPECT_EQ((*r)["PageSize"], 50);
      const auto& items = (*r)["AccessTokens"];
      EXPECT_EQ(static_cast<int>(items.size()), std::clamp(n - (page - 1) * 50, 0, 50)) << "n=" << n;
      for (const auto& it : items) {
        EXPECT_EQ(it["AccessTokenId"], "at-" + std::to_string(1000 + seen));
        EXPECT_FALSE(it.contains("_account"));
        EXPECT_EQ(it["Count"], "100");  // a string, as in the document
        ++seen;
      }
    }
    EXPECT_EQ(seen, n);
  }
}

TEST_F(SimTest, SmcRefusesPageSizesTheApiRefuses) {
  start({{"smc", smc_tokens(3)}});
  for (const char* bad : {"15", "0", "100", "x"}) {
    auto r = run(call("ListAccessTokens", {{"PageSize", bad}}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "InvalidParam.PageSize");
    EXPECT_EQ(r.error().http_status, 400);
    EXPECT_FALSE(r.error().request_id.empty());
  }
  auto r = run(call("ListAccessTokens", {{"PageNumber", "0"}}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "InvalidParam.PageNumber");
  auto d = run(call("ListAccessTokens"));
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)["PageSize"], 20);  // the default
}

TEST_F(SimTest, EcsPagesByNextTokenWithoutAMeaningfulTotal) {
  json acts = json::array();
  for (int i = 0; i < 23; ++i) {
    acts.push_back({{"_account", "AKID"},
                    {"_region", "cn-hangzhou"},
                    {"ActivationId", "act-" + std::to_string(i)},
                    {"InstanceCount", "10"},
                    {"Disabled", "false"}});
  }
  acts.push_back({{"_account", "AKID"}, {"_region", "cn-beijing"}, {"ActivationId", "other"}});
  start({{"ecs", acts}});
  std::string token;
  int seen = 0;
  int pages = 0;
  do {
    signing::Params p{{"RegionId", "cn-hangzhou"}, {"MaxResults", "10"}};
    if (!token.empty()) {
      p["NextToken"] = token;
    }
    auto r = run(call("DescribeActivations", p));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ((*r)["TotalCount"], "0");
    for (const auto& a : (*r)["ActivationList"]) {
      EXPECT_EQ(a["ActivationId"], "act-" + std::to_string(seen));
      ++seen;
    }
    token = (*r)["NextToken"].get<std::string>();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, 23);
  EXPECT_EQ(pages, 3);

  auto bad = run(call("DescribeActivations", {{"RegionId", "cn-hangzhou"}, {"NextToken", "AAAA10.forged"}}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "InvalidParameter.NextToken");
  auto bad_max = run(call("DescribeActivations", {{"RegionId", "cn-hangzhou"}, {"MaxResults", "51"}}));
  ASSERT_FALSE(bad_max);
  EXPECT_EQ(bad_max.error().code, "InvalidParameter.MaxResults");

  auto by_page =
      run(call("DescribeActivations", {{"RegionId", "cn-hangzhou"}, {"PageNumber", "3"}, {"PageSize", "10"}}));
  ASSERT_TRUE(by_page);
  EXPECT_EQ((*by_page)["TotalCount"], "23");  // numbers as strings, as in the document
  EXPECT_EQ((*by_page)["PageNumber"], "3");
  EXPECT_EQ((*by_page)["ActivationList"].size(), 3U);
}

TEST_F(SimTest, EcsRegions) {
  start(json::object());
  auto regions = run(call("DescribeRegions"));
  ASSERT_TRUE(regions);
  EXPECT_EQ((*regions)["Regions"]["Region"].size(), 6U);
  EXPECT_EQ((*regions)["Regions"]["Region"][0]["RegionEndpoint"], "ecs.cn-hangzhou.aliyuncs.com");
  auto unsupported = run(call("DescribeActivations", {{"RegionId", "ap-southeast-1"}}));
  ASSERT_FALSE(unsupported);
  EXPECT_EQ(unsupported.error().code, "RegionId.ApiNotSupported");
  auto unknown = run(call("DescribeActivations", {{"RegionId", "mars-1"}}));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "InvalidRegionId.NotFound");
  auto missing = run(call("DescribeActivations"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "MissingRegionId");
}

TEST_F(SimTest, PolarDbKeepsTheDocumentQuirksAndKnowsItsOrders) {
  start({{"polardb",
          {{{"_account", "AKID"},
            {"_order", "2233000000001"},
            {"Id", 123},
            {"GmtCreated", "2024-10-16 16:46:20\n"},
            {"ExpireAt", "2054-10-16 16:46:20\n"},
            {"SystemIdentifier", "\t\n1234567890123456"}}}}});
  auto r = run(call("DescribeActivationCodes", {{"AliyunOrderId", "2233000000001"}}));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ((*r)["TotalRecordCount"], 1);
  EXPECT_EQ((*r)["PageRecordCount"], 1);
  EXPECT_EQ((*r)["Items"][0]["Id"], 123);
  EXPECT_EQ((*r)["Items"][0]["ExpireAt"], "2054-10-16 16:46:20\n");
  EXPECT_EQ((*r)["Items"][0]["SystemIdentifier"], "\t\n1234567890123456");
  auto unknown = run(call("DescribeActivationCodes", {{"AliyunOrderId", "999"}}));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "InvalidAliyunOrderId.NotFound");
  auto missing = run(call("DescribeActivationCodes"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "MissingAliyunOrderId");
}

TEST_F(SimTest, WrongSecretUnknownKeyAndWrongVersionAreRefusedInBothSignatureVersions) {
  start({{"smc", smc_tokens(1)}});
  for (auto v : {config::SignatureVersion::v1, config::SignatureVersion::v3}) {
    KeyProvider wrong("AKID", "not-the-secret");
    auto r = run(call("ListAccessTokens", {}, v), &wrong);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
    EXPECT_EQ(r.error().http_status, 400);
    KeyProvider unknown("NOPE", "x");
    auto u = run(call("ListAccessTokens", {}, v), &unknown);
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error().code, "InvalidAccessKeyId.NotFound");
    auto ok = run(call("ListAccessTokens", {{"Name", "test_name"}, {"Description", "a b*c~/é"}}, v));
    ASSERT_TRUE(ok) << ok.error().describe();
    auto c = call("ListAccessTokens", {}, v);
    c.version = "2014-05-26";
    auto ver = run(c);
    ASSERT_FALSE(ver);
    EXPECT_EQ(ver.error().code, "InvalidVersion");
  }
  EXPECT_EQ(sim->stats()["auth_failures"], 4);
}

TEST_F(SimTest, SecurityTokenIsRequiredForStsKeys) {
  start(json::object());
  for (auto v : {config::SignatureVersion::v1, config::SignatureVersion::v3}) {
    KeyProvider no_token("STSID", "sts-secret");
    auto r = run(call("ListAccessTokens", {}, v), &no_token);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "InvalidSecurityToken.Mismatch");
    KeyProvider with_token("STSID", "sts-secret", "tok");
    EXPECT_TRUE(run(call("ListAccessTokens", {}, v), &with_token));
  }
}

TEST_F(SimTest, ReplayedNonceTamperedQueryAndOldTimestampAreRefused) {
  start({{"smc", smc_tokens(1)}});
  Credentials creds{"AKID", "sim-secret", "", 0};
  for (auto v : {config::SignatureVersion::v1, config::SignatureVersion::v3}) {
    const auto nonce = crypto::random_hex(16);
    auto req = client->build(call("ListAccessTokens", {{"PageSize", "10"}}, v), creds, clock.now(), nonce);
    auto first = transport_ptr->send(req);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->status, 200);
    auto again = transport_ptr->send(req);
    ASSERT_TRUE(again);
    EXPECT_EQ(api::interpret(*again).error().code, "SignatureNonceUsed");

    auto tampered =
        client->build(call("ListAccessTokens", {{"PageSize", "10"}}, v), creds, clock.now(), crypto::random_hex(16));
    const auto pos = tampered.url.find("PageSize=10");
    ASSERT_NE(pos, std::string::npos);
    tampered.url.replace(pos, 11, "PageSize=20");
    auto t = transport_ptr->send(tampered);
    ASSERT_TRUE(t);
    EXPECT_EQ(api::interpret(*t).error().code, "SignatureDoesNotMatch");

    auto old = client->build(call("ListAccessTokens", {}, v), creds, clock.now() - 3600, crypto::random_hex(16));
    auto o = transport_ptr->send(old);
    ASSERT_TRUE(o);
    EXPECT_EQ(api::interpret(*o).error().code, "InvalidTimeStamp.Expired");
  }
}

TEST_F(SimTest, CreateAccessTokenChecksRangesAndAddsAnUnusedCode) {
  start(json::object());
  auto bad = run(call("CreateAccessToken", {{"Count", "1001"}}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "InvalidParam.Count");
  auto bad_ttl = run(call("CreateAccessToken", {{"TimeToLiveInDays", "91"}}));
  ASSERT_FALSE(bad_ttl);
  auto ok = run(call("CreateAccessToken", {{"Name", "n"}, {"Count", "7"}, {"TimeToLiveInDays", "3"}}));
  ASSERT_TRUE(ok) << ok.error().describe();
  EXPECT_FALSE((*ok)["AccessTokenCode"].get<std::string>().empty());
  auto list = run(call("ListAccessTokens"));
  ASSERT_TRUE(list);
  ASSERT_EQ((*list)["AccessTokens"].size(), 1U);
  EXPECT_EQ((*list)["AccessTokens"][0]["AccessTokenId"], (*ok)["AccessTokenId"]);
  EXPECT_EQ((*list)["AccessTokens"][0]["Count"], "7");
  EXPECT_EQ((*list)["AccessTokens"][0]["Status"], "unactivated");
  EXPECT_FALSE((*list)["AccessTokens"][0].contains("AccessTokenCode"));
}

TEST_F(SimTest, DataChangesWhileItRuns) {
  start({{"smc", smc_tokens(3)}});
  sim->upsert("smc", smc_token("at-new"));
  EXPECT_TRUE(sim->patch("smc", "at-1000", {{"RegisteredCount", "99"}, {"Status", "expired"}}));
  EXPECT_TRUE(sim->remove("smc", "at-1001"));
  EXPECT_FALSE(sim->remove("smc", "at-none"));
  auto r = run(call("ListAccessTokens"));
  ASSERT_TRUE(r);
  const auto& items = (*r)["AccessTokens"];
  ASSERT_EQ(items.size(), 3U);
  EXPECT_EQ(items[0]["RegisteredCount"], "99");
  EXPECT_EQ(items[1]["AccessTokenId"], "at-1002");
  EXPECT_EQ(items[2]["AccessTokenId"], "at-new");
}

TEST(SimData, BadDataIsRefusedWithAReason) {
  EXPECT_THROW(sim::Simulator{json::array()}, std::invalid_argument);
  EXPECT_THROW(sim::Simulator(json{{"accounts", {{{"access_key_id", "x"}}}}}), std::invalid_argument);
  EXPECT_THROW(sim::Simulator(json{{"smc", {{{"AccessTokenId", "x"}}}}}), std::invalid_argument);
  EXPECT_THROW(sim::Simulator(json{{"faults", {{{"kind", "meteor"}}}}}), std::invalid_argument);
  EXPECT_THROW(sim::Simulator(json{{"faults", {{{"kind", "error"}, {"code", "X"}}}}}), std::invalid_argument);
}

TEST(SimData, GenerateMakesTheRequestedShapes) {
  auto d = sim::generate({{"smc", 5},
                          {"ecs", {{"regions", {"cn-hangzhou", "cn-beijing"}}, {"per_region", 4}}},
                          {"polardb", {{"orders", {"o1"}}, {"per_order", 3}}},
                          {"now", 1700000000}});
  EXPECT_EQ(d["smc"].size(), 5U);
  EXPECT_EQ(d["ecs"].size(), 8U);
  EXPECT_EQ(d["polardb"].size(), 3U);
  EXPECT_TRUE(d["ecs"][0]["InstanceCount"].is_string());
  EXPECT_TRUE(d["ecs"][1]["InstanceCount"].is_number());
  EXPECT_EQ(d["polardb"][0]["ExpireAt"].get<std::string>().back(), '\n');
  EXPECT_EQ(sim::generate({{"smc", 5}, {"now", 1700000000}}), sim::generate({{"smc", 5}, {"now", 1700000000}}));
}
