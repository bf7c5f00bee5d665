// Delivery to notification receivers against a real store and a recording transport: what is sent
// and when, what is kept of each receiver, and that a receiver's URL (which may carry its secret)
// is neither stored nor shown.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "acmon/core/crypto.hpp"
#include "acmon/daemon/notify.hpp"

using namespace acmon;
namespace fs = std::filesystem;

namespace {

class Recording final : public http::Transport {
 public:
  Result<http::Response> send(const http::Request& request) override {
    std::this_thread::sleep_for(delay);
    requests.push_back(request);
    http::Response r;
    r.status = status;
    return r;
  }
  std::vector<http::Request> requests;
  int status = 200;
  std::chrono::milliseconds delay{0};  // how long the receiver takes to answer
};

config::Notify receiver(config::Notify::Type type, std::string url) {
  config::Notify n;
  n.type = type;
  n.url = std::move(url);
  return n;
}

const config::Notify k_am = receiver(config::Notify::Type::alertmanager, "http://127.0.0.1:9093");
// The secrets of the usual receivers: a DingTalk token in the query, a Slack token in the path,
// basic auth in the userinfo.
const config::Notify k_dingtalk =
    receiver(config::Notify::Type::webhook, "https://oapi.dingtalk.com/robot/send?access_token=ding-s3cret");
const config::Notify k_slack =
    receiver(config::Notify::Type::webhook, "https://hooks.slack.com/services/T000/B000/slack-s3cret");
const config::Notify k_basic =
    receiver(config::Notify::Type::alertmanager, "https://acmon:basic-s3cret@am.example.com:9093/prefix");

bool shows_a_secret(const std::string& text) {
  return text.find("s3cret") != std::string::npos || text.find("robot") != std::string::npos ||
         text.find("T000") != std::string::npos || text.find("acmon:") != std::string::npos ||
         text.find("prefix") != std::string::npos;
}

class DeliverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("acmon-notify-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto s = db::Store::open((dir / "acmon.db").string());
    ASSERT_TRUE(s) << s.error().message;
    store = std::move(*s);
    model::AlertRecord a;
    a.rule = "code_expiring";
    a.severity = "warning";
    a.product = "smc";
    a.account = "prod";
    a.code_id = "at-1";
    a.collector = "prod-smc";
    a.name = "builds";
    a.summary = "expires in 2d";
    ASSERT_TRUE(store->reconcile_alerts({a}, 1000));
  }
  void TearDown() override {
    store.reset();
    fs::remove_all(dir);
  }

  Result<int> deliver(const config::Notify& n, UnixTime now) {
    return daemon::deliver(n, transport, *store, store_mutex, now, "");
  }

  // How many alerts one delivery sent; -1 (and a failure) when it failed.
  int sent(const config::Notify& n, UnixTime now) {
    auto r = deliver(n, now);
    if (!r) {
      ADD_FAILURE() << r.error().describe();
      return -1;
    }
    return *r;
  }

  // Every value of one column of the notifications table.
  std::vector<std::string> column(const char* sql) {
    std::vector<std::string> out;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(store->handle(), sql, -1, &st, nullptr), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    }
    sqlite3_finalize(st);
    return out;
  }

  fs::path dir;
  std::unique_ptr<db::Store> store;
  std::mutex store_mutex;
  Recording transport;
};

}  // namespace

// Alertmanager resolves an alert whose endsAt has passed: a firing alert carries an endsAt of its
// own, a few resends ahead, rather than leaving it to Alertmanager's resolve_timeout.
TEST_F(DeliverTest, AFiringAlertCarriesAnEndsAtFourResendsAhead) {
  auto r = deliver(k_am, 1000);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(*r, 1);
  ASSERT_EQ(transport.requests.size(), 1U);
  auto body = nlohmann::json::parse(transport.requests[0].body);
  ASSERT_EQ(body.size(), 1U);
  EXPECT_EQ(body[0]["startsAt"], format_rfc3339(1000));
  EXPECT_EQ(body[0]["endsAt"], format_rfc3339(1000 + 4 * 60));
}

// Resends are judged on stored wall-clock times: after the clock steps back, a firing alert last
// sent "in the future" is due at once, not after the clock has caught up (by when Alertmanager
// would have resolved it).
TEST_F(DeliverTest, AFiringAlertLastSentInTheFutureIsSentAgain) {
  ASSERT_EQ(sent(k_am, 1000), 1);
  EXPECT_EQ(sent(k_am, 1030), 0);  // not due yet
  EXPECT_EQ(sent(k_am, 1060), 1);  // due
  EXPECT_EQ(sent(k_am, 500), 1);   // the clock stepped back ten minutes
  EXPECT_EQ(sent(k_am, 530), 0);   // and from then on, every 60 s again
  EXPECT_EQ(sent(k_am, 560), 1);
  ASSERT_EQ(transport.requests.size(), 4U);
  EXPECT_EQ(nlohmann::json::parse(transport.requests[2].body)[0]["endsAt"], format_rfc3339(500 + 4 * 60));
  // A webhook is told of a firing once, whatever the clock does.
  ASSERT_EQ(sent(k_slack, 1000), 1);
  EXPECT_EQ(sent(k_slack, 500), 0);
}

// What is shown of a receiver (logs, `acmon sync`, errors) is its type, scheme, host and port, and
// a short tag: never its userinfo, path or query, where receivers keep their secrets.
TEST_F(DeliverTest, AReceiverIsShownWithoutItsSecrets) {
  for (const auto& n : {k_dingtalk, k_slack, k_basic}) {
    const std::string shown = daemon::target_name(n);
    EXPECT_FALSE(shows_a_secret(shown)) << shown;
  }
  EXPECT_EQ(daemon::target_name(k_dingtalk).rfind("webhook https://oapi.dingtalk.com (receiver ", 0), 0U)
      << daemon::target_name(k_dingtalk);
  EXPECT_EQ(daemon::target_name(k_basic).rfind("alertmanager https://am.example.com:9093 (receiver ", 0), 0U)
      << daemon::target_name(k_basic);
  // Two webhooks on one host are told apart.
  const auto other = receiver(config::Notify::Type::webhook, "https://hooks.slack.com/services/T000/B001/other");
  EXPECT_NE(daemon::target_name(k_slack), daemon::target_name(other));
  // A failed delivery's error shows no more.
  transport.status = 500;
  for (const auto& n : {k_dingtalk, k_slack, k_basic}) {
    auto r = deliver(n, 1000);
    ASSERT_FALSE(r);
    EXPECT_FALSE(shows_a_secret(r.error().describe())) << r.error().describe();
    EXPECT_NE(r.error().describe().find("answered HTTP 500"), std::string::npos) << r.error().describe();
  }
}

// The notifications table keys each receiver by a SHA-256 of its type and URL, never the URL.
TEST_F(DeliverTest, AReceiverIsStoredByAHashOfItsURL) {
  for (const auto& n : {k_dingtalk, k_slack, k_basic}) {
    ASSERT_EQ(sent(n, 1000), 1);
  }
  const auto targets = column("SELECT target FROM notifications ORDER BY target");
  ASSERT_EQ(targets.size(), 3U);
  std::vector<std::string> want;
  for (const auto& n : {k_dingtalk, k_slack, k_basic}) {
    const std::string type = n.type == config::Notify::Type::alertmanager ? "alertmanager:" : "webhook:";
    want.push_back(crypto::sha256_hex(type + n.url));
    // What is shown carries the start of the key, so that a log line leads to the row.
    EXPECT_NE(daemon::target_name(n).find("(receiver " + want.back().substr(0, 8) + ")"), std::string::npos)
        << daemon::target_name(n);
  }
  std::sort(want.begin(), want.end());
  EXPECT_EQ(targets, want);
  // Each is told only once of the firing: the key finds what was stored.
  for (const auto& n : {k_dingtalk, k_slack}) {
    EXPECT_EQ(sent(n, 1100), 0);
  }
}

// A webhook slow to answer, owed many changes, is told them over several turns: a delivery starts
// no new request once its turn is over, marks what it sent, and the next delivery goes on from
// there; each change is sent once, and every one in the end.
TEST_F(DeliverTest, ASlowWebhookIsToldItsChangesOverSeveralTurns) {
  std::vector<model::AlertRecord> firing;
  for (int i = 0; i < 10; ++i) {
    model::AlertRecord a;
    a.rule = "code_expiring";
    a.severity = "warning";
    a.product = "smc";
    a.account = "prod";
    a.code_id = "at-" + std::to_string(i);
    a.collector = "prod-smc";
    a.name = "builds";
    a.summary = "expires in 2d";
    firing.push_back(a);
  }
  ASSERT_TRUE(store->reconcile_alerts(firing, 1000));
  transport.delay = std::chrono::milliseconds(40);
  const auto turn = std::chrono::milliseconds(100);
  std::vector<int> turns;
  for (int round = 0; round < 20; ++round) {
    auto r = daemon::deliver(k_slack, transport, *store, store_mutex, 1000, "", turn);
    ASSERT_TRUE(r) << r.error().describe();
    if (*r == 0) {
      break;
    }
    turns.push_back(*r);
  }
  ASSERT_GE(turns.size(), 2U) << "all ten changes went in one turn";
  for (const int n : turns) {
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 4);  // 100 ms at 40 ms a request: the third (or a fourth, late) starts before the turn is over
  }
  std::set<std::string> told;
  for (const auto& req : transport.requests) {
    const auto body = nlohmann::json::parse(req.body);
    EXPECT_TRUE(told.insert(body["alert"]["id"].get<std::string>()).second) << "told twice: " << body["alert"]["id"];
  }
  EXPECT_EQ(told.size(), 10U);
  EXPECT_EQ(transport.requests.size(), 10U);
}

TEST(RoundOrder, AlertmanagerIsServedFirstAndAfterEveryWebhook) {
  // k_basic is an Alertmanager behind basic authentication; k_slack and k_dingtalk are webhooks.
  const std::vector<config::Notify> receivers{k_slack, k_am, k_dingtalk, k_basic};
  const auto order = daemon::round_order(receivers);
  std::vector<std::string> urls;
  urls.reserve(order.size());
  for (const config::Notify* n : order) {
    urls.push_back(n->url);
  }
  const std::vector<std::string> want{k_am.url,    k_basic.url,    k_slack.url, k_am.url,
                                      k_basic.url, k_dingtalk.url, k_am.url,    k_basic.url};
  EXPECT_EQ(urls, want);
  // Webhooks alone keep their order; Alertmanager alone is served once.
  EXPECT_EQ(daemon::round_order({k_slack, k_dingtalk}).size(), 2U);
  EXPECT_EQ(daemon::round_order({k_am}).size(), 1U);
}

TEST_F(DeliverTest, AlertmanagerServedAgainWithNothingDueSendsNothing) {
  // round_order serves Alertmanager after every webhook: between its resends that costs a look at
  // the store, not a request. (SetUp's alert fired at 1000.)
  auto first = daemon::deliver(k_am, transport, *store, store_mutex, 1000, "");
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_EQ(*first, 1);
  for (const UnixTime now : {UnixTime{1001}, UnixTime{1030}, UnixTime{1000 + daemon::k_alertmanager_resend - 2}}) {
    auto again = daemon::deliver(k_am, transport, *store, store_mutex, now, "");
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_EQ(*again, 0) << now;
  }
  EXPECT_EQ(transport.requests.size(), 1U);
  auto resend = daemon::deliver(k_am, transport, *store, store_mutex, 1000 + daemon::k_alertmanager_resend, "");
  ASSERT_TRUE(resend) << resend.error().describe();
  EXPECT_EQ(*resend, 1);
  EXPECT_EQ(transport.requests.size(), 2U);
}
