// Collectors against the simulator over real HTTP: complete, correct listings or errors, never partial.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <unordered_set>

#include "acmon/collectors/collector.hpp"
#include "sim_fixture.hpp"

using namespace acmon;
using namespace acmon::testing;
using namespace acmon::collectors;
using namespace acmon::model;
using nlohmann::json;

namespace {

// The sample records of the API documents, quirks included.
const json k_smc_sample = {{"_account", "AKID"},
                           {"AccessTokenId", "at-bp1akz2zp67r0k6r****"},
                           {"TimeToLiveInDays", "30"},
                           {"Count", "100"},
                           {"RegisteredCount", "5"},
                           {"CreationTime", "2022-09-09T02:35:44Z"},
                           {"Status", "activated"},
                           {"Name", "test_name"},
                           {"Description", "This is an activation code"}};
const json k_ecs_sample = {{"_account", "AKID"},
                           {"_region", "cn-hangzhou"},
                           {"InstanceName", "test-InstanceName"},
                           {"DeregisteredCount", "1"},
                           {"InstanceCount", "1"},
                           {"Description", "This is description."},
                           {"CreationTime", "2021-01-20T06:00:00Z"},
                           {"ActivationId", "4ECEEE12-56F1-4FBC-9AB1-890F1234****"},
                           {"RegisteredCount", "1"},
                           {"TimeToLiveInHours", "4"},
                           {"Disabled", "false"},
                           {"IpAddressRange", "0.0.0.0/0"}};
const json k_polardb_sample = {{"_account", "AKID"},
                               {"_order", "2233****445566"},
                               {"ActivateAt", "2024-10-16 16:46:20\n"},
                               {"Description", "testCode"},
                               {"ExpireAt", "2054-10-16 16:46:20\n"},
                               {"GmtCreated", "2024-10-16 16:46:20\n"},
                               {"GmtModified", "2024-10-16 16:46:20\n"},
                               {"Id", 123},
                               {"MacAddress", "12:34:56:78:98:00"},
                               {"Name", "testName"},
                               {"SystemIdentifier", "\t\n1234567890123456"}};

class CollectorTest : public SimTest {
 protected:
  config::Collector cfg(config::Product p) {
    config::Collector c;
    c.name = std::string("t-") + config::to_string(p);
    c.account = "acct";
    c.product = p;
    c.endpoint = sim->base_url();
    c.timeout = 5;
    if (p == config::Product::ecs) {
      c.regions = {"cn-hangzhou"};
    }
    if (p == config::Product::polardb) {
      c.order_ids = {"2233****445566"};
    }
    return c;
  }

  // Lists every scope; fails the test on an error.
  std::vector<Code> list_all(const config::Collector& c, int* pages = nullptr) {
    Collector col(c, *client, provider);
    auto scopes = col.scopes();
    EXPECT_TRUE(scopes) << scopes.error().describe();
    std::vector<Code> out;
    for (const auto& s : *scopes) {
      auto l = col.list(s);
      EXPECT_TRUE(l) << s.describe() << ": " << l.error().describe();
      if (l) {
        out.insert(out.end(), l->codes.begin(), l->codes.end());
        if (pages != nullptr) {
          *pages += l->pages;
        }
      }
    }
    return out;
  }

  Result<Listing> list_one(const config::Collector& c, const std::unordered_set<std::string>* known = nullptr) {
    Collector col(c, *client, provider);
    auto scopes = col.scopes();
    if (!scopes) {
      return scopes.error();
    }
    return col.list(scopes->front(), nullptr, known);
  }
};

json smc_n(int n) {
  json list = json::array();
  for (int i = 0; i < n; ++i) {
    json t = k_smc_sample;
    t["AccessTokenId"] = "at-" + std::to_string(i);
    t["RegisteredCount"] = std::to_string(i % 100);
    list.push_back(t);
  }
  return list;
}

// Records of each product numbered 0..n-1 in one scope, in listing order.
json records(const std::string& product, int from, int n) {
  json list = json::array();
  for (int i = from; i < from + n; ++i) {
    json r;
    if (product == "smc") {
      r = k_smc_sample;
      r["AccessTokenId"] = "at-" + std::to_string(i);
    } else if (product == "ecs") {
      r = k_ecs_sample;
      r["ActivationId"] = "act-" + std::to_string(i);
    } else {
      r = k_polardb_sample;
      r["Id"] = 1000 + i;
    }
    list.push_back(r);
  }
  return list;
}

std::set<std::string> ids_of(const Listing& l) {
  std::set<std::string> out;
  for (const auto& c : l.codes) {
    out.insert(c.id);
  }
  return out;
}

}  // namespace

TEST_F(CollectorTest, SmcSampleRecordFieldByField) {
  start({{"smc", {k_smc_sample}}});
  auto codes = list_all(cfg(config::Product::smc));
  ASSERT_EQ(codes.size(), 1U);
  const Code& c = codes[0];
  EXPECT_EQ(c.product, config::Product::smc);
  EXPECT_EQ(c.account, "acct");
  EXPECT_EQ(c.id, "at-bp1akz2zp67r0k6r****");
  EXPECT_EQ(c.name, "test_name");
  EXPECT_EQ(c.description, "This is an activation code");
  EXPECT_EQ(c.limit, 100);
  EXPECT_EQ(c.registered, 5);
  EXPECT_FALSE(c.deregistered.has_value());
  EXPECT_EQ(c.created_at, parse_rfc3339("2022-09-09T02:35:44Z"));
  EXPECT_EQ(c.expires_at, parse_rfc3339("2022-10-09T02:35:44Z"));  // + 30 days
  EXPECT_EQ(c.api_status, "activated");
  EXPECT_EQ(derive_state(c, parse_rfc3339("2022-09-10T00:00:00Z").value()), CodeState::active);
  EXPECT_EQ(derive_state(c, parse_rfc3339("2022-10-09T02:35:44Z").value()), CodeState::expired);
}

TEST_F(CollectorTest, EcsSampleRecordWithStringNumbersAndBooleans) {
  start({{"ecs", {k_ecs_sample}}});
  auto codes = list_all(cfg(config::Product::ecs));
  ASSERT_EQ(codes.size(), 1U);
  const Code& c = codes[0];
  EXPECT_EQ(c.region, "cn-hangzhou");
  EXPECT_EQ(c.id, "4ECEEE12-56F1-4FBC-9AB1-890F1234****");
  EXPECT_EQ(c.name, "test-InstanceName");
  EXPECT_EQ(c.limit, 1);
  EXPECT_EQ(c.registered, 1);
  EXPECT_EQ(c.deregistered, 1);
  EXPECT_EQ(c.expires_at, parse_rfc3339("2021-01-20T10:00:00Z"));  // + 4 hours
  EXPECT_EQ(c.api_status, "enabled");
  EXPECT_EQ(derive_state(c, parse_rfc3339("2021-01-20T07:00:00Z").value()), CodeState::exhausted);  // 1 of 1 used
}

TEST_F(CollectorTest, PolarDbSampleWithZonelessTimesAndWhitespace) {
  start({{"polardb", {k_polardb_sample}}});
  auto c = cfg(config::Product::polardb);
  auto codes = list_all(c);
  ASSERT_EQ(codes.size(), 1U);
  EXPECT_EQ(codes[0].id, "123");
  EXPECT_EQ(codes[0].order_id, "2233****445566");
  EXPECT_EQ(codes[0].created_at, parse_rfc3339("2024-10-16T16:46:20Z"));
  EXPECT_EQ(codes[0].expires_at, parse_rfc3339("2054-10-16T16:46:20Z"));
  EXPECT_FALSE(codes[0].limit.has_value());
  EXPECT_FALSE(codes[0].api_status.has_value());
  c.utc_offset = 8 * 3600;
  auto shifted = list_all(c);
  EXPECT_EQ(shifted[0].expires_at, parse_rfc3339("2054-10-16T08:46:20Z"));
}

TEST_F(CollectorTest, SmcListingsOfEveryBoundarySizeAreComplete) {
  for (int n : {0, 1, 50, 51, 250}) {
    start({{"smc", smc_n(n)}});
    int pages = 0;
    auto codes = list_all(cfg(config::Product::smc), &pages);
    ASSERT_EQ(static_cast<int>(codes.size()), n);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(codes[static_cast<std::size_t>(i)].id, "at-" + std::to_string(i));
      EXPECT_EQ(codes[static_cast<std::size_t>(i)].registered, i % 100);
    }
    EXPECT_EQ(pages, std::max(1, (n + 49) / 50)) << "n=" << n;
    EXPECT_EQ(sim->stats()["by_action"]["ListAccessTokens"], std::max(1, (n + 49) / 50));
  }
}

TEST_F(CollectorTest, HundredsOfCodesAcrossRegionsAndOrders) {
  json spec = {{"account", "AKID"},
               {"secret", "sim-secret"},
               {"ecs", {{"regions", {"cn-hangzhou", "cn-beijing", "cn-shanghai"}}, {"per_region", 101}}},
               {"polardb", {{"orders", {"o-1", "o-2"}}, {"per_order", 130}}},
               {"now", 1700000000}};
  json data = sim::generate(spec);
  start(data);
  auto ecs = cfg(config::Product::ecs);
  ecs.regions = {"*"};
  auto codes = list_all(ecs);
  ASSERT_EQ(codes.size(), 303U);
  std::map<std::string, int> per_region;
  for (const auto& c : codes) {
    ++per_region[c.region];
  }
  EXPECT_EQ(per_region["cn-hangzhou"], 101);
  EXPECT_EQ(per_region["cn-beijing"], 101);
  EXPECT_EQ(per_region["cn-shanghai"], 101);
  // Field by field against the generated data (half of them send numbers as strings).
  std::map<std::string, json> by_id;
  for (const auto& r : data["ecs"]) {
    by_id[r["ActivationId"].get<std::string>()] = r;
  }
  for (const auto& c : codes) {
    const json& r = by_id.at(c.id);
    auto num = [](const json& v) { return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<long long>(); };
    EXPECT_EQ(c.limit, num(r["InstanceCount"]));
    EXPECT_EQ(c.registered, num(r["RegisteredCount"]));
    EXPECT_EQ(c.region, r["_region"]);
    const bool disabled = r["Disabled"].is_string() ? r["Disabled"] == "true" : r["Disabled"].get<bool>();
    EXPECT_EQ(c.api_status, disabled ? "disabled" : "enabled");
    EXPECT_EQ(c.expires_at, *c.created_at + num(r["TimeToLiveInHours"]) * 3600);
  }
  auto pdb = cfg(config::Product::polardb);
  pdb.order_ids = {"o-1", "o-2"};
  auto pcodes = list_all(pdb);
  ASSERT_EQ(pcodes.size(), 260U);
}

TEST_F(CollectorTest, DiscoveredRegionWithoutTheApiIsEmptyButANamedOneIsAnError) {
  start({{"ecs", {k_ecs_sample}}});
  auto c = cfg(config::Product::ecs);
  c.regions = {"*"};
  auto codes = list_all(c);  // six regions, three without the API: no error
  EXPECT_EQ(codes.size(), 1U);
  c.regions = {"ap-southeast-1"};
  auto named = list_one(c);
  ASSERT_FALSE(named);
  EXPECT_EQ(named.error().code, "RegionId.ApiNotSupported");
}

// A discovered region that once listed codes and now answers "no such API" on page 1 is doubtful:
// taken as an empty listing, both confirming passes would agree and every code would be deleted.
TEST_F(CollectorTest, ApiNotSupportedInADiscoveredRegionWithLiveCodesIsAnError) {
  json data = {{"ecs", records("ecs", 0, 3)}};
  data["regions"] = {{{"RegionId", "cn-hangzhou"}, {"supported", false}}};
  start(data);
  auto c = cfg(config::Product::ecs);
  c.regions = {"*"};
  const std::unordered_set<std::string> known{"act-0", "act-1", "act-2"};
  auto r = list_one(c, &known);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "RegionId.ApiNotSupported");
  EXPECT_NE(r.error().message.find("region cn-hangzhou answered RegionId.ApiNotSupported on page 1 while 3 live "
                                   "code(s) are stored for it: not taken as an empty listing"),
            std::string::npos)
      << r.error().describe();
  // Nothing stored live there: the region simply has no codes.
  const std::unordered_set<std::string> none;
  auto empty = list_one(c, &none);
  ASSERT_TRUE(empty) << empty.error().describe();
  EXPECT_TRUE(empty->codes.empty());
}

// A gateway's error document under HTTP 200: throttling is retried like any throttling, and another
// Code fails the listing with that Code, not as a page that lacks its fields.
TEST_F(CollectorTest, AnErrorDocumentUnderStatus200IsAnApiError) {
  json data = {{"smc", smc_n(230)}};
  data["faults"] = {{{"kind", "error"}, {"status", 200}, {"code", "Throttling.User"}, {"after", 2}, {"times", 2}}};
  start(data);
  auto r = list_one(cfg(config::Product::smc));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->codes.size(), 230U);
  EXPECT_EQ(sleeper.delays.size(), 2U);
  sim->set_faults(json::array(
      {{{"kind", "error"}, {"status", 200}, {"code", "InternalError.Dispatch"}, {"after", 2}, {"times", 0}}}));
  auto failed = list_one(cfg(config::Product::smc));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind, ErrorKind::api);
  EXPECT_EQ(failed.error().code, "InternalError.Dispatch");
  EXPECT_NE(failed.error().message.find("page 3"), std::string::npos) << failed.error().describe();
}

TEST_F(CollectorTest, AFaultOnPage3Of5FailsTheWholeListing) {
  for (const char* kind : {"throttle", "error500", "malformed", "drop", "truncated"}) {
    json data = {{"smc", smc_n(230)}};
    data["faults"] = {{{"kind", kind}, {"action", "ListAccessTokens"}, {"after", 2}, {"times", 0}}};
    start(data);
    auto r = list_one(cfg(config::Product::smc));
    ASSERT_FALSE(r) << kind;
    EXPECT_NE(r.error().message.find("page 3"), std::string::npos) << kind << ": " << r.error().describe();
  }
}

TEST_F(CollectorTest, ATransientThrottleOnPage3IsRetried) {
  json data = {{"smc", smc_n(230)}};
  data["faults"] = {{{"kind", "throttle"}, {"after", 2}, {"times", 2}}};
  start(data);
  auto r = list_one(cfg(config::Product::smc));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->codes.size(), 230U);
  EXPECT_EQ(sleeper.delays.size(), 2U);
}

TEST_F(CollectorTest, ALyingTotalIsAnIncompleteListingNotAnEndlessOne) {
  json data = {{"smc", smc_n(60)}, {"polardb", {k_polardb_sample}}};
  data["faults"] = {{{"kind", "lie_total"}, {"times", 0}}};
  start(data);
  auto r = list_one(cfg(config::Product::smc));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("listing incomplete: read 60 codes but TotalCount is 1060"), std::string::npos)
      << r.error().describe();
  // Read again in case the list moved, but a bounded number of times.
  EXPECT_LE(sim->stats()["by_action"]["ListAccessTokens"], 3 * k_max_passes);
  auto p = list_one(cfg(config::Product::polardb));
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("TotalRecordCount is 1001"), std::string::npos);
}

const std::map<std::string, std::pair<config::Product, std::string>> k_products{
    {"smc", {config::Product::smc, "ListAccessTokens"}},
    {"ecs", {config::Product::ecs, "DescribeActivations"}},
    {"polardb", {config::Product::polardb, "DescribeActivationCodes"}}};

TEST_F(CollectorTest, ACodeAddedBetweenPagesIsReadAgainExactly) {
  for (const auto& [product, how] : k_products) {
    start({{product, records(product, 0, 120)}});
    // After page 1 is read, a code is added: the total moves (or an id shows twice) and the list is read again.
    json added = records(product, 500, 1)[0];
    sim->set_faults(json::array(
        {{{"kind", "change"}, {"action", how.second}, {"after", 1}, {"times", 1}, {"add", json::array({added})}}}));
    auto r = list_one(cfg(how.first));
    ASSERT_TRUE(r) << product << ": " << r.error().describe();
    EXPECT_EQ(r->codes.size(), 121U) << product;
  }
}

// The defect: with PageNumber paging, a code deleted from an already-read page and another added
// keep the total, shift every later page by one, and one live code goes unread.
TEST_F(CollectorTest, ADeletionPlusAdditionBetweenPagesLosesNoLiveCode) {
  for (const auto& [product, how] : k_products) {
    json data = records(product, 0, 120);
    start({{product, data}});
    auto first = list_one(cfg(how.first));
    ASSERT_TRUE(first) << first.error().describe();
    const auto known_ids = ids_of(*first);
    const std::unordered_set<std::string> known(known_ids.begin(), known_ids.end());
    const std::string deleted = first->codes.at(10).id;
    json added = records(product, 500, 1)[0];
    sim->set_faults(json::array({{{"kind", "change"},
                                  {"action", how.second},
                                  {"after", 1},
                                  {"times", 1},
                                  {"remove", json::array({deleted})},
                                  {"add", json::array({added})}}}));
    auto r = list_one(cfg(how.first), &known);
    ASSERT_TRUE(r) << product << ": " << r.error().describe();
    // The truth after the change: every code but the deleted one, plus the new one.
    std::set<std::string> truth = known_ids;
    truth.erase(deleted);
    truth.insert(product == "smc" ? "at-500" : product == "ecs" ? "act-500" : "1500");
    // No live code is lost. The deleted one, read by the first pass before it went, is lacked by
    // the second only: it stays until two consecutive passes lack it, as the next listing's do.
    std::set<std::string> kept = truth;
    kept.insert(deleted);
    EXPECT_EQ(ids_of(*r), kept) << product;
    EXPECT_EQ(r->codes.size(), kept.size()) << product << ": an id listed twice";
    const auto live_ids = ids_of(*r);
    const std::unordered_set<std::string> live(live_ids.begin(), live_ids.end());
    auto next = list_one(cfg(how.first), &live);
    ASSERT_TRUE(next) << product << ": " << next.error().describe();
    EXPECT_EQ(ids_of(*next), truth) << product;
  }
}

TEST_F(CollectorTest, WithoutKnownCodesTheShiftedListingIsNotConfirmed) {
  // The same change with nothing known: a single pass is taken as it is (nothing could be
  // deleted by it), which shows the confirmation above is what finds the shifted code.
  start({{"smc", records("smc", 0, 120)}});
  sim->set_faults(json::array({{{"kind", "change"},
                                {"action", "ListAccessTokens"},
                                {"after", 1},
                                {"times", 1},
                                {"remove", json::array({"at-10"})},
                                {"add", json::array({records("smc", 500, 1)[0]})}}}));
  auto r = list_one(cfg(config::Product::smc));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(ids_of(*r).count("at-50"), 0U);  // shifted from page 2 onto the already-read page 1
}

// An account whose codes keep changing while it is listed (others add and remove codes faster than
// a pass is read) never gives two identical passes: the listing is still taken after two complete
// passes. A live code goes only when both lack it; one that a shift hid from one pass stays.
TEST_F(CollectorTest, AListThatKeepsChangingIsTakenAfterTwoCompleteListings) {
  start({{"smc", records("smc", 0, 120)}});
  auto first = list_one(cfg(config::Product::smc));
  ASSERT_TRUE(first);
  const auto known_ids = ids_of(*first);
  const std::unordered_set<std::string> known(known_ids.begin(), known_ids.end());
  ASSERT_TRUE(sim->remove("smc", "at-7"));  // deleted for good: no pass lists it
  // Pass 1 reads requests 0-2 (119 codes). Before pass 2, at-600 comes; between its pages 1 and
  // 2, at-3 goes and at-601 comes, so at-51 shifts onto the page already read and pass 2 lacks
  // it. A code comes before every later pass too: no two passes are ever the same. (The faults
  // are listed last first: each then counts every request until it fires.)
  json faults = json::array();
  const std::pair<int, int> later[] = {{9, 603}, {6, 602}};
  for (const auto& [after, n] : later) {
    faults.push_back({{"kind", "change"},
                      {"action", "ListAccessTokens"},
                      {"after", after},
                      {"times", 1},
                      {"add", json::array({records("smc", n, 1)[0]})}});
  }
  faults.push_back({{"kind", "change"},
                    {"action", "ListAccessTokens"},
                    {"after", 4},
                    {"times", 1},
                    {"remove", json::array({"at-3"})},
                    {"add", json::array({records("smc", 601, 1)[0]})}});
  faults.push_back({{"kind", "change"},
                    {"action", "ListAccessTokens"},
                    {"after", 3},
                    {"times", 1},
                    {"add", json::array({records("smc", 600, 1)[0]})}});
  sim->set_faults(faults);
  auto r = list_one(cfg(config::Product::smc), &known);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->pages, 6);  // two passes of three pages
  const auto listed = ids_of(*r);
  EXPECT_EQ(r->codes.size(), listed.size()) << "an id listed twice";
  // at-7, lacked by both passes, is gone; at-51, lacked by the second only, stays, as does at-3,
  // read by the second pass before it went; the new codes are in.
  std::set<std::string> want = known_ids;
  want.erase("at-7");
  want.insert("at-600");
  want.insert("at-601");
  EXPECT_EQ(listed, want);

  // The next listing, the list still again: at-3 is now lacked by both of its passes.
  sim->set_faults(json::array());
  const std::unordered_set<std::string> live(listed.begin(), listed.end());
  auto next = list_one(cfg(config::Product::smc), &live);
  ASSERT_TRUE(next) << next.error().describe();
  want.erase("at-3");
  EXPECT_EQ(ids_of(*next), want);
}

TEST_F(CollectorTest, EcsApiNotSupportedAfterTheFirstPageIsAFailureNotAnEmptyRegion) {
  json data = {{"ecs", records("ecs", 0, 120)}};
  data["regions"] = {{{"RegionId", "cn-hangzhou"}}};
  data["faults"] = {{{"kind", "error"},
                     {"action", "DescribeActivations"},
                     {"after", 1},
                     {"times", 0},
                     {"status", 400},
                     {"code", "RegionId.ApiNotSupported"}}};
  start(data);
  auto c = cfg(config::Product::ecs);
  c.regions = {"*"};
  auto r = list_one(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "RegionId.ApiNotSupported");
  EXPECT_NE(r.error().message.find("page 2"), std::string::npos) << r.error().describe();
}

TEST_F(CollectorTest, EcsEmptyPageWithANextTokenIsNotTheEnd) {
  json data = {{"ecs", records("ecs", 0, 120)}};
  data["faults"] = {{{"kind", "empty_page"}, {"action", "DescribeActivations"}, {"times", 1}}};
  start(data);
  auto r = list_one(cfg(config::Product::ecs));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->codes.size(), 120U);
}

TEST_F(CollectorTest, ErrorsNameTheApiCodeAndMessage) {
  start({{"smc", smc_n(1)}, {"polardb", {k_polardb_sample}}});
  KeyProvider wrong("AKID", "wrong");
  Collector col(cfg(config::Product::smc), *client, wrong);
  auto r = col.list(col.scopes()->front());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  EXPECT_NE(r.error().describe().find("Specified signature is not matched"), std::string::npos);
  auto c = cfg(config::Product::ecs);
  c.regions = {"mars-1"};
  auto region = list_one(c);
  ASSERT_FALSE(region);
  EXPECT_EQ(region.error().code, "InvalidRegionId.NotFound");
  auto p = cfg(config::Product::polardb);
  p.order_ids = {"404404"};
  auto order = list_one(p);
  ASSERT_FALSE(order);
  EXPECT_EQ(order.error().code, "InvalidAliyunOrderId.NotFound");
}

TEST(Parse, BadItemsNameTheField) {
  auto no_id = parse_smc(json{{"Count", "1"}}, "a");
  ASSERT_FALSE(no_id);
  EXPECT_NE(no_id.error().message.find("AccessTokenId"), std::string::npos);
  auto bad_count = parse_smc(json{{"AccessTokenId", "x"}, {"Count", "many"}}, "a");
  ASSERT_FALSE(bad_count);
  EXPECT_NE(bad_count.error().message.find("field Count"), std::string::npos);
  auto bad_time = parse_ecs(json{{"ActivationId", "x"}, {"CreationTime", "yesterday"}}, "a", "r");
  ASSERT_FALSE(bad_time);
  EXPECT_NE(bad_time.error().message.find("CreationTime"), std::string::npos);
  auto bad_bool = parse_ecs(json{{"ActivationId", "x"}, {"Disabled", "maybe"}}, "a", "r");
  ASSERT_FALSE(bad_bool);
  auto bad_zone = parse_polardb(json{{"Id", 1}, {"ExpireAt", "2054-13-16 16:46:20"}}, "a", "o", 0);
  ASSERT_FALSE(bad_zone);
  EXPECT_FALSE(parse_smc(json::array(), "a"));
  auto ok = parse_ecs(json{{"ActivationId", " x "}, {"Disabled", true}, {"InstanceCount", 3}}, "a", "r");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->id, "x");
  EXPECT_EQ(ok->api_status, "disabled");
  EXPECT_EQ(derive_state(*ok, 0), CodeState::disabled);
}
