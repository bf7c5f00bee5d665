// Delivery to notification receivers against a real store and a recording transport: what is sent
// and when.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "acmon/daemon/notify.hpp"

using namespace acmon;
namespace fs = std::filesystem;

namespace {

class Recording final : public http::Transport {
 public:
  Result<http::Response> send(const http::Request& request) override {
    requests.push_back(request);
    http::Response r;
    r.status = status;
    return r;
  }
  std::vector<http::Request> requests;
  int status = 200;
};

config::Notify receiver(config::Notify::Type type, std::string url) {
  config::Notify n;
  n.type = type;
  n.url = std::move(url);
  return n;
}

const config::Notify k_am = receiver(config::Notify::Type::alertmanager, "http://127.0.0.1:9093");
const config::Notify k_slack =
    receiver(config::Notify::Type::webhook, "https://hooks.slack.com/services/T000/B000/slack-s3cret");

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
