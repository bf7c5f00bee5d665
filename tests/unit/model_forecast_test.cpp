// exhaustion_forecast: a steady rate is projected exactly, noise is averaged, and no forecast is
// made where none is meaningful.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "acmon/model/forecast.hpp"

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
