// api::Pacer: requests to one key spaced by its rate, keys independent, throttling pauses and
// slows a key, recovery; and the Client asks it before every attempt.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "acmon/core/api.hpp"
#include "acmon/core/pace.hpp"
#include "doubles.hpp"

using namespace acmon;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// A clock that only moves when the pacer sleeps.
struct FakeTime {
  Steady::time_point now{std::chrono::seconds(1000)};
};

class AdvancingSleeper final : public api::Sleeper {
 public:
  explicit AdvancingSleeper(FakeTime& t) : m_t(t) {}
  void sleep(milliseconds d) override { m_t.now += d; }

 private:
  FakeTime& m_t;
};

// The most requests at these times that fall in any half-open window of one second.
std::size_t most_in_a_second(std::vector<Steady::time_point> at) {
  std::sort(at.begin(), at.end());
  std::size_t most = 0;
  for (std::size_t i = 0, j = 0; i < at.size(); ++i) {
    while (at[i] - at[j] >= std::chrono::seconds(1)) {
      ++j;
    }
    most = std::max(most, i - j + 1);
  }
  return most;
}

}  // namespace

TEST(Pacer, NeverMoreThanTheRateInAnySecondOnOneKey) {
  FakeTime t;
  AdvancingSleeper sleeper(t);
  api::Pacer pacer([&] { return t.now; });
  std::vector<Steady::time_point> sent;
  for (int i = 0; i < 40; ++i) {
    pacer.acquire("a|ListAccessTokens|", 5, sleeper);
    sent.push_back(t.now);
  }
  EXPECT_EQ(most_in_a_second(sent), 5U);
  // Spaced 1.05 / 5 s apart: 39 gaps.
  EXPECT_NEAR(std::chrono::duration<double>(sent.back() - sent.front()).count(), 39 * 0.21, 0.04);
}

TEST(Pacer, KeysAreIndependentAndNoRateMeansNoWait) {
  FakeTime t;
  AdvancingSleeper sleeper(t);
  api::Pacer pacer([&] { return t.now; });
  const auto start = t.now;
  pacer.acquire(api::pace_key("a", "DescribeActivations", "cn-hangzhou"), 1, sleeper);
  pacer.acquire(api::pace_key("a", "DescribeActivations", "cn-beijing"), 1, sleeper);
  pacer.acquire(api::pace_key("b", "DescribeActivations", "cn-hangzhou"), 1, sleeper);
  for (int i = 0; i < 100; ++i) {
    pacer.acquire("unlimited", 0, sleeper);
  }
  EXPECT_EQ(t.now, start);
  pacer.acquire(api::pace_key("a", "DescribeActivations", "cn-hangzhou"), 1, sleeper);  // its second
  EXPECT_GE(t.now - start, milliseconds(1000));
}

TEST(Pacer, ThrottlingPausesTheKeyThenHalvesItsSpeedUntilAnswersRestoreIt) {
  FakeTime t;
  AdvancingSleeper sleeper(t);
  api::Pacer pacer([&] { return t.now; });
  const std::string key = "a|DescribeActivations|cn-hangzhou";
  pacer.acquire(key, 10, sleeper);
  pacer.throttled(key);
  auto before = t.now;
  pacer.acquire(key, 10, sleeper);
  EXPECT_GE(t.now - before, milliseconds(1000));  // paused a second
  before = t.now;
  pacer.acquire(key, 10, sleeper);
  EXPECT_NEAR(std::chrono::duration<double>(t.now - before).count(), 0.21, 0.01);  // half speed: 2 × 0.105
  for (int i = 0; i < 20; ++i) {
    pacer.answered(key);
  }
  pacer.acquire(key, 10, sleeper);
  before = t.now;
  pacer.acquire(key, 10, sleeper);
  EXPECT_NEAR(std::chrono::duration<double>(t.now - before).count(), 0.105, 0.01);  // recovered
}

TEST(Pacer, ManyThreadsOnOneKeyTogetherKeepItsRate) {
  api::Pacer pacer;
  api::RealSleeper sleeper;
  const auto start = Steady::now();
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 4; ++j) {
        pacer.acquire("one-key", 40, sleeper);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  // 32 requests at 40 a second: the last slot is 31 gaps of 1.05 / 40 s after the first.
  EXPECT_GE(Steady::now() - start, milliseconds(31 * 1050 / 40));
}

namespace {

class CountingTransport final : public http::Transport {
 public:
  int sent = 0;
  Result<http::Response> send(const http::Request& /*r*/) override {
    ++sent;
    http::Response r;
    r.status = sent == 1 ? 400 : 200;
    r.body = sent == 1 ? R"({"Code":"Throttling.User","Message":"slow down","RequestId":"r1"})"
                       : R"({"RequestId":"r","TotalCount":0,"AccessTokens":[]})";
    return r;
  }
};

}  // namespace

TEST(Pacer, TheClientWaitsForASlotBeforeEveryAttemptAndReportsThrottling) {
  FakeTime t;
  AdvancingSleeper sleeper(t);
  api::Pacer pacer([&] { return t.now; });
  CountingTransport transport;
  ManualClock clock(1700000000);
  api::RetryPolicy policy;
  policy.base = milliseconds(1);
  policy.cap = milliseconds(1);
  api::Client client(transport, clock, sleeper, policy);
  acmon::testing::FixedCredentials creds("id", "secret");
  api::Call call;
  call.product = "smc";
  call.endpoint = "http://127.0.0.1:9";
  call.action = "ListAccessTokens";
  call.version = "2019-06-01";
  call.pacer = &pacer;
  call.pace_key = api::pace_key("a", call.action, "");
  call.rate = 2;
  const auto start = t.now;
  ASSERT_TRUE(client.call(call, creds));  // throttled once, then answered
  EXPECT_EQ(transport.sent, 2);
  // The throttled answer paused the key for a second before the retry went.
  EXPECT_GE(t.now - start, milliseconds(1000));
  const auto before = t.now;
  ASSERT_TRUE(client.call(call, creds));
  // Half speed after the throttling (one answer restored a tenth): about 1.05 / (2 × 0.55) s.
  EXPECT_GE(t.now - before, milliseconds(900));
}
