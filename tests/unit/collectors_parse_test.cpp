// The item parsers and region discovery against answers that try to crash or fool them: deep and huge
// values, numbers outside their documented ranges, expiries past year 9999, region ids that are URLs.
#include <gtest/gtest.h>

#include <deque>

#include "acmon/collectors/collector.hpp"
#include "acmon/collectors/directory.hpp"
#include "acmon/collectors/id_table.hpp"
#include "doubles.hpp"

using namespace acmon;
using namespace acmon::collectors;
using namespace acmon::model;
using nlohmann::json;

namespace {

json smc_item() {
  return json{{"AccessTokenId", "at-1"},
              {"Name", "n"},
              {"Count", "100"},
              {"RegisteredCount", "5"},
              {"CreationTime", "2022-09-09T02:35:44Z"},
              {"TimeToLiveInDays", "30"},
              {"Status", "activated"}};
}

json ecs_item() {
  return json{{"ActivationId", "act-1"},  {"InstanceName", "n"},    {"InstanceCount", 10},
              {"RegisteredCount", 1},     {"DeregisteredCount", 0}, {"CreationTime", "2022-09-09T02:35:44Z"},
              {"TimeToLiveInHours", "4"}, {"Disabled", "false"}};
}

// The error of r, which must have failed naming field, with a short one-line message.
void expect_field_error(const Result<Code>& r, const std::string& field) {
  ASSERT_FALSE(r.has_value()) << "no error for " << field;
  const std::string d = r.error().describe();
  EXPECT_NE(d.find(field), std::string::npos) << d;
  EXPECT_LT(r.error().message.size(), 400U);
  EXPECT_EQ(d.find('\n'), std::string::npos);
}

}  // namespace

TEST(ParseLimits, ADeeplyNestedValueIsAnErrorNotACrash) {
  // Text, as a page comes: the item parsers must not depend on the caller's limit.
  const std::size_t depth = 200000;
  const std::string deep = std::string(depth, '[') + std::string(depth, ']');
  const Scope scope{"c", config::Product::smc, "a", "", ""};
  for (const std::string field : {"Count", "Name"}) {
    json item = smc_item();
    item.erase(field);
    std::string text = item.dump();
    text.pop_back();
    text.append(",\"").append(field).append("\":").append(deep).append("}");
    auto r = parse_item_text(text, scope, 0);
    ASSERT_FALSE(r.has_value()) << field;
    EXPECT_EQ(r.error().kind, ErrorKind::parse);
    EXPECT_LT(r.error().message.size(), 400U);
    EXPECT_EQ(r.error().describe().find('\n'), std::string::npos);
  }
  // A nesting the reader takes is a field error like any other wrong type.
  json item = smc_item();
  item["Count"] = json::parse(std::string(50, '[') + std::string(50, ']'));
  expect_field_error(parse_item_text(item.dump(), scope, 0), "Count");
}

TEST(ParseLimits, AHugeValueMakesAShortMessage) {
  json item = ecs_item();
  item["Disabled"] = json::array();
  for (int i = 0; i < 1000000; ++i) {
    item["Disabled"].push_back(i);
  }
  expect_field_error(parse_ecs(item, "a", "cn-hangzhou"), "Disabled");
  item = ecs_item();
  item["CreationTime"] = std::string(1 << 20, '9');
  expect_field_error(parse_ecs(item, "a", "cn-hangzhou"), "CreationTime");
}

TEST(ParseLimits, ValuesOutsideTheirDocumentedRangeAreErrors) {
  const std::pair<const char*, json> cases[] = {
      {"TimeToLiveInDays", "9223372036854775807"},
      {"TimeToLiveInDays", "91"},
      {"TimeToLiveInDays", 0},
      {"Count", json::parse("18446744073709551615")},
      {"Count", "1001"},
      {"Count", "-1"},
      {"RegisteredCount", -5},
      {"RegisteredCount", "9007199254740993"},
      {"Count", 2.5},
  };
  for (const auto& [field, value] : cases) {
    json item = smc_item();
    item[field] = value;
    SCOPED_TRACE(std::string(field) + " = " + value.dump());
    expect_field_error(parse_smc(item, "a"), field);
  }
  for (const auto& [field, value] : std::initializer_list<std::pair<const char*, json>>{
           {"TimeToLiveInHours", 87601},
           {"TimeToLiveInHours", "-4"},
           {"InstanceCount", -1},
           {"DeregisteredCount", json::parse("18446744073709551615")}}) {
    json item = ecs_item();
    item[field] = value;
    SCOPED_TRACE(std::string(field) + " = " + value.dump());
    expect_field_error(parse_ecs(item, "a", "cn-hangzhou"), field);
  }
}

TEST(ParseLimits, IdsAreBoundedSingleLines) {
  for (const std::string& bad : {std::string(100000, 'a'), std::string("at-1\n2026-01-01 [error] forged")}) {
    json item = smc_item();
    item["AccessTokenId"] = bad;
    expect_field_error(parse_smc(item, "a"), "AccessTokenId");
  }
  json item = smc_item();
  item["AccessTokenId"] = std::string(256, 'a');
  EXPECT_TRUE(parse_smc(item, "a").has_value());
}

TEST(ParseLimits, ValuesAtTheEdgesOfTheirRangesAreRead) {
  json item = smc_item();
  item["TimeToLiveInDays"] = "90";
  item["Count"] = 1000;
  item["RegisteredCount"] = "0";
  auto c = parse_smc(item, "a");
  ASSERT_TRUE(c.has_value()) << c.error().describe();
  EXPECT_EQ(c->limit, 1000);
  EXPECT_EQ(c->registered, 0);
  EXPECT_EQ(*c->expires_at - *c->created_at, 90 * 86400);
  json e = ecs_item();
  e["TimeToLiveInHours"] = 87600;
  auto d = parse_ecs(e, "a", "cn-hangzhou");
  ASSERT_TRUE(d.has_value()) << d.error().describe();
  EXPECT_EQ(*d->expires_at - *d->created_at, std::int64_t{87600} * 3600);
}

TEST(ParseLimits, AnExpiryAfterYear9999IsAnError) {
  json item = smc_item();
  item["CreationTime"] = "9999-12-01T00:00:00Z";
  item["TimeToLiveInDays"] = "90";
  expect_field_error(parse_smc(item, "a"), "TimeToLiveInDays");
  json e = ecs_item();
  e["CreationTime"] = "9999-12-31T23:00:00Z";
  e["TimeToLiveInHours"] = "2";
  expect_field_error(parse_ecs(e, "a", "cn-hangzhou"), "TimeToLiveInHours");
}

// Collectors over a transport that replays canned answers.
namespace {

// Answers each request with the next of its pages, from the first again after the last.
class Pages final : public http::Transport {
 public:
  std::vector<std::string> pages;
  std::size_t sent = 0;
  Result<http::Response> send(const http::Request& /*r*/) override {
    http::Response r;
    r.status = 200;
    r.body = pages[sent++ % pages.size()];
    return r;
  }
};

// A Collector of account "a" named "c" for a product, and what it calls through.
struct Rig {
  Pages transport;
  ManualClock clock{1700000000};
  acmon::testing::NoSleep sleeper;
  api::Client client{transport, clock, sleeper};
  acmon::testing::FixedCredentials creds{"id", "secret"};

  Collector collector(config::Product product, std::vector<std::string> regions = {}) {
    config::Collector cfg;
    cfg.name = "c";
    cfg.account = "a";
    cfg.product = product;
    cfg.regions = std::move(regions);
    return Collector(cfg, client, creds);
  }
};

json smc_page(int from, int to, int total) {
  json items = json::array();
  for (int i = from; i < to; ++i) {
    json item = smc_item();
    item["AccessTokenId"] = "at-" + std::to_string(i);
    items.push_back(item);
  }
  return {{"RequestId", "r"}, {"TotalCount", total}, {"AccessTokens", items}};
}

// n ECS activations, act-0 to act-(n-1).
json ecs_items(int n) {
  json items = json::array();
  for (int i = 0; i < n; ++i) {
    json item = ecs_item();
    item["ActivationId"] = "act-" + std::to_string(i);
    items.push_back(item);
  }
  return items;
}

// Appends a code with id "id-i" to codes and adds it to table.
IdTable::Found add_id(IdTable& table, std::vector<model::Code>& codes, int i) {
  model::Code c;
  c.id = "id-" + std::to_string(i);
  codes.push_back(c);
  return table.add(codes, codes.size() - 1);
}

}  // namespace

TEST(ParseLimits, DiscoveredRegionsThatAreNotRegionIdsAreSkipped) {
  Rig rig;
  const json regions = {{"RequestId", "r"},
                        {"Regions",
                         {{"Region",
                           {{{"RegionId", "cn-hangzhou"}},
                            {{"RegionId", "x@127.0.0.1:19950/#"}},
                            {{"RegionId", "cn-beijing.evil.example"}},
                            {{"RegionId", std::string(100, 'a') + "-1"}},
                            {{"RegionId", "us-west-1"}}}}}}};
  rig.transport.pages = {regions.dump()};
  Collector collector = rig.collector(config::Product::ecs, {"*"});
  auto scopes = collector.scopes();
  ASSERT_TRUE(scopes.has_value()) << scopes.error().describe();
  std::vector<std::string> found;
  for (const auto& s : *scopes) {
    found.push_back(s.region);
  }
  EXPECT_EQ(found, (std::vector<std::string>{"cn-hangzhou", "us-west-1"}));
}

TEST(Paging, AnIdOnTwoPagesIsRefusedNamingThePageAndTheId) {
  // 80 items as TotalCount says, but the second page starts with the last id of the first (the
  // list shifted by one between the pages): every pass sees it, so the listing fails.
  Rig rig;
  rig.transport.pages = {smc_page(0, 50, 80).dump(), smc_page(49, 79, 80).dump()};
  Collector collector = rig.collector(config::Product::smc);
  const Scope scope{"c", config::Product::smc, "a", "", ""};
  int pages = 0;
  auto r = collector.list(scope, &pages);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "page 2: code at-49 appeared on two pages: the list changed while it was read; the listing is not trusted");
  EXPECT_EQ(pages, 8) << "read again from the first page, 4 passes in all";
  // The same pages without the repeat: one pass, every id once.
  rig.transport.pages = {smc_page(0, 50, 80).dump(), smc_page(50, 80, 80).dump()};
  rig.transport.sent = 0;
  auto ok = collector.list(scope, &pages);
  ASSERT_TRUE(ok.has_value()) << ok.error().describe();
  EXPECT_EQ(ok->codes.size(), 80U);
  EXPECT_EQ(pages, 2);
}

TEST(Paging, AnIdListedAgainFailsThePassOnItsPage) {
  // A cloud that answers the first page whatever PageNumber says, under a total of 1,000: the
  // second page already shows it. Read to the total, it took 20 pages a pass.
  Rig rig;
  rig.transport.pages = {smc_page(0, 50, 1000).dump()};
  Collector smc = rig.collector(config::Product::smc);
  const Scope scope{"c", config::Product::smc, "a", "", ""};
  int pages = 0;
  auto r = smc.list(scope, &pages);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "page 2: code at-0 appeared on two pages: the list changed while it was read; the listing is not trusted");
  EXPECT_EQ(pages, 8) << "two pages a pass, 4 passes";
  // New tokens for the same items, in another order: read to the last token, it took 30 pages.
  const json items = ecs_items(50);
  json reversed = json::array();
  for (auto it = items.rbegin(); it != items.rend(); ++it) {
    reversed.push_back(*it);
  }
  rig.transport.pages.clear();
  for (int i = 1; i <= 30; ++i) {
    rig.transport.pages.push_back(json{
        {"RequestId", "r"},
        {"NextToken", i < 30 ? "t" + std::to_string(i) : ""},
        {"ActivationList",
         i % 2 ? items : reversed}}.dump());
  }
  rig.transport.sent = 0;
  Collector ecs = rig.collector(config::Product::ecs, {"cn-hangzhou"});
  auto e = ecs.list(Scope{"c", config::Product::ecs, "a", "cn-hangzhou", ""}, &pages);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().message.substr(0, 36), "page 2: code act-49 appeared on two ");
  EXPECT_EQ(pages, 8);
  // An id twice on one page.
  json twice = smc_page(0, 50, 50);
  twice["AccessTokens"][30]["AccessTokenId"] = "at-7";
  rig.transport.pages = {twice.dump()};
  rig.transport.sent = 0;
  auto same_page = smc.list(scope, &pages);
  ASSERT_FALSE(same_page.has_value());
  EXPECT_EQ(same_page.error().message, "page 1: code at-7 appears twice on the page; the listing is not trusted");
  EXPECT_EQ(pages, 1) << "not a list that moved: not read again";
}

TEST(Paging, ATotalBeyondThePagesReadAtMostFailsOnTheFirstPage) {
  Rig rig;
  rig.transport.pages = {smc_page(0, 50, 10000 * 50 + 1).dump()};
  Collector smc = rig.collector(config::Product::smc);
  const Scope scope{"c", config::Product::smc, "a", "", ""};
  int pages = 0;
  auto r = smc.list(scope, &pages);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "page 1: TotalCount 500001 would take more than 10000 pages of 50; the listing is not trusted");
  EXPECT_EQ(pages, 1) << "one request, and no second pass";
  // At the limit the listing is read (here the second page repeats the first and ends it).
  rig.transport.pages = {smc_page(0, 50, 10000 * 50).dump()};
  rig.transport.sent = 0;
  auto at = smc.list(scope, &pages);
  ASSERT_FALSE(at.has_value());
  EXPECT_EQ(at.error().message.substr(0, 34), "page 2: code at-0 appeared on two ");
}

TEST(Paging, AnAccountListingBeyondItsLimitsFailsOnTheFirstPage) {
  // ListAccounts pages of 100: a total beyond 10,000 such pages, or a page of more than 100.
  const json directory = {{"RequestId", "r"}, {"ResourceDirectory", {{"MasterAccountId", "1000000000000001"}}}};
  auto accounts = [](int n, std::int64_t total) {
    json list = json::array();
    for (int i = 0; i < n; ++i) {
      list.push_back({{"AccountId", std::to_string(2000000000000000 + i)},
                      {"DisplayName", "m" + std::to_string(i)},
                      {"Status", "CreateSuccess"},
                      {"FolderId", "fd-1"}});
    }
    return json{{"RequestId", "r"}, {"TotalCount", total}, {"Accounts", {{"Account", list}}}};
  };
  Rig rig;
  config::Organization org;
  org.name = "acme";
  org.account = "a";
  rig.transport.pages = {directory.dump(), accounts(100, 1000001).dump()};
  auto big = list_directory(org, rig.client, rig.creds);
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().message,
            "organization acme: ListAccounts page 1: TotalCount 1000001 would take more than 10000 pages of 100: "
            "the listing is not trusted");
  EXPECT_EQ(rig.transport.sent, 2U);
  rig.transport.pages = {directory.dump(), accounts(101, 101).dump()};
  rig.transport.sent = 0;
  auto wide = list_directory(org, rig.client, rig.creds);
  ASSERT_FALSE(wide.has_value());
  EXPECT_EQ(wide.error().message,
            "organization acme: ListAccounts page 1: 101 accounts, more than the 100 asked for by PageSize: the "
            "listing is not trusted");
  // Within both limits, the members are listed.
  rig.transport.pages = {directory.dump(), accounts(100, 100).dump()};
  rig.transport.sent = 0;
  auto ok = list_directory(org, rig.client, rig.creds);
  ASSERT_TRUE(ok.has_value()) << ok.error().describe();
  EXPECT_EQ(ok->members.size(), 101U) << "100 listed and the management account";
}

TEST(Paging, EmptyPagesWithTokensAreFollowedTenInARow) {
  const json items = ecs_items(3);
  // `empty` empty pages, each with a fresh token, then the codes and no token.
  auto pages = [&](int empty) {
    std::vector<std::string> out;
    for (int i = 1; i <= empty; ++i) {
      out.push_back(
          json{{"RequestId", "r"}, {"NextToken", "t" + std::to_string(i)}, {"ActivationList", json::array()}}.dump());
    }
    out.push_back(json{{"RequestId", "r"}, {"NextToken", ""}, {"ActivationList", items}}.dump());
    return out;
  };
  Rig rig;
  Collector ecs = rig.collector(config::Product::ecs, {"cn-hangzhou"});
  const Scope scope{"c", config::Product::ecs, "a", "cn-hangzhou", ""};
  rig.transport.pages = pages(10);
  auto ok = ecs.list(scope);
  ASSERT_TRUE(ok.has_value()) << ok.error().describe();
  EXPECT_EQ(ok->codes.size(), 3U);
  rig.transport.pages = pages(200);
  rig.transport.sent = 0;
  int read = 0;
  auto e = ecs.list(scope, &read);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().message, "page 11: 11 empty pages in a row, each with a NextToken; the listing is not trusted");
  EXPECT_EQ(read, 11);
}

TEST(IdTableTest, FindsEveryRepeatAcrossGrowth) {
  std::vector<model::Code> codes;
  IdTable table;  // room for none at first: it grows as ids come
  for (int i = 0; i < 20000; ++i) {
    ASSERT_EQ(add_id(table, codes, i), IdTable::Found::added) << i;
  }
  for (const int i : {0, 9999, 19999}) {
    EXPECT_EQ(add_id(table, codes, i), IdTable::Found::repeat) << i;
    EXPECT_EQ(table.earlier(), static_cast<std::size_t>(i));
  }
}

TEST(IdTableTest, IdsMadeToCollideAreRefusedNotComparedWithEachOther) {
  // Every id hashes alike: each new one would be compared with all before it (50 million
  // comparisons for 10,000 ids). The table gives up after a bounded number of probes.
  std::vector<model::Code> codes;
  IdTable table(0, [](std::string_view) -> std::uint64_t { return 42; });
  std::size_t added = 0;
  IdTable::Found last = IdTable::Found::added;
  for (int i = 0; i < 10000 && last == IdTable::Found::added; ++i) {
    last = add_id(table, codes, i);
    added += last == IdTable::Found::added ? 1 : 0;
  }
  EXPECT_EQ(last, IdTable::Found::flood);
  EXPECT_LT(added, 200U) << "refused within a few hundred ids";
  EXPECT_GT(added, 50U) << "a full page of ids sharing a hash is still taken";
  // A table with the honest hash takes all 10,000.
  std::vector<model::Code> honest;
  IdTable fine;
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(add_id(fine, honest, i), IdTable::Found::added) << i;
  }
}

TEST(Paging, APageWithMoreItemsThanAskedForIsRefused) {
  // PageSize=50 was asked for: a page of 51 is not that page, even when the total agrees.
  Rig rig;
  rig.transport.pages = {smc_page(0, 51, 51).dump()};
  Collector smc = rig.collector(config::Product::smc);
  auto r = smc.list(Scope{"c", config::Product::smc, "a", "", ""});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "page 1: 51 items, more than the 50 asked for by PageSize; the listing is not trusted");
  // MaxResults=50 with NextToken: the second page carries 60.
  const json items = ecs_items(110);
  const json first = {
      {"RequestId", "r"}, {"NextToken", "t1"}, {"ActivationList", json(items.begin(), items.begin() + 50)}};
  const json second = {
      {"RequestId", "r"}, {"NextToken", ""}, {"ActivationList", json(items.begin() + 50, items.end())}};
  rig.transport.pages = {first.dump(), second.dump()};
  rig.transport.sent = 0;
  Collector ecs = rig.collector(config::Product::ecs, {"cn-hangzhou"});
  auto e = ecs.list(Scope{"c", config::Product::ecs, "a", "cn-hangzhou", ""});
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().message,
            "page 2: 60 items, more than the 50 asked for by MaxResults; the listing is not trusted");
  // Exactly the page size is a page.
  rig.transport.pages = {smc_page(0, 50, 50).dump()};
  rig.transport.sent = 0;
  auto full = smc.list(Scope{"c", config::Product::smc, "a", "", ""});
  ASSERT_TRUE(full.has_value()) << full.error().describe();
  EXPECT_EQ(full->codes.size(), 50U);
}

TEST(Paging, ANextTokenOverItsLimitIsRefused) {
  const json items = ecs_items(60);
  auto pages = [&](const std::string& token) {
    const json first = {
        {"RequestId", "r"}, {"NextToken", token}, {"ActivationList", json(items.begin(), items.begin() + 50)}};
    const json second = {
        {"RequestId", "r"}, {"NextToken", ""}, {"ActivationList", json(items.begin() + 50, items.end())}};
    return std::vector<std::string>{first.dump(), second.dump()};
  };
  Rig rig;
  Collector ecs = rig.collector(config::Product::ecs, {"cn-hangzhou"});
  const Scope scope{"c", config::Product::ecs, "a", "cn-hangzhou", ""};
  rig.transport.pages = pages(std::string(4097, 'x'));
  auto e = ecs.list(scope);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().message, "page 1: NextToken is 4097 bytes, over the limit of 4096; the listing is not trusted");
  // At the limit, a token like any other.
  rig.transport.pages = pages(std::string(4096, 'x'));
  rig.transport.sent = 0;
  auto ok = ecs.list(scope);
  ASSERT_TRUE(ok.has_value()) << ok.error().describe();
  EXPECT_EQ(ok->codes.size(), 60U);
}
