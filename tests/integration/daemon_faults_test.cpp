// The daemon when things go wrong around it: reloads while runs are in flight, scopes that
// vanish before their first run, a database that is full, unwritable, deleted or replaced, and
// history that outlives its retention.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "acmon/daemon/service.hpp"
#include "acmon/sim/simulator.hpp"
#include "process.hpp"

using namespace acmon;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t k_day = 86400;
constexpr const char* k_order = "2233000000001";

// "name{labels} value" lines of one metric family, as a set.
std::set<std::string> series(const std::string& text, const std::string& family) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(family + "{", 0) == 0 || line.rfind(family + " ", 0) == 0) {
      out.insert(line);
    }
  }
  return out;
}

std::int64_t count_rows(const fs::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(h);
  std::int64_t n = -1;  // what no count equals: an error never reads as 0
  if (const int rc = sqlite3_step(st); rc == SQLITE_ROW) {
    n = sqlite3_column_int64(st, 0);
  } else {
    ADD_FAILURE() << "count_rows(\"" << sql << "\"): no row (" << sqlite3_errmsg(h) << ")";
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}

class DaemonFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = acmon::testing::scratch_dir("acmon-faults", "faults-secret\n");
    data = sim::generate({{"account", "LTAIfaults"},
                          {"secret", "faults-secret"},
                          {"seed", 11},
                          {"now", clock.now()},
                          {"smc", 120},
                          {"ecs", {{"regions", {"cn-hangzhou", "cn-shanghai"}}, {"per_region", 110}}},
                          {"polardb", {{"orders", {k_order}}, {"per_order", 60}}}});
    sim = std::make_unique<sim::Simulator>(data, sim::Options{false, 16});
    sim->start();
  }

  void TearDown() override {
    service.reset();
    sim.reset();
    fs::remove_all(dir);
  }

  // A configuration of the named parts: smc, ecs (one region), ecs2 (two regions), pdb.
  config::Config make_config(const std::set<std::string>& parts, const std::string& extra_daemon = "",
                             const std::string& interval = "1h") {
    std::string toml = "[daemon]\ndatabase = \"" + db_path().string() + "\"\nlisten = \"127.0.0.1:0\"\n" + extra_daemon;
    toml += "[[accounts]]\nname = \"f\"\naccess_key_id = \"LTAIfaults\"\naccess_key_secret_file = \"" +
            (dir / "secret").string() + "\"\n";
    const std::string common = "endpoint = \"" + sim->base_url() + "\"\ninterval = \"" + interval + "\"\n";
    if (parts.count("smc") != 0) {
      toml += "[[collectors]]\nname = \"f-smc\"\naccount = \"f\"\nproduct = \"smc\"\n" + common;
    }
    if (parts.count("ecs") != 0) {
      toml += "[[collectors]]\nname = \"f-ecs\"\naccount = \"f\"\nproduct = \"ecs\"\nregions = [\"cn-hangzhou\"]\n" +
              common;
    }
    if (parts.count("ecs2") != 0) {
      toml +=
          "[[collectors]]\nname = \"f-ecs\"\naccount = \"f\"\nproduct = \"ecs\"\n"
          "regions = [\"cn-hangzhou\", \"cn-shanghai\"]\n" +
          common;
    }
    if (parts.count("ecs*") != 0) {
      toml += "[[collectors]]\nname = \"f-ecs\"\naccount = \"f\"\nproduct = \"ecs\"\nregions = [\"*\"]\n" + common;
    }
    if (parts.count("pdb") != 0) {
      toml += "[[collectors]]\nname = \"f-pdb\"\naccount = \"f\"\nproduct = \"polardb\"\norder_ids = [\"" +
              std::string(k_order) + "\"]\n" + common;
    }
    return config::parse(toml, "faults.toml");
  }

  fs::path db_path() const { return dir / "acmon.db"; }

  void start_service(const config::Config& cfg, const daemon::ServiceOptions& o = {}, const char* pragma = nullptr) {
    auto store = db::Store::open(db_path().string());
    ASSERT_TRUE(store) << store.error().message;
    if (pragma != nullptr) {
      ASSERT_EQ(sqlite3_exec((*store)->handle(), pragma, nullptr, nullptr, nullptr), SQLITE_OK);
    }
    raw_store = store->get();
    service = std::make_unique<daemon::Service>(cfg, std::move(*store), clock, o);
    auto r = service->start();
    ASSERT_TRUE(r) << r.error().message;
  }

  static daemon::ServiceOptions manual() {
    daemon::ServiceOptions o;
    o.schedule = false;
    return o;
  }

  std::string up(const std::string& collector, const std::string& product, const std::string& where = "") const {
    return "acmon_collector_up{collector=\"" + collector + "\",product=\"" + product + "\",account=\"f\"" + where + "}";
  }

  bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (cond()) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return cond();
  }

  fs::path dir;
  json data;
  std::unique_ptr<sim::Simulator> sim;
  ManualClock clock{(SystemClock().now() / 3600) * 3600};
  db::Store* raw_store = nullptr;
  std::unique_ptr<daemon::Service> service;
};

}  // namespace

// Item: a reload swaps the configuration under runs that are still listing page after page.
// Every run must keep what it uses (collector, credentials, scope) alive to its end; the last
// configuration wins, exactly. Run it under ASan and TSan (scripts/test --sanitize, --tsan).
TEST_F(DaemonFaults, ReloadsDuringSlowRunsEndInExactlyTheLastConfiguration) {
  // Every request waits: each listing (3 pages and more) spans many reloads.
  sim->set_faults(json::array({{{"kind", "delay"}, {"delay_ms", 60}, {"times", 0}}}));
  const auto a = make_config({"smc", "ecs"});
  const auto b = make_config({"smc", "ecs2", "pdb"});
  daemon::ServiceOptions o;
  o.parallel = 4;
  o.evaluate_every = std::chrono::milliseconds(100);
  start_service(a, o);
  // Reload for a while: the first runs start 0.6 to 2.4 s after start, and last about 0.2 to 0.4 s.
  // Meanwhile a scraper reads what /metrics and /readyz read.
  std::atomic<bool> reloading{true};
  std::thread scraper([&] {
    while (reloading.load()) {
      (void)service->metrics_text();
      (void)service->ready();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(3500);
  int reloads = 0;
  while (std::chrono::steady_clock::now() < end) {
    service->reload(reloads % 2 == 0 ? b : a);
    ++reloads;
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
  }
  service->reload(b);
  reloading = false;
  scraper.join();
  ASSERT_TRUE(wait_until([&] { return service->ready(); })) << service->status();

  // Exactly the scopes of b, each up, with exactly its codes.
  const auto text = service->metrics_text();
  EXPECT_EQ(
      series(text, "acmon_collector_up"),
      (std::set<std::string>{
          up("f-ecs", "ecs", ",region=\"cn-hangzhou\"") + " 1", up("f-ecs", "ecs", ",region=\"cn-shanghai\"") + " 1",
          up("f-pdb", "polardb", ",order_id=\"" + std::string(k_order) + "\"") + " 1", up("f-smc", "smc") + " 1"}))
      << reloads << " reloads";
  std::map<std::string, std::size_t> by_product;
  for (const auto& line : series(text, "acmon_code_info")) {
    const auto p = line.find("product=\"") + 9;
    ++by_product[line.substr(p, line.find('"', p) - p)];
  }
  EXPECT_EQ(by_product, (std::map<std::string, std::size_t>{{"ecs", 220}, {"polardb", 60}, {"smc", 120}}));
  EXPECT_EQ(series(text, "acmon_database_ok"), (std::set<std::string>{"acmon_database_ok 1"}));
}

// Item: /readyz follows the scopes that exist now, not a count taken at start.
TEST_F(DaemonFaults, ReadinessFollowsTheScopesThatExistNow) {
  start_service(make_config({"smc", "ecs"}), manual());
  EXPECT_FALSE(service->ready());
  // ecs goes away before its first run: once smc has run (and alerts were evaluated), acmon is ready.
  service->reload(make_config({"smc"}));
  EXPECT_FALSE(service->ready());
  service->run_all_once();
  EXPECT_TRUE(service->ready());
  // A new scope is not ready until it has run.
  service->reload(make_config({"smc", "pdb"}));
  EXPECT_FALSE(service->ready());
  service->run_all_once();
  EXPECT_TRUE(service->ready());
  // Removing a scope that has run keeps acmon ready.
  service->reload(make_config({"pdb"}));
  EXPECT_TRUE(service->ready());
}

// Item: a region discovery that failed once (recorded against the collector's "*" scope) is not
// failing for ever once discovery works again: each discovery after records a success there, so
// neither acmon_collector_up nor collector_failing holds on to the old failure.
TEST_F(DaemonFaults, ARegionDiscoveryThatFailedOnceRecovers) {
  sim->set_faults(json::array({{{"kind", "error500"}, {"action", "DescribeRegions"}, {"times", 0}}}));
  start_service(make_config({"ecs*"}), manual());
  service->run_all_once();
  auto text = service->metrics_text();
  EXPECT_EQ(series(text, "acmon_collector_up"), (std::set<std::string>{up("f-ecs", "ecs", ",region=\"*\"") + " 0"}));
  sim->set_faults(json::array());
  for (int i = 0; i < 4; ++i) {  // past 3 intervals (1h) since the failure
    clock.advance(3600);
    service->run_all_once();
  }
  text = service->metrics_text();
  const auto ups = series(text, "acmon_collector_up");
  EXPECT_EQ(ups.count(up("f-ecs", "ecs", ",region=\"*\"") + " 1"), 1U);
  EXPECT_EQ(ups.count(up("f-ecs", "ecs", ",region=\"cn-hangzhou\"") + " 1"), 1U);  // and the regions it found
  EXPECT_GE(ups.size(), 3U);
  for (const auto& u : ups) {
    EXPECT_EQ(u.substr(u.size() - 2), " 1") << u;
  }
  EXPECT_EQ(text.find("rule=\"collector_failing\""), std::string::npos) << text.substr(text.find("acmon_alert_active"));
}

// Item: a reload that makes the interval shorter (1h to 10s) brings the next run forward; left on
// the old schedule it would come an hour later, and the scope would read as failing long before.
TEST_F(DaemonFaults, AShorterIntervalBringsTheNextRunForward) {
  start_service(make_config({"smc"}));  // scheduled
  const std::string ok =
      "acmon_collector_runs_total{collector=\"f-smc\",product=\"smc\",account=\"f\",result=\"success\"} ";
  ASSERT_TRUE(wait_until([&] { return service->metrics_text().find(ok + "1\n") != std::string::npos; }));
  service->reload(make_config({"smc"}, "", "10s"));
  EXPECT_TRUE(wait_until([&] { return service->metrics_text().find(ok + "2\n") != std::string::npos; },
                         std::chrono::seconds(8)));
}

// Item: a full disk (here SQLite's max_page_count: the same SQLITE_FULL path) fails the run:
// collector_up 0, a failure counted, acmon_database_ok 0, collector_failing after three; it recovers.
TEST_F(DaemonFaults, AFullDiskFailsTheRunVisiblyAndRecovers) {
  // Page count of the fresh database: nothing that needs a new page fits.
  start_service(make_config({"smc"}), manual());
  service.reset();
  const auto pages = count_rows(db_path(), "PRAGMA page_count");
  const std::string limit = "PRAGMA max_page_count=" + std::to_string(pages);
  start_service(make_config({"smc"}), manual(), limit.c_str());
  auto outcomes = service->run_all_once();
  ASSERT_EQ(outcomes.size(), 1U);
  EXPECT_FALSE(outcomes[0].ok);
  EXPECT_NE(outcomes[0].error.find("database or disk is full"), std::string::npos) << outcomes[0].error;
  EXPECT_NE(outcomes[0].error.find(db_path().string()), std::string::npos) << outcomes[0].error;
  auto text = service->metrics_text();
  EXPECT_EQ(series(text, "acmon_collector_up"), (std::set<std::string>{up("f-smc", "smc") + " 0"}));
  EXPECT_EQ(series(text, "acmon_collector_runs_total"),
            (std::set<std::string>{"acmon_collector_runs_total{collector=\"f-smc\",product=\"smc\",account=\"f\","
                                   "result=\"success\"} 0",
                                   "acmon_collector_runs_total{collector=\"f-smc\",product=\"smc\",account=\"f\","
                                   "result=\"failure\"} 1"}));
  EXPECT_EQ(series(text, "acmon_database_ok"), (std::set<std::string>{"acmon_database_ok 0"}));
  EXPECT_EQ(series(text, "acmon_code_info"), std::set<std::string>{});
  EXPECT_TRUE(service->ready());  // every scope ran (and failed) and alerts were evaluated
  for (int i = 1; i <= 2; ++i) {
    clock.advance(300);
    service->run_all_once();
  }
  text = service->metrics_text();
  EXPECT_NE(text.find("acmon_alert_active{rule=\"collector_failing\",severity=\"warning\",collector=\"f-smc\""),
            std::string::npos)
      << text;

  // Room again: the next run stores, and every sign of trouble clears.
  ASSERT_EQ(sqlite3_exec(raw_store->handle(), "PRAGMA max_page_count=1073741823", nullptr, nullptr, nullptr),
            SQLITE_OK);
  clock.advance(300);
  outcomes = service->run_all_once();
  EXPECT_TRUE(outcomes[0].ok) << outcomes[0].error;
  text = service->metrics_text();
  EXPECT_EQ(series(text, "acmon_collector_up"), (std::set<std::string>{up("f-smc", "smc") + " 1"}));
  EXPECT_EQ(series(text, "acmon_database_ok"), (std::set<std::string>{"acmon_database_ok 1"}));
  EXPECT_EQ(series(text, "acmon_code_info").size(), 120U);
  EXPECT_EQ(text.find("rule=\"collector_failing\""), std::string::npos);
}

// Item: a database that takes nothing at all (read-only: SQLITE_READONLY, like a read-only
// mount) still shows every failed scope, counted, and the collector_failing alert, from memory.
TEST_F(DaemonFaults, ADatabaseThatTakesNothingStillShowsTheFailuresFromMemory) {
  start_service(make_config({"smc", "pdb"}), manual(), "PRAGMA query_only=1");
  for (int i = 0; i < 3; ++i) {
    clock.advance(300);
    for (const auto& o : service->run_all_once()) {
      EXPECT_FALSE(o.ok);
      EXPECT_FALSE(o.stored);
      EXPECT_NE(o.error.find(db_path().string()), std::string::npos) << o.error;
    }
  }
  const auto text = service->metrics_text();
  EXPECT_EQ(series(text, "acmon_collector_up"),
            (std::set<std::string>{up("f-smc", "smc") + " 0",
                                   up("f-pdb", "polardb", ",order_id=\"" + std::string(k_order) + "\"") + " 0"}));
  EXPECT_NE(
      text.find("acmon_collector_runs_total{collector=\"f-smc\",product=\"smc\",account=\"f\",result=\"failure\"} 3"),
      std::string::npos)
      << text;
  EXPECT_EQ(series(text, "acmon_database_ok"), (std::set<std::string>{"acmon_database_ok 0"}));
  EXPECT_NE(text.find("acmon_alert_active{rule=\"collector_failing\",severity=\"warning\",collector=\"f-smc\""),
            std::string::npos)
      << text;
  EXPECT_EQ(count_rows(db_path(), "SELECT count(*) FROM runs"), 0);
}

// Item: the database file replaced (or deleted) under the daemon is noticed: nothing is written
// to the old file, the run fails naming the path, acmon_database_ok is 0.
TEST_F(DaemonFaults, ADatabaseReplacedUnderTheDaemonIsNoticed) {
  start_service(make_config({"smc"}), manual());
  ASSERT_TRUE(service->run_all_once()[0].ok);
  fs::rename(db_path(), dir / "moved.db");
  { std::ofstream(db_path()) << ""; }  // an empty file in its place, as a careless restore would leave
  clock.advance(300);
  // The timer notices before any run.
  (void)service->evaluate();
  EXPECT_EQ(series(service->metrics_text(), "acmon_database_ok"), (std::set<std::string>{"acmon_database_ok 0"}));
  const auto o = service->run_all_once();
  EXPECT_FALSE(o[0].ok);
  EXPECT_NE(o[0].error.find(db_path().string() + " was replaced"), std::string::npos) << o[0].error;
  // Nothing more went to the old file (read through the daemon's own connection: its WAL is
  // still named after the old path).
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw_store->handle(), "SELECT count(*) FROM runs", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), 1);
  sqlite3_finalize(st);
  const auto text = service->metrics_text();
  EXPECT_EQ(series(text, "acmon_collector_up"), (std::set<std::string>{up("f-smc", "smc") + " 0"}));
  EXPECT_EQ(series(text, "acmon_database_ok"), (std::set<std::string>{"acmon_database_ok 0"}));
  EXPECT_EQ(fs::file_size(db_path()), 0U);

  fs::remove(db_path());
  clock.advance(300);
  EXPECT_NE(service->run_all_once()[0].error.find(db_path().string() + " was deleted"), std::string::npos);
}

// Item: the daemon prunes on its own timer, in small batches, by the retention it is given
// (measured on its clock).
TEST_F(DaemonFaults, PrunesHistoryAndRunsOnATimer) {
  const auto cfg = make_config({"smc"}, "retention = \"2d\"\n");
  const UnixTime t0 = clock.now();
  // Ten days of polls, a day apart, each changing something.
  start_service(cfg, manual());
  for (int day = 0; day < 10; ++day) {
    clock.set(t0 + day * k_day);
    sim->patch("smc", "at-gen00000001", {{"RegisteredCount", std::to_string(day)}});
    ASSERT_TRUE(service->run_all_once()[0].ok);
  }
  service.reset();
  ASSERT_EQ(count_rows(db_path(), "SELECT count(*) FROM runs"), 10);
  const auto history_before = count_rows(db_path(), "SELECT count(*) FROM history");
  ASSERT_GT(history_before, 10);

  // A day after the last poll, with batches of 3 rows: the timer prunes everything older than 2 days.
  clock.set(t0 + 10 * k_day);
  const UnixTime cutoff = t0 + 8 * k_day;
  daemon::ServiceOptions o;
  o.prune_every = std::chrono::milliseconds(50);
  o.prune_batch = 3;
  o.evaluate_every = std::chrono::hours(1);
  start_service(cfg, o);
  const auto old_runs = "SELECT count(*) FROM runs WHERE finished_at < " + std::to_string(cutoff);
  const auto old_history = "SELECT count(*) FROM history WHERE at < " + std::to_string(cutoff);
  EXPECT_TRUE(
      wait_until([&] { return count_rows(db_path(), old_runs) == 0 && count_rows(db_path(), old_history) == 0; },
                 std::chrono::seconds(10)))
      << count_rows(db_path(), old_runs) << " old runs, " << count_rows(db_path(), old_history) << " old history rows";
  EXPECT_GE(count_rows(db_path(), "SELECT count(*) FROM runs"), 2);  // the 8th and 9th day's polls stay
  EXPECT_GT(count_rows(db_path(), "SELECT count(*) FROM history"), 0);
}
