// The daemon over a simulated day: a controllable clock, the simulator's data changing, alerts
// firing and resolving at the right moments, and a real Alertmanager receiving them.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>

#include "acmon/daemon/service.hpp"
#include "acmon/sim/simulator.hpp"
#include "process.hpp"

using namespace acmon;
using namespace acmon::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t k_hour = 3600;

// The simulated day ends where Alertmanager's own clock is, as it would for a daemon on the same
// machine: firing alerts are sent valid until 4 minutes after acmon's now, resolved ones with the
// moment they resolved. Alertmanager's checks come at 28h01m (firing: valid until 28h05m) and from
// 28h03m20s (resolved then), and its clock reads about 28h04m10s through them (the test takes
// seconds).
const UnixTime k_t0 = SystemClock().now() - 28 * k_hour - 250;

struct Receiver {  // a generic webhook receiver that keeps what it is sent
  httplib::Server server;
  std::thread thread;
  std::mutex mutex;
  std::vector<json> bodies;
  int port = 0;
  Receiver() {
    server.Post("/hook", [this](const httplib::Request& req, httplib::Response&) {
      std::lock_guard lock(mutex);
      bodies.push_back(json::parse(req.body));
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~Receiver() {
    server.stop();
    thread.join();
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (const auto& b : bodies) {
      out.push_back(b["status"].get<std::string>() + " " + b["alert"]["rule"].get<std::string>() + " " +
                    b["alert"]["severity"].get<std::string>() + " " +
                    (b["alert"]["id"].is_null() ? b["alert"]["collector"].get<std::string>()
                                                : b["alert"]["id"].get<std::string>()));
    }
    return out;
  }
};

class DaemonDay : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = acmon::testing::scratch_dir("acmon-day", "day-secret\n");
    json data = {{"accounts", {{{"access_key_id", "LTAIday"}, {"access_key_secret", "day-secret"}}}}};
    // ECS code A: 30 hours to live; its collector warns 12h and 2h before expiry.
    data["ecs"] = {{{"_account", "LTAIday"},
                    {"_region", "cn-hangzhou"},
                    {"ActivationId", "act-A"},
                    {"InstanceName", "hosts"},
                    {"InstanceCount", "100"},
                    {"RegisteredCount", "3"},
                    {"CreationTime", format_rfc3339(k_t0)},
                    {"TimeToLiveInHours", "30"},
                    {"Disabled", "false"}},
                   // ECS code D: 9 of 10 used.
                   {{"_account", "LTAIday"},
                    {"_region", "cn-hangzhou"},
                    {"ActivationId", "act-D"},
                    {"InstanceCount", 10},
                    {"RegisteredCount", 9},
                    {"CreationTime", format_rfc3339(k_t0)},
                    {"TimeToLiveInHours", 24 * 30},
                    {"Disabled", false}}};
    // SMC code B: 30 of 50 used, 60 days to live.
    data["smc"] = {{{"_account", "LTAIday"},
                    {"AccessTokenId", "at-B"},
                    {"Name", "migration"},
                    {"Count", "50"},
                    {"RegisteredCount", "30"},
                    {"CreationTime", format_rfc3339(k_t0)},
                    {"TimeToLiveInDays", "60"},
                    {"Status", "activated"}}};
    sim = std::make_unique<sim::Simulator>(data, sim::Options{false, 8});
    sim->start();

    am_port = free_port();
    std::ofstream(dir / "am.yml") << "route:\n  receiver: 'null'\n  group_wait: 0s\nreceivers:\n  - name: 'null'\n";
    alertmanager = std::make_unique<Process>(
        std::vector<std::string>{"prometheus-alertmanager", "--config.file=" + (dir / "am.yml").string(),
                                 "--storage.path=" + (dir / "am").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(am_port),
                                 "--cluster.listen-address="},
        (dir / "am.log").string());
    wait_for_http("http://127.0.0.1:" + std::to_string(am_port) + "/-/ready");

    const std::string endpoint = sim->base_url();
    std::string toml = "[daemon]\ndatabase = \"" + (dir / "acmon.db").string() + "\"\nlisten = \"127.0.0.1:0\"\n";
    toml += "[[accounts]]\nname = \"day\"\naccess_key_id = \"LTAIday\"\naccess_key_secret_file = \"" +
            (dir / "secret").string() + "\"\n";
    toml += "[[collectors]]\naccount = \"day\"\nproduct = \"ecs\"\nregions = [\"cn-hangzhou\"]\nendpoint = \"" +
            endpoint + "\"\ninterval = \"5m\"\nexpiry_warning = \"12h\"\nexpiry_critical = \"2h\"\n";
    toml +=
        "[[collectors]]\naccount = \"day\"\nproduct = \"smc\"\nendpoint = \"" + endpoint + "\"\ninterval = \"5m\"\n";
    toml += "[alerts]\nusage_warning = 0.8\nusage_critical = 0.95\n";
    toml += "[[notify]]\ntype = \"alertmanager\"\nurl = \"http://127.0.0.1:" + std::to_string(am_port) + "\"\n";
    toml += "[[notify]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:" + std::to_string(hook.port) + "/hook\"\n";
    cfg = config::parse(toml, "day.toml");
  }

  void TearDown() override {
    service.reset();
    alertmanager.reset();
    sim.reset();
    fs::remove_all(dir);
  }

  static void wait_for_http(const std::string& url) {
    http::CurlTransport t;
    for (int i = 0; i < 200; ++i) {
      http::Request r;
      r.url = url;
      r.timeout = std::chrono::milliseconds(500);
      auto res = t.send(r);
      if (res && res->status == 200) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << url << " did not come up";
  }

  void start_service() {
    auto store = db::Store::open((dir / "acmon.db").string());
    ASSERT_TRUE(store) << store.error().message;
    daemon::ServiceOptions o;
    o.schedule = false;  // runs happen when the test says, at the test's time
    service = std::make_unique<daemon::Service>(cfg, std::move(*store), clock, o);
    auto r = service->start();
    ASSERT_TRUE(r) << r.error().message;
  }

  // Firing alerts as "rule severity subject", from the daemon's /metrics.
  std::set<std::string> firing_in_metrics() {
    std::set<std::string> out;
    std::istringstream in(service->metrics_text());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("acmon_alert_active{", 0) != 0) {
        continue;
      }
      auto label = [&](const std::string& name) {
        const auto p = line.find(name + "=\"");
        if (p == std::string::npos) {
          return std::string();
        }
        const auto b = p + name.size() + 2;
        return line.substr(b, line.find('"', b) - b);
      };
      const std::string subject = label("id").empty() ? label("collector") : label("id");
      out.insert(label("rule") + " " + label("severity") + " " + subject);
    }
    return out;
  }

  // Alerts Alertmanager holds as active, in the same form.
  std::set<std::string> firing_in_alertmanager() {
    http::CurlTransport t;
    http::Request r;
    r.url = "http://127.0.0.1:" + std::to_string(am_port) + "/api/v2/alerts?active=true&silenced=false&inhibited=false";
    auto res = t.send(r);
    EXPECT_TRUE(res && res->status == 200);
    std::set<std::string> out;
    for (const auto& a : json::parse(res->body)) {
      if (a["status"]["state"] != "active") {
        continue;
      }
      const auto& l = a["labels"];
      out.insert(l["alertname"].get<std::string>() + " " + l["severity"].get<std::string>() + " " +
                 (l.contains("id") ? l["id"] : l["collector"]).get<std::string>());
    }
    return out;
  }

  void at(std::int64_t offset) { clock.set(k_t0 + offset); }

  // One poll of everything at the current time, then notifications.
  void poll() {
    service->run_all_once();
    EXPECT_TRUE(service->notify_once().empty());
  }
  void tick() {  // a timer evaluation without new data
    ASSERT_TRUE(service->evaluate());
    EXPECT_TRUE(service->notify_once().empty());
  }

  fs::path dir;
  std::unique_ptr<sim::Simulator> sim;
  std::unique_ptr<Process> alertmanager;
  int am_port = 0;
  Receiver hook;
  config::Config cfg;
  ManualClock clock{k_t0};
  std::unique_ptr<daemon::Service> service;
};

}  // namespace

TEST_F(DaemonDay, AlertsFireAndResolveAtTheRightMoments) {
  start_service();
  at(0);
  poll();
  EXPECT_EQ(firing_in_metrics(), (std::set<std::string>{"code_usage_high warning act-D"}));

  // 17h59m (a poll): A has 12h01m left — nothing yet. 18h01m: 11h59m left — warning, from the
  // timer alone (no new data; the collectors are still fresh, so no collector alert either).
  at(17 * k_hour + 59 * 60);
  poll();
  EXPECT_EQ(firing_in_metrics().count("code_expiring warning act-A"), 0U);
  at(18 * k_hour + 60);
  tick();
  EXPECT_EQ(firing_in_metrics().count("code_expiring warning act-A"), 1U);

  // B is used up to 40/50 (80%): warning; then 48/50 (96%): critical, and the warning resolves.
  sim->patch("smc", "at-B", {{"RegisteredCount", "40"}});
  poll();
  EXPECT_EQ(firing_in_metrics().count("code_usage_high warning at-B"), 1U);
  sim->patch("smc", "at-B", {{"RegisteredCount", "48"}});
  poll();
  EXPECT_EQ(firing_in_metrics().count("code_usage_high warning at-B"), 0U);
  EXPECT_EQ(firing_in_metrics().count("code_usage_high critical at-B"), 1U);

  // 28h01m: A has 1h59m left: critical replaces warning.
  at(27 * k_hour + 59 * 60);
  poll();
  at(28 * k_hour + 60);
  tick();
  auto firing = firing_in_metrics();
  EXPECT_EQ(firing.count("code_expiring critical act-A"), 1U);
  EXPECT_EQ(firing.count("code_expiring warning act-A"), 0U);

  // Alertmanager and acmon agree.
  EXPECT_EQ(firing_in_alertmanager(), firing_in_metrics());

  // Resolutions: A is replaced (deleted upstream), B used less, D disabled.
  sim->remove("ecs", "act-A");
  sim->patch("smc", "at-B", {{"RegisteredCount", "10"}});
  sim->patch("ecs", "act-D", {{"Disabled", true}});
  at(28 * k_hour + 200);
  poll();
  EXPECT_TRUE(firing_in_metrics().empty()) << *firing_in_metrics().begin();
  EXPECT_TRUE(firing_in_alertmanager().empty());

  // A collector that keeps failing: three failed runs fire collector_failing; recovery resolves it.
  EXPECT_EQ(firing_in_metrics().count("collector_failing warning day-smc"), 0U);
  sim->set_faults(json::array({{{"kind", "error500"}, {"action", "ListAccessTokens"}, {"times", 0}}}));
  for (int i = 1; i <= 3; ++i) {
    at(28 * k_hour + 300 + i * 300);
    poll();
  }
  EXPECT_EQ(firing_in_metrics().count("collector_failing warning day-smc"), 1U);
  // The failed runs kept B's last good values (and no code alert fired or resolved from them).
  EXPECT_NE(service->metrics_text().find("acmon_code_registered{product=\"smc\",account=\"day\",id=\"at-B\"} 10"),
            std::string::npos);
  EXPECT_NE(service->metrics_text().find("acmon_collector_up{collector=\"day-smc\",product=\"smc\",account=\"day\"} 0"),
            std::string::npos);
  EXPECT_EQ(firing_in_alertmanager(), firing_in_metrics());
  sim->set_faults(json::array());
  at(28 * k_hour + 1800);
  poll();
  EXPECT_TRUE(firing_in_metrics().empty());

  // The webhook heard every change once, in order (within one evaluation, by the alerts' age:
  // a severity change reads as the old alert resolving and the new one firing).
  EXPECT_EQ(hook.events(), (std::vector<std::string>{
                               "firing code_usage_high warning act-D",
                               "firing code_expiring warning act-A",
                               "firing code_usage_high warning at-B",
                               // B's uses grew fast enough to run out before it expires
                               "firing code_exhaustion_forecast warning at-B",
                               "resolved code_usage_high warning at-B",
                               "firing code_usage_high critical at-B",
                               "resolved code_expiring warning act-A",
                               "firing code_expiring critical act-A",
                               "resolved code_usage_high warning act-D",
                               // B's uses were reset: no longer growing
                               "resolved code_exhaustion_forecast warning at-B",
                               "resolved code_usage_high critical at-B",
                               "resolved code_expiring critical act-A",
                               "firing collector_failing warning day-smc",
                               "resolved collector_failing warning day-smc",
                           }));
}

TEST_F(DaemonDay, ARestartNeitherLosesNorRefiresAlertsAndServesMetricsBeforeAPoll) {
  start_service();
  at(19 * k_hour);
  poll();
  auto store = db::Store::open((dir / "acmon.db").string());
  auto before = (*store)->alerts(false);
  ASSERT_TRUE(before);
  ASSERT_EQ(before->size(), 2U);  // act-A expiring, act-D usage
  const auto metrics_before = firing_in_metrics();
  const auto webhooks_before = hook.events().size();
  service.reset();  // as after a crash: nothing is flushed that the database does not have

  sim->set_faults(json::array({{{"kind", "error500"}, {"times", 0}}}));  // no new data after the restart
  start_service();
  EXPECT_EQ(firing_in_metrics(), metrics_before);  // served from the database, before any poll
  EXPECT_NE(service->metrics_text().find("acmon_code_info{product=\"ecs\",account=\"day\",id=\"act-A\""),
            std::string::npos);
  at(19 * k_hour + 60);
  tick();
  auto after = (*store)->alerts(false);
  ASSERT_EQ(after->size(), 2U);
  for (std::size_t i = 0; i < after->size(); ++i) {
    EXPECT_EQ((*after)[i].id, (*before)[i].id);
    EXPECT_EQ((*after)[i].starts_at, (*before)[i].starts_at);
  }
  EXPECT_EQ(hook.events().size(), webhooks_before);  // nothing re-fired
  EXPECT_FALSE(service->ready());                    // no scope has run since the restart
}

TEST_F(DaemonDay, ReloadAddsAndRemovesCollectors) {
  start_service();
  at(0);
  poll();
  EXPECT_NE(service->metrics_text().find("collector=\"day-smc\""), std::string::npos);
  auto next = cfg;
  next.collectors.erase(next.collectors.begin() + 1);  // drop day-smc
  config::Collector pdb;
  pdb.name = "day-pdb";
  pdb.account = "day";
  pdb.product = config::Product::polardb;
  pdb.order_ids = {"o-1"};
  pdb.endpoint = sim->base_url();
  next.collectors.push_back(pdb);
  service->reload(next);
  poll();
  const auto text = service->metrics_text();
  EXPECT_EQ(text.find("collector=\"day-smc\""), std::string::npos);
  EXPECT_EQ(text.find("id=\"at-B\""), std::string::npos);
  EXPECT_NE(
      text.find("acmon_collector_up{collector=\"day-pdb\",product=\"polardb\",account=\"day\",order_id=\"o-1\"} 0"),
      std::string::npos);
}
