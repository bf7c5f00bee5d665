// model: exhaustion_forecast (a steady rate is projected exactly, noise is averaged, no forecast
// where none is meaningful) and shards (a partition, balanced, fixed).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "acmon/model/alert.hpp"
#include "acmon/model/forecast.hpp"
#include "acmon/model/scope.hpp"

using acmon::model::exhaustion_forecast;
using acmon::model::UsagePoint;

TEST(Forecast, ASteadyRateReachesTheLimitWhereTheLineDoes) {
  // 5 uses an hour for a day, from 100: at 220 now, 780 to go at 5/h = 156 h.
  std::vector<UsagePoint> p;
  for (int h = 0; h <= 24; ++h) {
    p.push_back({1'700'000'000 + h * 3600, 100 + 5 * h});
  }
  const auto f = exhaustion_forecast(p, 1000);
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, p.back().at + 156 * 3600);
}

TEST(Forecast, NoisyUseAtASteadyMeanRateIsWithinTenPercent) {
  std::mt19937 rng(7);
  std::poisson_distribution<int> uses(10);  // 10 an hour on average
  std::vector<UsagePoint> p;
  std::int64_t r = 0;
  for (int h = 0; h <= 72; ++h) {
    r += uses(rng);
    p.push_back({h * 3600LL, r});
  }
  const std::int64_t limit = r + 500;  // 50 hours to go at the mean rate
  const auto f = exhaustion_forecast(p, limit);
  ASSERT_TRUE(f);
  const double hours = static_cast<double>(*f - p.back().at) / 3600.0;
  EXPECT_NEAR(hours, 50.0, 5.0);
}

TEST(Forecast, UseThatStoppedSlowsTheRate) {
  // 100 uses in the first hour, then nothing for six days: far slower than 100/h.
  const std::vector<UsagePoint> p{{0, 0}, {3600, 100}, {6 * 86400, 100}};
  const auto f = exhaustion_forecast(p, 200);
  ASSERT_TRUE(f);
  EXPECT_GT(*f - p.back().at, 24 * 3600);
}

TEST(Forecast, NothingWithoutGrowthALimitOrTwoTimes) {
  EXPECT_FALSE(exhaustion_forecast(std::vector<UsagePoint>{{0, 10}, {3600, 10}}, 100));     // flat
  EXPECT_FALSE(exhaustion_forecast(std::vector<UsagePoint>{{0, 20}, {3600, 10}}, 100));     // shrinking
  EXPECT_FALSE(exhaustion_forecast(std::vector<UsagePoint>{{0, 10}, {3600, 20}}, 0));       // no limit
  EXPECT_FALSE(exhaustion_forecast(std::vector<UsagePoint>{{0, 10}, {3600, 100}}, 100));    // reached
  EXPECT_FALSE(exhaustion_forecast(std::vector<UsagePoint>{{3600, 10}}, 100));              // one point
  EXPECT_FALSE(exhaustion_forecast(std::vector<UsagePoint>{{3600, 10}, {3600, 20}}, 100));  // one time
  // One use in a year, a million to go: beyond any useful horizon.
  EXPECT_FALSE(exhaustion_forecast(std::vector<UsagePoint>{{0, 0}, {365 * 86400LL, 1}}, 1'000'000));
}

// ---- shards --------------------------------------------------------------------------------

TEST(Shard, EveryScopeBelongsToExactlyOneShardAndTheyAreBalanced) {
  using acmon::model::Scope;
  std::vector<Scope> scopes;
  for (int a = 0; a < 50; ++a) {
    const std::string account = "1" + std::to_string(100000000000000 + a);
    scopes.emplace_back("org-smc", acmon::config::Product::smc, account, "", "");
    for (const char* region : {"cn-hangzhou", "cn-beijing", "cn-shanghai"}) {
      scopes.emplace_back("org-ecs", acmon::config::Product::ecs, account, region, "");
    }
  }
  constexpr int k_total = 4;
  std::vector<int> per_shard(k_total, 0);
  for (const auto& s : scopes) {
    int owners = 0;
    for (int i = 0; i < k_total; ++i) {
      if (acmon::model::in_shard(s, i, k_total)) {
        ++owners;
        ++per_shard[static_cast<std::size_t>(i)];
      }
    }
    EXPECT_EQ(owners, 1) << s.account << " " << s.region;
  }
  for (const int n : per_shard) {
    EXPECT_GT(n, 200 / k_total / 2);  // 200 scopes: each shard has at least half its share
  }
  // The collector's name is not part of the hash: renaming a collector moves no scope.
  Scope a{"one-name", acmon::config::Product::ecs, "1234567890123456", "cn-hangzhou", ""};
  Scope b = a;
  b.collector = "another-name";
  EXPECT_EQ(acmon::model::shard_hash(a), acmon::model::shard_hash(b));
  // A discovery belongs to every shard; one shard holds everything.
  a.region = "*";
  EXPECT_TRUE(acmon::model::in_shard(a, 0, 3) && acmon::model::in_shard(a, 2, 3));
  EXPECT_TRUE(acmon::model::in_shard(b, 0, 1));
}

TEST(Shard, TheHashIsFixedAcrossVersions) {
  // Replicas of different versions must agree on who lists what: FNV-1a 64 of
  // "1234567890123456" 0x1f "ecs" 0x1f "cn-hangzhou" 0x1f, computed independently.
  acmon::model::Scope s{"x", acmon::config::Product::ecs, "1234567890123456", "cn-hangzhou", ""};
  std::uint64_t h = 14695981039346656037ULL;
  for (const std::string part : {"1234567890123456", "ecs", "cn-hangzhou"}) {
    for (const char c : part + '\x1f') {
      h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
  }
  EXPECT_EQ(acmon::model::shard_hash(s), h);
}

TEST(Watched, OnlyTheScopesTheConfigurationStillListsInItsShard) {
  using acmon::model::Scope;
  using acmon::model::watched;
  acmon::config::Config cfg;
  acmon::config::Collector ecs;
  ecs.name = "e";
  ecs.product = acmon::config::Product::ecs;
  ecs.regions = {"cn-hangzhou"};
  acmon::config::Collector any = ecs;
  any.name = "any";
  any.regions = {"*"};
  acmon::config::Collector pdb;
  pdb.name = "p";
  pdb.product = acmon::config::Product::polardb;
  pdb.order_ids = {"1"};
  cfg.collectors = {ecs, any, pdb};
  EXPECT_TRUE(watched(cfg, {"e", acmon::config::Product::ecs, "a", "cn-hangzhou", ""}));
  EXPECT_FALSE(watched(cfg, {"e", acmon::config::Product::ecs, "a", "cn-beijing", ""}));   // a region removed
  EXPECT_TRUE(watched(cfg, {"any", acmon::config::Product::ecs, "a", "cn-beijing", ""}));  // discovered
  EXPECT_TRUE(watched(cfg, {"p", acmon::config::Product::polardb, "a", "", "1"}));
  EXPECT_FALSE(watched(cfg, {"p", acmon::config::Product::polardb, "a", "", "2"}));  // an order removed
  EXPECT_FALSE(watched(cfg, {"gone", acmon::config::Product::smc, "a", "", ""}));    // a collector removed
  // Of two shards, exactly one watches each scope.
  const Scope s{"e", acmon::config::Product::ecs, "a", "cn-hangzhou", ""};
  cfg.daemon.shard_total = 2;
  int owners = 0;
  for (int i = 0; i < 2; ++i) {
    cfg.daemon.shard_index = i;
    owners += watched(cfg, s) ? 1 : 0;
  }
  EXPECT_EQ(owners, 1);
}

// A counting summary reads the span between its moment and the time it is read, counting down to
// a moment to come or up from one past; a resolved alert reads as it did when it resolved.
TEST(AlertSummary, CountsToOrFromItsMomentWhenRead) {
  const acmon::UnixTime t = 1'800'000'000;
  acmon::model::AlertRecord a;
  a.summary = "expires in {span}";
  a.span_at = t + 2 * 86400 + 3 * 3600 + 59;
  EXPECT_EQ(a.summary_at(t), "expires in 2d 3h");
  EXPECT_EQ(a.summary_at(t + 3 * 3600), "expires in 2d");
  EXPECT_EQ(a.summary_at(t + 2 * 86400 + 3 * 3600), "expires in 59s");
  a.ends_at = t + 86400;
  EXPECT_EQ(a.summary_at(t + 30 * 86400), "expires in 1d 3h");  // as when it resolved
  EXPECT_EQ(a.summary_at(t), "expires in 2d 3h");

  acmon::model::AlertRecord up;
  up.summary = "last success {span} ago, 3 failed run(s): a {span} in the error";
  up.span_at = t - 900;
  EXPECT_EQ(up.summary_at(t), "last success 15m ago, 3 failed run(s): a {span} in the error");  // the first only

  // With the moment it started: counting down to a moment now past reads 0s, not the time since as
  // if it were still to come; counting up from a moment the clock has not reached reads 0s too.
  a.ends_at.reset();
  a.starts_at = t;
  EXPECT_EQ(a.summary_at(t + 3 * 3600), "expires in 2d");
  EXPECT_EQ(a.summary_at(t + 2 * 86400 + 3 * 3600 + 59), "expires in 0s");
  EXPECT_EQ(a.summary_at(t + 2525 * 86400), "expires in 0s");
  up.starts_at = t;
  EXPECT_EQ(up.summary_at(t + 3600), "last success 1h 15m ago, 3 failed run(s): a {span} in the error");
  EXPECT_EQ(up.summary_at(t - 3600), "last success 0s ago, 3 failed run(s): a {span} in the error");
  up.span_at = t;  // a last success in the second the alert started still counts up
  EXPECT_EQ(up.summary_at(t + 120), "last success 2m ago, 3 failed run(s): a {span} in the error");

  acmon::model::AlertRecord plain;
  plain.summary = "43/50 used {span}";  // without a moment it is text as it stands
  EXPECT_EQ(plain.summary_at(t), "43/50 used {span}");
  plain.summary = "43/50 used";
  plain.span_at = t;
  EXPECT_EQ(plain.summary_at(t + 60), "43/50 used");
}
