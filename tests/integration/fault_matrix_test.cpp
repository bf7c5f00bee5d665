// The fault matrix: for each product, each way the cloud fails, and each page of a three-page
// listing, `acmon sync`'s pass (Syncer, the store and alert evaluation, over real HTTP to the
// simulator and a real SQLite file) either writes the exact truth (a transient fault) or fails
// that scope alone, naming the scope and the fault, changing none of its codes, deleting nothing
// and firing or resolving none of its code alerts (a persistent one). The other scopes are written.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "acmon/core/text.hpp"
#include "acmon/daemon/alerts.hpp"
#include "acmon/daemon/sync.hpp"
#include "acmon/db/store.hpp"
#include "sim_fixture.hpp"

using namespace acmon;
using namespace acmon::testing;
using nlohmann::json;

namespace {

constexpr int k_codes = 120;   // three pages of 50
constexpr int k_alerted = 5;   // page 1: expires within the warning window at first
constexpr int k_changed = 60;  // page 2: comes near its limit (or expiry) before the faulted run
constexpr int k_deleted = 10;  // page 1: the code the between-pages faults delete

struct Product {
  const char* name;
  config::Product product;
  const char* action;
};
const Product k_products[] = {{"smc", config::Product::smc, "ListAccessTokens"},
                              {"ecs", config::Product::ecs, "DescribeActivations"},
                              {"polardb", config::Product::polardb, "DescribeActivationCodes"}};

std::string zoneless(UnixTime t) {
  std::string s = format_rfc3339(t);  // 2024-10-16T16:46:20Z
  s[10] = ' ';
  s.pop_back();
  return s + "\n";
}

std::string code_id(const std::string& product, int i) {
  if (product == "smc") {
    return "at-" + std::to_string(i);
  }
  if (product == "ecs") {
    return "act-" + std::to_string(i);
  }
  return std::to_string(1000 + i);
}

// One code in the API's shape; `expiring` puts its expiry three days ahead.
json record(const std::string& product, int i, UnixTime now, bool expiring) {
  if (product == "smc") {
    return {{"_account", "AKID"},
            {"AccessTokenId", code_id(product, i)},
            {"Name", "token-" + std::to_string(i)},
            {"Count", "100"},
            {"RegisteredCount", "1"},
            {"TimeToLiveInDays", expiring ? "30" : "90"},
            {"CreationTime", format_rfc3339(expiring ? now - 27 * 86400 : now - 86400)},
            {"Status", "activated"}};
  }
  if (product == "ecs") {
    return {{"_account", "AKID"},
            {"_region", "cn-hangzhou"},
            {"ActivationId", code_id(product, i)},
            {"InstanceName", "act-" + std::to_string(i)},
            {"InstanceCount", "100"},
            {"RegisteredCount", "1"},
            {"DeregisteredCount", "0"},
            {"TimeToLiveInHours", expiring ? "72" : "8760"},
            {"CreationTime", format_rfc3339(now - 3600)},
            {"Disabled", "false"}};
  }
  return {{"_account", "AKID"},
          {"_order", "2233000445566"},
          {"Id", 1000 + i},
          {"Name", "pdb-" + std::to_string(i)},
          {"GmtCreated", zoneless(now - 86400)},
          {"ExpireAt", zoneless(now + (expiring ? 3 : 300) * 86400)}};
}

// The change every cell makes before its faulted run: the alerted code is deleted (its alert
// resolves on success) and the changed one nears its limit or its expiry (an alert fires on success).
json changed_fields(const std::string& product, UnixTime now) {
  if (product == "polardb") {
    return {{"ExpireAt", zoneless(now + 2 * 86400)}};
  }
  return {{"RegisteredCount", "99"}};
}

struct Fault {
  std::string name;
  json spec;             // without action and after
  bool transient;        // the exact truth is written in this run
  std::string names;     // what a failed scope's error must name
  bool changes = false;  // a between-pages change of the data (added to the truth)
};

std::vector<Fault> faults(const std::string& product, UnixTime now) {
  const json added = record(product, 500, now, false);
  const std::string deleted = code_id(product, k_deleted);
  return {
      {"persistent 503", {{"kind", "error503"}, {"times", 0}}, false, "ServiceUnavailable"},
      {"throttled once", {{"kind", "throttle"}, {"times", 1}}, true, ""},
      {"truncated body", {{"kind", "truncated"}, {"times", 1}}, true, ""},
      {"short body", {{"kind", "short"}, {"times", 1}}, true, ""},
      {"dropped after headers once", {{"kind", "drop"}, {"times", 1}}, true, ""},
      {"dropped before any byte once", {{"kind", "reset"}, {"times", 1}}, true, ""},
      {"dropped persistently", {{"kind", "reset"}, {"times", 0}}, false, "connection dropped"},
      {"HTML 502 once", {{"kind", "html502"}, {"times", 1}}, true, ""},
      {"HTML 502 persistently", {{"kind", "html502"}, {"times", 0}}, false, "HTTP 502"},
      {"empty 200", {{"kind", "empty200"}, {"times", 1}}, true, ""},
      // Other 4xx are never retried: this run fails the scope; the next one is exact.
      {"unknown 4xx",
       {{"kind", "error"}, {"times", 1}, {"status", 400}, {"code", "Acme.NewRule"}},
       false,
       "Acme.NewRule"},
      {"timeout", {{"kind", "delay"}, {"times", 1}, {"delay_ms", 1500}}, true, ""},
      {"addition between pages", {{"kind", "change"}, {"times", 1}, {"add", json::array({added})}}, true, "", true},
      {"deletion between pages",
       {{"kind", "change"}, {"times", 1}, {"remove", json::array({deleted})}},
       true,
       "",
       true},
      {"deletion plus addition between pages",
       {{"kind", "change"}, {"times", 1}, {"remove", json::array({deleted})}, {"add", json::array({added})}},
       true,
       "",
       true},
  };
}

// What a scope holds: live code ids with their registered count (or expiry), and firing code alerts.
struct ScopeView {
  std::map<std::string, std::string> codes;
  std::set<std::string> alerts;  // "rule severity id"
  bool operator==(const ScopeView&) const = default;
};

class FaultMatrix : public SimTest {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("acmon-matrix-" + std::to_string(::getpid()) + "-" +
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    policy = api::RetryPolicy{4, std::chrono::milliseconds(1), std::chrono::milliseconds(4)};
  }
  void TearDown() override {
    SimTest::TearDown();
    std::filesystem::remove_all(dir);
  }

  json data(UnixTime now) {
    json d = {{"orders", {{{"_account", "AKID"}, {"AliyunOrderId", "2233000445566"}}}},
              {"regions", {{{"RegionId", "cn-hangzhou"}}}}};
    for (const auto& p : k_products) {
      json list = json::array();
      for (int i = 0; i < k_codes; ++i) {
        list.push_back(record(p.name, i, now, i == k_alerted));
      }
      d[p.name] = list;
    }
    return d;
  }

  config::Config config() {
    config::Config cfg;
    cfg.path = "matrix.toml";
    config::Account a;
    a.name = "acct";
    a.access_key_id = "AKID";
    a.secret_env = "MATRIX_SECRET";
    cfg.accounts.push_back(a);
    for (const auto& p : k_products) {
      config::Collector c;
      c.name = p.name;
      c.account = "acct";
      c.product = p.product;
      c.endpoint = sim->base_url();
      c.timeout = 1;
      if (p.product == config::Product::ecs) {
        c.regions = {"cn-hangzhou"};
      }
      if (p.product == config::Product::polardb) {
        c.order_ids = {"2233000445566"};
      }
      cfg.collectors.push_back(c);
    }
    return cfg;
  }

  // One `acmon sync` pass: every collector, then alert evaluation.
  std::vector<daemon::ScopeOutcome> sync(db::Store& store, const config::Config& cfg) {
    CredentialOptions options;
    options.env = [](const std::string& name) -> std::optional<std::string> {
      return name == "MATRIX_SECRET" ? std::optional<std::string>("sim-secret") : std::nullopt;
    };
    daemon::Syncer syncer(cfg, store, *client, clock, options);
    auto outcomes = syncer.run({});
    auto codes = store.codes({}, clock.now());
    auto scopes = store.scopes();
    EXPECT_TRUE(codes && scopes);
    auto changes = store.reconcile_alerts(daemon::evaluate_alerts(*codes, *scopes, cfg, clock.now()), clock.now());
    EXPECT_TRUE(changes) << changes.error().describe();
    return outcomes;
  }

  std::map<std::string, ScopeView> view(db::Store& store) {
    std::map<std::string, ScopeView> out;
    auto codes = store.codes({}, clock.now());
    EXPECT_TRUE(codes);
    for (const auto& c : *codes) {
      const auto& code = c.code;
      out[c.collector].codes[code.id] = code.product == config::Product::polardb
                                            ? std::to_string(code.expires_at.value_or(0))
                                            : std::to_string(code.registered.value_or(-1));
    }
    auto alerts = store.alerts(false);
    EXPECT_TRUE(alerts);
    for (const auto& a : *alerts) {
      if (a.is_code_alert()) {
        out[a.collector].alerts.insert(a.rule + " " + a.severity + " " + a.code_id);
      }
    }
    return out;
  }

  // The codes a scope holds in truth, from the records the test built and changed (never from
  // acmon's own reading of them).
  static ScopeView truth(const std::string& product, const json& records, const std::set<std::string>& gone,
                         const json& extra) {
    ScopeView v;
    auto add = [&](const json& r) {
      const std::string id = product == "polardb"
                                 ? std::to_string(r["Id"].get<int>())
                                 : r[product == "smc" ? "AccessTokenId" : "ActivationId"].get<std::string>();
      if (gone.count(id) != 0) {
        return;
      }
      if (product == "polardb") {
        auto t = parse_zoneless(std::string(trim(r["ExpireAt"].get<std::string>())), 0);
        v.codes[id] = std::to_string(t.value_or(0));
      } else {
        v.codes[id] = r["RegisteredCount"].get<std::string>();
      }
    };
    for (const auto& r : records) {
      add(r);
    }
    for (const auto& r : extra) {
      add(r);
    }
    return v;
  }

  std::filesystem::path dir;
};

// The alerts of a view other than code_exhaustion_forecast (which follows from how fast a code's
// uses grew between two syncs, not from the fault).
long not_forecasts(const std::set<std::string>& alerts) {
  return std::count_if(alerts.begin(), alerts.end(),
                       [](const std::string& a) { return a.rfind("code_exhaustion_forecast", 0) != 0; });
}

}  // namespace

TEST_F(FaultMatrix, EveryProductFaultAndPage) {
  const UnixTime now = clock.now();
  int cells = 0;
  for (const auto& p : k_products) {
    for (const auto& fault : faults(p.name, now)) {
      for (int page = 1; page <= 3; ++page) {
        const std::string cell = std::string(p.name) + " × " + fault.name + " × page " + std::to_string(page);
        SCOPED_TRACE(cell);
        ++cells;
        json d = data(now);
        start(d);
        const auto cfg = config();
        const auto path = (dir / ("cell-" + std::to_string(cells) + ".db")).string();
        auto store = db::Store::open(path);
        ASSERT_TRUE(store) << store.error().describe();

        // A first, fault-free sync: the state before.
        for (const auto& o : sync(**store, cfg)) {
          ASSERT_TRUE(o.ok) << o.error;
        }
        const auto before = view(**store);
        ASSERT_EQ(before.at(p.name).codes.size(), static_cast<std::size_t>(k_codes));
        ASSERT_EQ(before.at(p.name).alerts.size(), 1U);

        // The cloud changes, then the fault is armed for this product's listing, at this page.
        for (const auto& q : k_products) {
          ASSERT_TRUE(sim->remove(q.name, code_id(q.name, k_alerted)));
          ASSERT_TRUE(sim->patch(q.name, code_id(q.name, k_changed), changed_fields(q.name, now)));
        }
        json spec = fault.spec;
        spec["action"] = p.action;
        spec["after"] = page - 1;
        sim->set_faults(json::array({spec}));

        const auto outcomes = sync(**store, cfg);
        const auto after = view(**store);

        // Every other scope is written: its codes and alerts are the new truth.
        for (const auto& q : k_products) {
          json records = d[q.name];
          records[k_changed].update(changed_fields(q.name, now));
          std::set<std::string> gone{code_id(q.name, k_alerted)};
          json extra = json::array();
          if (q.name == std::string(p.name) && fault.changes) {
            for (const auto& id : fault.spec.value("remove", json::array())) {
              gone.insert(id.get<std::string>());
            }
            extra = fault.spec.value("add", json::array());
          }
          ScopeView want = truth(q.name, records, gone, extra);
          // A code deleted between pages after its page was read is in the first complete pass and
          // lacked by the second only: it is kept (as it was) until two consecutive passes lack it,
          // in the next run. So for a deletion on page 2 or 3 that shifts a live code past the
          // reader without moving the total (an addition with it, or ecs, whose NextToken listing
          // has no total to check), rather than failing the pass.
          const bool kept_one_run = q.name == std::string(p.name) && fault.changes && fault.spec.contains("remove") &&
                                    page > 1 && (fault.spec.contains("add") || p.product == config::Product::ecs);
          if (kept_one_run) {
            want.codes[code_id(q.name, k_deleted)] = before.at(q.name).codes.at(code_id(q.name, k_deleted));
          }
          const auto outcome = std::find_if(outcomes.begin(), outcomes.end(),
                                            [&](const auto& o) { return o.scope.collector == q.name; });
          ASSERT_NE(outcome, outcomes.end());
          const bool faulted = q.name == std::string(p.name);
          if (!faulted || fault.transient) {
            EXPECT_TRUE(outcome->ok) << q.name << ": " << outcome->error;
            EXPECT_EQ(after.at(q.name).codes, want.codes) << q.name;
            // The deleted code's alert resolved; the changed code's alert fires (and, its uses having
            // grown since the last sync, its exhaustion forecast where its product has a limit).
            const auto firing = after.at(q.name).alerts;
            EXPECT_EQ(not_forecasts(firing), 1) << q.name;
            for (const auto& a : firing) {
              EXPECT_NE(a.find(code_id(q.name, k_changed)), std::string::npos) << q.name << ": " << a;
            }
            if (kept_one_run) {
              // The next run's two passes both lack it: now it is deleted.
              sim->set_faults(json::array());
              for (const auto& o : sync(**store, cfg)) {
                EXPECT_TRUE(o.ok) << o.scope.collector << ": " << o.error;
              }
              want.codes.erase(code_id(q.name, k_deleted));
              EXPECT_EQ(view(**store).at(q.name).codes, want.codes) << q.name << ", the run after";
            }
            continue;
          }
          // The faulted scope failed, said where and why, and changed nothing.
          EXPECT_FALSE(outcome->ok);
          EXPECT_NE(outcome->error.find(fault.names), std::string::npos) << outcome->error;
          const std::string line = daemon::summary_line(*outcome);  // what `acmon sync` prints
          EXPECT_NE(line.find(std::string(p.name) + " (account acct"), std::string::npos) << line;
          EXPECT_EQ(after.at(q.name), before.at(q.name));
        }

        if (!fault.transient) {
          // The fault gone, the next run is exact.
          sim->set_faults(json::array());
          for (const auto& o : sync(**store, cfg)) {
            EXPECT_TRUE(o.ok) << o.scope.collector << ": " << o.error;
          }
          const auto healed = view(**store);
          EXPECT_EQ(healed.at(p.name).codes.size(), static_cast<std::size_t>(k_codes - 1));
          EXPECT_EQ(not_forecasts(healed.at(p.name).alerts), 1);
        }
        if (HasFailure()) {
          return;  // one broken cell is enough to read
        }
      }
    }
  }
  EXPECT_EQ(cells, 3 * 15 * 3);
}

// An account whose codes keep changing while it is listed (others add and remove codes faster than
// a pass is read) never gives two identical passes. Its run is still written, after two complete
// passes: a live code is written deleted only when both lack it, and one that a shift hid from one
// pass stays live, as stored.
TEST_F(FaultMatrix, AListThatKeepsChangingIsWrittenAfterTwoCompleteListings) {
  const UnixTime now = clock.now();
  start(data(now));
  const auto cfg = config();
  auto store = db::Store::open((dir / "churn.db").string());
  ASSERT_TRUE(store) << store.error().describe();
  for (const auto& o : sync(**store, cfg)) {
    ASSERT_TRUE(o.ok) << o.error;
  }
  const auto before = view(**store).at("smc");
  ASSERT_EQ(before.codes.size(), static_cast<std::size_t>(k_codes));

  ASSERT_TRUE(sim->remove("smc", code_id("smc", 7)));  // deleted for good: no pass lists it
  // Pass 1 reads requests 0-2 (119 codes). Before pass 2, at-600 comes; between its pages 1 and
  // 2, at-3 goes and at-601 comes, so at-51 shifts onto the page already read and pass 2 lacks
  // it. A code comes before every later pass too: no two passes are ever the same. (The faults
  // are listed last first: each then counts every request until it fires.)
  auto change = [&](int after, const std::vector<std::string>& remove, int add) {
    return json{{"kind", "change"}, {"action", "ListAccessTokens"},
                {"after", after},   {"times", 1},
                {"remove", remove}, {"add", json::array({record("smc", add, now, false)})}};
  };
  sim->set_faults(
      json::array({change(9, {}, 603), change(6, {}, 602), change(4, {code_id("smc", 3)}, 601), change(3, {}, 600)}));
  const auto outcomes = sync(**store, cfg);
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.ok) << o.scope.collector << ": " << o.error;
  }
  const auto smc =
      std::find_if(outcomes.begin(), outcomes.end(), [](const auto& o) { return o.scope.collector == "smc"; });
  ASSERT_NE(smc, outcomes.end());
  EXPECT_EQ(smc->pages, 6);  // two passes of three pages
  EXPECT_EQ(smc->written.deleted, 1);
  EXPECT_EQ(smc->written.created, 2);
  // at-7, lacked by both passes, is deleted; at-51, lacked by the second only, stays as stored, as
  // does at-3, read by the second pass before it went; the new codes are written.
  auto want = before.codes;
  want.erase(code_id("smc", 7));
  want[code_id("smc", 600)] = "1";
  want[code_id("smc", 601)] = "1";
  EXPECT_EQ(view(**store).at("smc").codes, want);

  // The next run, the list still again: at-3 is lacked by both of its passes and is deleted now.
  sim->set_faults(json::array());
  for (const auto& o : sync(**store, cfg)) {
    ASSERT_TRUE(o.ok) << o.scope.collector << ": " << o.error;
    if (o.scope.collector == "smc") {
      EXPECT_EQ(o.written.deleted, 1);
    }
  }
  want.erase(code_id("smc", 3));
  EXPECT_EQ(view(**store).at("smc").codes, want);
}
