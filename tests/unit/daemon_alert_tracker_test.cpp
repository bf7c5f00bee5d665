// The incremental alert evaluation (AlertTracker and Store::apply_alert_changes) against the full
// one: over random codes, time steps, runs that replace a scope's list and failing scopes, the
// alerts it keeps (and the database holds) are always what evaluate_alerts says, with each
// alert's id and start kept as long as its key fires. A real SQLite file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "acmon/daemon/alert_tracker.hpp"
#include "acmon/daemon/alerts.hpp"
#include "acmon/db/store.hpp"

using namespace acmon;
namespace fs = std::filesystem;

namespace {

const UnixTime k_start = 1'800'000'000;

// The ecs collector's thresholds fall between the minutes its summaries count in, so that a missed
// threshold crossing cannot hide behind a summary that changes at the same second.
config::Config make_config() {
  return config::parse(R"(
[[accounts]]
name = "prod"
credentials = "env"
[[collectors]]
account = "prod"
product = "smc"
interval = "5m"
[[collectors]]
account = "prod"
product = "ecs"
regions = ["cn-hangzhou", "cn-beijing"]
expiry_warning = "12h17s"
expiry_critical = "2h7s"
usage_warning = 0.5
usage_critical = 0.9
[alerts]
expiry_warning = "7d"
expiry_critical = "1d"
usage_warning = 0.8
usage_critical = 0.95
)",
                       "t.toml");
}

struct Scopes {
  model::Scope smc{"prod-smc", config::Product::smc, "prod"};
  model::Scope hz{"prod-ecs", config::Product::ecs, "prod", "cn-hangzhou"};
  model::Scope bj{"prod-ecs", config::Product::ecs, "prod", "cn-beijing"};
  model::Scope gone{"old-smc", config::Product::smc, "prod"};  // a collector no longer configured
  [[nodiscard]] std::vector<model::Scope> all() const { return {smc, hz, bj, gone}; }
};

// A code whose expiry, use and forecast fall anywhere around the thresholds, seconds to weeks away.
model::StoredCode random_code(std::mt19937& rng, const model::Scope& s, int n, UnixTime now) {
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  const std::int64_t spans[] = {90, 3600, 3 * 3600, 86400, 3 * 86400, 10 * 86400};
  model::StoredCode c;
  c.collector = s.collector;
  c.code.product = s.product;
  c.code.account = s.account;
  c.code.region = s.region;
  c.code.order_id = s.order_id;
  c.code.id = s.collector + "-" + s.region + "-" + std::to_string(n);
  c.code.name = "name-" + std::to_string(pick(0, 3));
  c.code.api_status = "activated";
  if (pick(0, 9) > 0) {
    c.code.expires_at = now + pick(-600, spans[pick(0, 5)]);
  }
  if (pick(0, 3) > 0) {
    c.code.limit = pick(1, 60);
    c.code.registered = pick(0, *c.code.limit);
  }
  if (pick(0, 2) == 0) {
    c.exhaustion_forecast = now + pick(-300, spans[pick(0, 5)]);
  }
  if (pick(0, 19) == 0) {
    c.deleted_at = now - 60;
  }
  c.state = model::derive_state(c.code, now);
  return c;
}

class AlertTrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("acmon-tracker-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto s = db::Store::open((dir / "acmon.db").string());
    ASSERT_TRUE(s) << s.error().message;
    store = std::move(*s);
    cfg = std::make_shared<const config::Config>(make_config());
  }
  void TearDown() override {
    store.reset();
    fs::remove_all(dir);
  }

  // The full evaluation stored, then held by the tracker: what the daemon does first.
  void full(const model::Snapshot& state, UnixTime now) {
    auto desired = daemon::evaluate_alerts(state, *cfg, now);
    auto r = store->reconcile_firing(desired, now);
    ASSERT_TRUE(r) << r.error().message;
    firing = model::AlertList(std::move(desired));
    ASSERT_TRUE(tracker.seed(state, cfg, now, firing));
    ASSERT_TRUE(tracker.holds(*cfg, firing));
  }

  // One incremental evaluation, stored; returns how many alerts it touched.
  std::size_t step(const model::Snapshot& state, UnixTime now) {
    auto changes = tracker.step(state, now);
    if (changes.empty()) {
      return 0;  // as the daemon does: nothing written, the same list kept
    }
    std::vector<model::AlertRecord*> start;
    std::vector<const model::AlertRecord*> update;
    std::vector<const model::AlertRecord*> end;
    for (const auto& a : changes.started) {
      start.push_back(a.get());
    }
    for (const auto& [held, next] : changes.changed) {
      update.push_back(next.get());
    }
    for (const auto& a : changes.ended) {
      end.push_back(a.get());
    }
    auto r = store->apply_alert_changes(start, update, end, now);
    EXPECT_TRUE(r) << r.error().message;
    if (r) {
      EXPECT_EQ(r->started.size(), start.size());
      EXPECT_EQ(r->resolved.size(), end.size());
    }
    firing = tracker.commit(firing, changes);
    return start.size() + update.size() + end.size();
  }

  using Row = std::tuple<std::string, std::string, std::string>;  // key, summary, name
  static std::set<Row> rows(const std::vector<model::AlertRecord>& alerts) {
    std::set<Row> out;
    for (const auto& a : alerts) {
      out.emplace(a.key(), a.summary, a.name);
    }
    return out;
  }
  static std::vector<model::AlertRecord> records(const model::AlertList& list) { return {list.begin(), list.end()}; }

  // What the tracker keeps is the full evaluation, and exactly what the database reads back (ids,
  // starts and order included).
  void check(const model::Snapshot& state, UnixTime now, const std::string& where) {
    const auto expected = rows(daemon::evaluate_alerts(state, *cfg, now));
    ASSERT_EQ(rows(records(firing)), expected) << where;
    auto stored = store->alerts(false);
    ASSERT_TRUE(stored) << stored.error().message;
    ASSERT_EQ(stored->size(), firing.size()) << where;
    const auto held = records(firing);
    ASSERT_EQ(held.size(), firing.size()) << where;
    for (std::size_t i = 0; i < stored->size(); ++i) {
      const auto& a = (*stored)[i];
      const auto& b = held[i];
      ASSERT_EQ(std::tie(a.id, a.starts_at, a.summary, a.name), std::tie(b.id, b.starts_at, b.summary, b.name))
          << where << ", alert " << i;
      ASSERT_EQ(a.key(), b.key()) << where;
      ASSERT_FALSE(b.ends_at) << where;
    }
  }

  fs::path dir;
  std::unique_ptr<db::Store> store;
  std::shared_ptr<const config::Config> cfg;
  daemon::AlertTracker tracker;
  model::AlertList firing;
};

model::Snapshot snapshot(const std::map<std::string, std::vector<model::StoredCode>>& lists,
                         std::vector<model::ScopeStatus> scopes) {
  model::Snapshot s;
  for (const auto& [key, codes] : lists) {
    s.codes.emplace(key, std::make_shared<const model::CodeList>(codes));
  }
  s.scopes = std::move(scopes);
  return s;
}

TEST_F(AlertTrackerTest, AgreesWithTheFullEvaluationThroughTimeRunsAndFailures) {
  std::mt19937 rng(20261207);
  const Scopes sc;
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  UnixTime now = k_start;
  std::map<std::string, std::vector<model::StoredCode>> lists;
  int serial = 0;
  for (const auto& s : sc.all()) {
    auto& l = lists[model::scope_key(s)];
    for (int i = 0; i < 150; ++i) {
      l.push_back(random_code(rng, s, serial++, now));
    }
  }
  std::vector<model::ScopeStatus> statuses;
  for (const auto& s : sc.all()) {
    model::ScopeStatus st;
    st.scope = s;
    st.first_run_at = now - 3600;
    st.last_run_at = now - 60;
    st.last_success_at = now - 60;
    statuses.push_back(st);
  }
  auto state = snapshot(lists, statuses);
  full(state, now);
  check(state, now, "after the full evaluation");
  ASSERT_GT(firing.size(), 50U);

  std::size_t touched = 0;
  std::size_t held = 0;  // the alerts firing after each step, summed: what full evaluations would go over
  std::size_t revisits_without_change = 0;
  for (int round = 0; round < 400; ++round) {
    const int what = pick(0, 19);
    std::string ran;  // the scope a run stored a new list of
    if (what == 0) {
      // A run of one scope: some codes change, one goes, one comes; a new list replaces the old.
      const auto s = sc.all()[static_cast<std::size_t>(pick(0, 3))];
      ran = model::scope_key(s);
      auto& l = lists[model::scope_key(s)];
      while (l.size() < 100) {  // a scope whose codes went (below) lists them again
        l.push_back(random_code(rng, s, serial++, now));
      }
      for (auto& c : l) {
        if (pick(0, 4) == 0) {
          c = random_code(rng, s, std::stoi(c.code.id.substr(c.code.id.rfind('-') + 1)), now);
        }
      }
      if (!l.empty()) {
        l.erase(l.begin() + pick(0, static_cast<int>(l.size()) - 1));
      }
      l.push_back(random_code(rng, s, serial++, now));
      for (auto& st : statuses) {
        if (model::scope_key(st.scope) == model::scope_key(s)) {
          st.last_run_at = st.last_success_at = now;
          st.consecutive_failures = 0;
        }
      }
    } else if (what == 1) {
      // A scope fails (again): collector_failing comes with the third failure, its summary grows.
      auto& st = statuses[static_cast<std::size_t>(pick(0, 2))];
      st.last_run_at = now;
      ++st.consecutive_failures;
      st.last_error = "HTTP 503 on page " + std::to_string(pick(1, 9));
    } else if (what == 2 && lists.size() == sc.all().size()) {
      lists.erase(std::next(lists.begin(), pick(0, static_cast<int>(lists.size()) - 1)));  // a scope's codes go
    } else {
      now += std::vector<std::int64_t>{1, 7, 30, 30, 30, 61, 600, 3600}[static_cast<std::size_t>(pick(0, 7))];
    }
    // Lists not touched above stay the same objects: the tracker tells them apart by identity.
    model::Snapshot next;
    for (const auto& [key, codes] : lists) {
      auto it = state.codes.find(key);
      const bool same = it != state.codes.end() && key != ran;
      next.codes.emplace(key, same ? it->second : std::make_shared<const model::CodeList>(codes));
    }
    next.scopes = statuses;
    state = std::move(next);
    ASSERT_TRUE(tracker.holds(*cfg, firing));
    const auto n = step(state, now);
    touched += n;
    held += firing.size();
    revisits_without_change += n == 0 ? 1 : 0;
    check(state, now, "round " + std::to_string(round) + " at +" + std::to_string(now - k_start) + " s");
  }
  // It did move: alerts started, changed and ended along the way, but far fewer than a full
  // evaluation rewrites each time.
  EXPECT_GT(touched, 50U);
  EXPECT_LT(touched, held / 4);
  EXPECT_GT(firing.size(), 20U);
  EXPECT_GT(revisits_without_change, 0U);
}

// The promise the tracker relies on, second by second: what code_alerts raises (severity, summary
// and the moment a summary counts to) does not change before the time it gave. Codes whose expiry and forecast fall
// within the three hours walked, with thresholds between the minutes (ecs) and on them (smc).
TEST(CodeAlerts, NeverChangeBeforeTheTimeTheyGive) {
  std::mt19937 rng(42);
  const auto cfg = make_config();
  const daemon::CodeJudge judge(cfg);
  const Scopes sc;
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  using Slots = std::optional<model::AlertRecord>[daemon::k_code_rules];
  auto text = [](const Slots& slots) {
    std::string out;
    for (const auto& s : slots) {
      out += s ? s->severity + ":" + s->summary + "@" + std::to_string(s->span_at.value_or(0)) + "|" : "-|";
    }
    return out;
  };
  int changes = 0;
  for (int n = 0; n < 40; ++n) {
    const auto& scope = n % 2 == 0 ? sc.smc : sc.hz;
    model::StoredCode c = random_code(rng, scope, n, k_start);
    c.state = model::CodeState::active;
    c.deleted_at.reset();
    const std::int64_t critical = n % 2 == 0 ? 86400 : 2 * 3600 + 7;
    c.code.expires_at = k_start + critical + pick(-1800, 3 * 3600);
    if (n % 3 == 0) {
      c.exhaustion_forecast = k_start + pick(-60, 3 * 3600);
    }
    const model::CodeList list(std::vector<model::StoredCode>{c});
    const auto code = list.at(0);
    const auto t = judge.thresholds(code);
    ASSERT_TRUE(t);
    Slots first;
    UnixTime until = daemon::code_alerts(code, *t, k_start, first);
    std::string last = text(first);
    for (UnixTime now = k_start + 1; now < k_start + critical + 3 * 3600 + 60; ++now) {
      Slots slots;
      const UnixTime next = daemon::code_alerts(code, *t, now, slots);
      ASSERT_GT(next, now);
      const std::string seen = text(slots);
      if (seen != last) {
        ASSERT_GE(now, until) << "code " << n << " changed at +" << now - k_start << " s from " << last << " to "
                              << seen << ", promised steady until +" << until - k_start;
        ++changes;
      }
      if (seen != last || now >= until) {
        last = seen;
        until = next;
      }
    }
  }
  EXPECT_GE(changes, 40);  // every code's expiry was crossed, at least
}

TEST_F(AlertTrackerTest, AStepWithNothingDueTouchesNothing) {
  std::mt19937 rng(7);
  const Scopes sc;
  std::vector<model::StoredCode> codes;
  codes.reserve(100);
  for (int i = 0; i < 100; ++i) {
    codes.push_back(random_code(rng, sc.smc, i, k_start));
  }
  auto state = snapshot({{model::scope_key(sc.smc), codes}}, {});
  full(state, k_start);
  const auto before = firing.identity();
  auto changes = tracker.step(state, k_start);
  EXPECT_TRUE(changes.empty());
  EXPECT_TRUE(tracker.holds(*cfg, firing));
  EXPECT_EQ(firing.identity(), before);
  EXPECT_EQ(tracker.codes(), 100U);
  EXPECT_GT(tracker.pending(), 0U);
}

TEST_F(AlertTrackerTest, ASummaryThatCountsIsNotRewrittenAsTimePasses) {
  const Scopes sc;
  model::StoredCode c;
  c.collector = "prod-smc";
  c.code.product = config::Product::smc;
  c.code.account = "prod";
  c.code.id = "code-1";
  c.code.name = "one";
  c.code.expires_at = k_start + 2 * 3600 + 30;  // critical from 1d
  c.state = model::derive_state(c.code, k_start);
  auto state = snapshot({{model::scope_key(sc.smc), {c}}}, {});
  full(state, k_start);
  ASSERT_EQ(firing.size(), 1U);
  const auto id = firing[0].id;
  const auto list = firing.identity();
  EXPECT_EQ(firing[0].summary_at(k_start), "expires in 2h");
  // Two hours pass: nothing to write, and the summary reads right whenever it is read.
  for (UnixTime t = k_start + 1; t < k_start + 2 * 3600 + 30; t += 29) {
    ASSERT_EQ(step(state, t), 0U) << t - k_start;
  }
  EXPECT_EQ(firing.identity(), list);
  EXPECT_EQ(firing[0].summary_at(k_start + 31), "expires in 1h 59m");
  auto stored = store->alerts(false);
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 1U);
  EXPECT_EQ((*stored)[0].id, id);
  EXPECT_EQ((*stored)[0].summary_at(k_start + 2 * 3600), "expires in 30s");
  // At the expiry it resolves: one change.
  EXPECT_EQ(step(state, k_start + 2 * 3600 + 30), 1U);
  EXPECT_TRUE(firing.empty());
  check(state, k_start + 2 * 3600 + 30, "expired");
}

// With thousands of alerts firing, a change to one of them makes the chunk that holds it again and
// shares every other chunk with the list before.
TEST_F(AlertTrackerTest, AChangeCopiesOnlyTheChunksItTouches) {
  const Scopes sc;
  std::vector<model::StoredCode> codes;
  for (int i = 0; i < 3000; ++i) {
    model::StoredCode c;
    c.collector = "prod-smc";
    c.code.product = config::Product::smc;
    c.code.account = "prod";
    c.code.id = "used-" + std::to_string(i);
    c.code.limit = 10;
    c.code.registered = 9;  // code_usage_high warning, whatever the time
    if (i == 1500) {
      c.code.expires_at = k_start + 86400 + 10;  // warning now, critical in 10 s
    }
    c.state = model::derive_state(c.code, k_start);
    codes.push_back(std::move(c));
  }
  auto state = snapshot({{model::scope_key(sc.smc), codes}}, {});
  full(state, k_start);
  ASSERT_EQ(firing.size(), 3001U);
  const auto before = firing.chunks();
  ASSERT_GE(before.size(), 3001 / model::AlertList::k_chunk);
  EXPECT_EQ(step(state, k_start + 10), 2U);  // the warning ends, a critical alert starts
  check(state, k_start + 10, "critical");
  std::size_t shared = 0;
  for (const auto& c : firing.chunks()) {
    shared += std::count(before.begin(), before.end(), c) > 0 ? 1 : 0;
  }
  EXPECT_GE(shared, before.size() - 1);
  EXPECT_LE(firing.chunks().size(), before.size() + 1);
  EXPECT_EQ(firing[0].severity, "critical");  // the newest first
  EXPECT_EQ(firing[0].code_id, "used-1500");
}

TEST_F(AlertTrackerTest, SeedRefusesAlertsThatAreNotTheRulesOwn) {
  std::mt19937 rng(11);
  const Scopes sc;
  std::vector<model::StoredCode> codes;
  codes.reserve(50);
  for (int i = 0; i < 50; ++i) {
    codes.push_back(random_code(rng, sc.smc, i, k_start));
  }
  auto state = snapshot({{model::scope_key(sc.smc), codes}}, {});
  auto desired = daemon::evaluate_alerts(state, *cfg, k_start);
  ASSERT_FALSE(desired.empty());
  auto stale = desired;
  stale[0].summary = "expires in 99d";  // as an older evaluation wrote it
  EXPECT_FALSE(tracker.seed(state, cfg, k_start, model::AlertList(stale)));
  EXPECT_FALSE(tracker.holds(*cfg, firing));
  auto fewer = desired;
  fewer.pop_back();
  EXPECT_FALSE(tracker.seed(state, cfg, k_start, model::AlertList(fewer)));
  auto more = desired;
  more.push_back(desired[0]);
  more.back().code_id = "not-a-code";
  EXPECT_FALSE(tracker.seed(state, cfg, k_start, model::AlertList(more)));
  const model::AlertList exact(desired);
  EXPECT_TRUE(tracker.seed(state, cfg, k_start, exact));
  EXPECT_TRUE(tracker.holds(*cfg, exact));
  EXPECT_FALSE(tracker.holds(*cfg, model::AlertList(desired)));  // another list, though equal
  const auto other = std::make_shared<const config::Config>(make_config());
  EXPECT_FALSE(tracker.holds(*other, exact));  // another configuration (a reload)
}

TEST_F(AlertTrackerTest, ChangesTheDatabaseDoesNotMatchAreRefusedWhole) {
  const Scopes sc;
  model::StoredCode c;
  c.collector = "prod-smc";
  c.code.product = config::Product::smc;
  c.code.account = "prod";
  c.code.id = "code-1";
  c.code.name = "one";
  c.code.expires_at = k_start + 3600;
  c.state = model::derive_state(c.code, k_start);
  auto state = snapshot({{model::scope_key(sc.smc), {c}}}, {});
  full(state, k_start);
  ASSERT_EQ(firing.size(), 1U);
  // Another writer resolved the alert behind the tracker's back; then a run renames the code.
  ASSERT_TRUE(store->reconcile_alerts({}, k_start + 1));
  auto renamed = c;
  renamed.code.name = "renamed";
  auto changes = tracker.step(snapshot({{model::scope_key(sc.smc), {renamed}}}, {}), k_start + 61);
  ASSERT_EQ(changes.changed.size(), 1U);
  std::vector<const model::AlertRecord*> update{changes.changed[0].second.get()};
  auto r = store->apply_alert_changes({}, update, {}, k_start + 61);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not firing"), std::string::npos) << r.error().message;
  // A start whose key fires already is refused too, and nothing of the transaction stays.
  ASSERT_TRUE(store->reconcile_alerts(daemon::evaluate_alerts(state, *cfg, k_start), k_start + 2));
  auto again = daemon::evaluate_alerts(state, *cfg, k_start);
  std::vector<model::AlertRecord*> start{&again[0]};
  auto before = store->alerts(true);
  ASSERT_TRUE(before);
  auto refused = store->apply_alert_changes(start, {}, {}, k_start + 3);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("firing already"), std::string::npos) << refused.error().message;
  EXPECT_EQ(again[0].id, 0);
  auto after = store->alerts(true);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->size(), before->size());
}

}  // namespace
