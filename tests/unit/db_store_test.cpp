// The snapshot store on real SQLite files.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "acmon/core/crypto.hpp"
#include "acmon/db/store.hpp"

using namespace acmon;
using namespace acmon::db;
using namespace acmon::model;
namespace fs = std::filesystem;

namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("acmon-db-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    path = (dir / "acmon.db").string();
    auto s = Store::open(path);
    ASSERT_TRUE(s) << s.error().message;
    store = std::move(*s);
  }
  void TearDown() override {
    store.reset();
    fs::remove_all(dir);
  }

  // The single integer SQL answers; an SQL error or an empty answer fails the test (and returns -1,
  // which no count equals) rather than reading as 0.
  std::int64_t count(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(store->handle(), sql, -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "count(\"" << sql << "\"): " << sqlite3_errmsg(store->handle());
      sqlite3_finalize(st);
      return -1;
    }
    std::int64_t v = -1;
    if (const int rc = sqlite3_step(st); rc == SQLITE_ROW) {
      v = sqlite3_column_int64(st, 0);
    } else {
      ADD_FAILURE() << "count(\"" << sql << "\"): no row (" << sqlite3_errstr(rc) << ")";
    }
    sqlite3_finalize(st);
    return v;
  }

  // A firing code_expiring alert of code `id`, as the store takes them.
  static AlertRecord expiring(const std::string& id) {
    AlertRecord a;
    a.rule = "code_expiring";
    a.severity = "warning";
    a.product = "smc";
    a.account = "prod";
    a.code_id = id;
    a.collector = "prod-smc";
    a.name = "n";
    a.summary = "expires in 2d";
    return a;
  }

  // The store closed and opened again on the same file (what a restart does); false, with a
  // failure, when it does not open.
  bool reopen() {
    store.reset();
    auto again = Store::open(path);
    if (!again) {
      ADD_FAILURE() << again.error().message;
      return false;
    }
    store = std::move(*again);
    return true;
  }

  // The single text SQL answers ("" and a failure when there is none).
  std::string text(const char* sql) {
    sqlite3_stmt* st = nullptr;
    std::string v;
    if (sqlite3_prepare_v2(store->handle(), sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_text(st, 0) != nullptr) {
      v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    } else {
      ADD_FAILURE() << "text(\"" << sql << "\"): no row";
    }
    sqlite3_finalize(st);
    return v;
  }

  static Code code(const std::string& id, std::int64_t used = 1, std::int64_t limit = 10) {
    Code c;
    c.product = config::Product::smc;
    c.account = "prod";
    c.id = id;
    c.name = "n-" + id;
    c.limit = limit;
    c.registered = used;
    c.created_at = 1000;
    c.expires_at = 1000 + 30 * 86400;
    c.api_status = "activated";
    return c;
  }

  Result<WriteSummary> sync(const std::vector<Code>& codes, UnixTime now) {
    return store->record_success(scope, codes, RunInfo{now - 1, now, 0.5, 2}, now);
  }

  fs::path dir;
  std::string path;
  std::unique_ptr<Store> store;
  Scope scope{"prod-smc", config::Product::smc, "prod", "", ""};
};

}  // namespace

TEST_F(StoreTest, SchemaIsVersionedAndReopens) {
  EXPECT_EQ(count("PRAGMA user_version"), k_schema_version);
  EXPECT_EQ(
      count("SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN ('scopes','runs','codes','history')"),
      4);
  ASSERT_TRUE(sync({code("a")}, 2000));
  ASSERT_TRUE(reopen());
  EXPECT_EQ(store->codes({}, 2000)->size(), 1U);
}

TEST_F(StoreTest, RefusesADatabaseFromANewerAcmon) {
  ASSERT_EQ(sqlite3_exec(store->handle(), "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  store.reset();
  auto s = Store::open(path);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("schema version 99 is newer"), std::string::npos);
  EXPECT_NE(s.error().message.find(path), std::string::npos);
}

TEST_F(StoreTest, AVersion3DatabaseLosesOnlyItsIndexOfCodesById) {
  ASSERT_TRUE(sync({code("a"), code("b", 3)}, 2000));
  // Back to what version 3 left: the index it had, and its version.
  ASSERT_EQ(sqlite3_exec(store->handle(),
                         "CREATE INDEX codes_id ON codes(code_id); ALTER TABLE alerts DROP COLUMN span_at; "
                         "DROP TABLE meta; PRAGMA user_version=3",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  ASSERT_TRUE(reopen());
  EXPECT_EQ(count("PRAGMA user_version"), k_schema_version);
  EXPECT_EQ(count("SELECT count(*) FROM sqlite_master WHERE name='codes_id'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM codes"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM history"), 2);
  auto w = sync({code("a"), code("b", 4)}, 3000);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->changed, 1);
  EXPECT_EQ(w->history_rows, 1);
}

TEST_F(StoreTest, AVersion4DatabaseKeepsItsAlertsAndTheirSummariesAsWritten) {
  // What version 4 left: an alert whose summary was written out in full, and no span_at.
  AlertRecord written;
  written.rule = "code_expiring";
  written.severity = "warning";
  written.product = "smc";
  written.account = "prod";
  written.code_id = "a";
  written.collector = "prod-smc";
  written.name = "n";
  written.summary = "expires in 2d 3h";
  ASSERT_TRUE(store->reconcile_alerts({written}, 1000));
  ASSERT_EQ(
      sqlite3_exec(store->handle(), "ALTER TABLE alerts DROP COLUMN span_at; DROP TABLE meta; PRAGMA user_version=4",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  ASSERT_TRUE(reopen());
  EXPECT_EQ(count("PRAGMA user_version"), k_schema_version);
  EXPECT_EQ(count("SELECT count(*) FROM pragma_table_info('alerts') WHERE name='span_at'"), 1);
  auto firing = store->alerts(false);
  ASSERT_TRUE(firing) << firing.error().message;
  ASSERT_EQ(firing->size(), 1U);
  EXPECT_FALSE((*firing)[0].span_at);
  EXPECT_EQ((*firing)[0].summary_at(999999), "expires in 2d 3h");  // text as it was written
  // The next reconciliation gives it a summary that counts, the same alert all the same.
  auto desired = *firing;
  desired[0].summary = "expires in {span}";
  desired[0].span_at = 1000 + 2 * 86400 + 3 * 3600;
  auto r = store->reconcile_firing(desired, 2000);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->started.empty());
  firing = store->alerts(false);
  ASSERT_TRUE(firing);
  ASSERT_EQ(firing->size(), 1U);
  EXPECT_EQ((*firing)[0].starts_at, 1000);
  EXPECT_EQ((*firing)[0].span_at, 1000 + 2 * 86400 + 3 * 3600);
  EXPECT_EQ((*firing)[0].summary_at(1000 + 3600), "expires in 2d 2h");
}

// Version 6 named each receiver by its URL, secret and all; from version 7 it is keyed by the
// SHA-256 of what version 6 stored, and what each receiver was told stays told.
TEST_F(StoreTest, AVersion6DatabaseKeysItsReceiversByAHashOfTheirURL) {
  const AlertRecord a = expiring("a");
  const AlertRecord b = expiring("b");
  ASSERT_TRUE(store->reconcile_alerts({a, b}, 1000));
  const std::string hook = "webhook:https://oapi.dingtalk.com/robot/send?access_token=s3cret";
  const std::string am = "alertmanager:https://acmon:s3cret@am.example.com:9093";
  auto firing = store->pending_notifications(hook, 0, 0);
  ASSERT_TRUE(firing);
  ASSERT_EQ(firing->size(), 2U);
  // What version 6 stored: the webhook told of both firings, Alertmanager of the first.
  ASSERT_TRUE(store->mark_notified(hook, *firing, 1000));
  ASSERT_TRUE(store->mark_notified(am, {(*firing)[0]}, 1000));
  ASSERT_TRUE(store->reconcile_alerts({b}, 2000));  // a resolves
  auto resolved = store->pending_notifications(hook, 0, 0);
  ASSERT_TRUE(resolved);
  ASSERT_EQ(resolved->size(), 1U);
  ASSERT_TRUE(store->mark_notified(hook, *resolved, 2000));
  ASSERT_EQ(sqlite3_exec(store->handle(), "PRAGMA user_version=6", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_TRUE(reopen());
  EXPECT_EQ(count("PRAGMA user_version"), k_schema_version);
  EXPECT_EQ(count("SELECT count(*) FROM notifications"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM notifications WHERE target LIKE '%s3cret%' OR target LIKE '%:%'"), 0);
  const std::string hook_key = crypto::sha256_hex(hook);
  const std::string am_key = crypto::sha256_hex(am);
  EXPECT_EQ(text(("SELECT group_concat(alert_id) FROM (SELECT alert_id FROM notifications WHERE target='" + hook_key +
                  "' ORDER BY alert_id)")
                     .c_str()),
            "1,2");
  EXPECT_EQ(text(("SELECT group_concat(alert_id || ':' || firing_sent_at || ':' || ifnull(resolved_sent_at, '-')) "
                  "FROM notifications WHERE target='" +
                  am_key + "'")
                     .c_str()),
            "1:1000:-");
  // Under its key each receiver is owed what it was owed before: the webhook nothing, Alertmanager
  // the resolution of a and the firing of b.
  auto hook_owed = store->pending_notifications(hook_key, 0, 0);
  ASSERT_TRUE(hook_owed);
  EXPECT_TRUE(hook_owed->empty());
  auto am_owed = store->pending_notifications(am_key, 0, 0);
  ASSERT_TRUE(am_owed);
  ASSERT_EQ(am_owed->size(), 2U);
  EXPECT_TRUE((*am_owed)[0].resolved);
  EXPECT_FALSE((*am_owed)[1].resolved);
  // Opened again, nothing is hashed twice.
  ASSERT_TRUE(reopen());
  EXPECT_EQ(count(("SELECT count(*) FROM notifications WHERE target='" + hook_key + "'").c_str()), 2);
}

TEST_F(StoreTest, AnIdListedTwiceIsWrittenOnceWithTheLaterValues) {
  // New codes are inserted rather than upserted: a repeated id must not fail the run.
  auto w = sync({code("a", 1), code("b"), code("a", 5)}, 2000);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->created, 3);
  EXPECT_EQ(w->history_rows, 3);
  EXPECT_EQ(count("SELECT count(*) FROM codes"), 2);
  EXPECT_EQ(count("SELECT registered FROM codes WHERE code_id='a'"), 5);
}

TEST_F(StoreTest, AListingInNoOrderIsWrittenInIdOrderWithEveryRowItsOwn) {
  // The cloud lists in its own order; the store writes by id (writer.cpp, write_order). Each row
  // and history row must still be the code's own, and an id listed twice keep its later values.
  std::vector<Code> codes;
  for (int i = 0; i < 300; ++i) {
    const int k = (i * 7919) % 300;  // a permutation of 0..299
    codes.push_back(code("z" + std::to_string(k), 1, 1000 + k));
  }
  codes.push_back(code("z17", 9, 1017));  // listed again, later, with other values
  auto w = sync(codes, 2000);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->created, 301);
  EXPECT_EQ(count("SELECT count(*) FROM codes"), 300);
  EXPECT_EQ(count("SELECT count(*) FROM codes WHERE limit_count = 1000 + CAST(substr(code_id, 2) AS INTEGER)"), 300);
  EXPECT_EQ(count("SELECT registered FROM codes WHERE code_id='z17'"), 9);
  EXPECT_EQ(count("SELECT count(*) FROM history WHERE limit_count = 1000 + CAST(substr(code_id, 2) AS INTEGER)"), 301);
  // Written in id order: history ids rise with the code ids (the two z17 rows, earlier first).
  EXPECT_EQ(count("SELECT count(*) FROM history a JOIN history b ON b.id = a.id + 1 WHERE b.code_id < a.code_id"), 0);
  EXPECT_EQ(count("SELECT registered FROM history WHERE code_id='z17' ORDER BY id DESC LIMIT 1"), 9);
  // The same codes in the reverse order change nothing.
  codes.pop_back();
  for (auto& c : codes) {
    if (c.id == "z17") {
      c.registered = 9;  // as stored
    }
  }
  std::reverse(codes.begin(), codes.end());
  auto again = sync(codes, 3000);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->history_rows, 0);
}

TEST_F(StoreTest, LiveMissingNamesTheLiveCodesAListingLacks) {
  using Ids = std::vector<std::string>;
  auto missing = [&](const std::vector<Code>& listed) {
    auto r = store->live_missing(scope, listed);
    EXPECT_TRUE(r) << r.error().message;
    Ids ids = r ? *r : Ids{"(error)"};
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  std::vector<Code> codes{code("a"), code("b"), code("c"), code("d")};
  EXPECT_EQ(missing(codes), Ids{}) << "a scope never stored has nothing live";
  ASSERT_TRUE(sync(codes, 2000));
  EXPECT_EQ(*store->scope_codes(scope), 4U);
  // What this Store wrote last: answered without reading the codes.
  EXPECT_EQ(missing(codes), Ids{});
  // Lacking one, or listing another in its place, or the same ids in another order: read and named.
  EXPECT_EQ(missing({code("a"), code("b"), code("c")}), Ids{"d"});
  EXPECT_EQ(missing({code("a"), code("b"), code("c"), code("x")}), Ids{"d"});
  EXPECT_EQ(missing({code("d"), code("c"), code("b"), code("a")}), Ids{});
  EXPECT_EQ(missing({}), (Ids{"a", "b", "c", "d"}));
  // A deleted code is not live.
  ASSERT_TRUE(sync({code("a"), code("b")}, 3000));
  EXPECT_EQ(missing({code("a")}), Ids{"b"});
  EXPECT_EQ(missing({code("a"), code("b")}), Ids{});
  // Another writer on the file (a second Store: `acmon sync` beside the daemon) adds c: this
  // Store's memory of its last listing (a, b) no longer answers; the file does.
  {
    auto other = Store::open(path);
    ASSERT_TRUE(other) << other.error().message;
    ASSERT_TRUE((*other)->record_success(scope, {code("a"), code("b"), code("c")}, RunInfo{3999, 4000, 0.5, 1}, 4000));
  }
  EXPECT_EQ(missing({code("a"), code("b")}), Ids{"c"});
  EXPECT_EQ(missing({code("b")}), (Ids{"a", "c"}));
  // Another scope's codes are not this one's.
  const Scope other_scope{"prod-smc-2", config::Product::smc, "prod", "", ""};
  auto none = store->live_missing(other_scope, {});
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(*store->scope_codes(other_scope), 0U);
}

TEST_F(StoreTest, ARunLeavesForeignKeysCheckedAndEveryReferenceGood) {
  ASSERT_TRUE(sync({code("a"), code("b")}, 2000));
  ASSERT_TRUE(sync({code("a", 2)}, 3000));
  EXPECT_EQ(count("PRAGMA foreign_keys"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM pragma_foreign_key_check"), 0);
  // Still enforced for everything else: a history row of no scope is refused.
  EXPECT_NE(sqlite3_exec(store->handle(),
                         "INSERT INTO history(scope_id, code_id, run_id, at, event, detail, name, description) "
                         "VALUES(99, 'x', 1, 1, 'created', '', '', '')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
}

TEST_F(StoreTest, ACheckpointLeavesNothingInTheLog) {
  std::vector<Code> many;
  many.reserve(300);
  for (int i = 0; i < 300; ++i) {
    many.push_back(code("c" + std::to_string(i)));
  }
  ASSERT_TRUE(sync(many, 2000));
  ASSERT_TRUE(store->checkpoint());
  // Passive again: every frame of the log is already in the database file.
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(store->handle(), "PRAGMA wal_checkpoint(PASSIVE)", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), 0);                            // not busy
  EXPECT_EQ(sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));  // all copied
  sqlite3_finalize(st);
  EXPECT_EQ(store->codes({}, 2000)->size(), 300U);
}

// The one-day cutoff on resolutions is for receivers that never heard of the alert: one told that it
// fired is owed its resolution however long it was unreachable.
TEST_F(StoreTest, AResolutionIsOwedToAReceiverToldOfTheFiringHoweverLate) {
  const AlertRecord a = expiring("a");
  const AlertRecord b = expiring("b");
  ASSERT_TRUE(store->reconcile_alerts({a, b}, 1000));
  auto firing = store->pending_notifications("told", 0, 1000 - 86400);
  ASSERT_TRUE(firing) << firing.error().message;
  ASSERT_EQ(firing->size(), 2U);
  ASSERT_TRUE(store->mark_notified("told", *firing, 1000));
  ASSERT_TRUE(store->reconcile_alerts({}, 2000));  // both resolve at 2000
  // Ten days on: the receiver told of both gets both resolutions; one told of neither, none.
  const UnixTime later = 2000 + 10 * 86400;
  auto owed = store->pending_notifications("told", 0, later - 86400);
  ASSERT_TRUE(owed) << owed.error().message;
  ASSERT_EQ(owed->size(), 2U);
  EXPECT_TRUE((*owed)[0].resolved);
  EXPECT_TRUE((*owed)[1].resolved);
  auto stranger = store->pending_notifications("never told", 0, later - 86400);
  ASSERT_TRUE(stranger) << stranger.error().message;
  EXPECT_TRUE(stranger->empty());
  // Delivered once, owed no more.
  ASSERT_TRUE(store->mark_notified("told", *owed, later));
  auto after = store->pending_notifications("told", 0, later - 86400);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty());
}

TEST_F(StoreTest, UnopenableFileNamesThePath) {
  auto s = Store::open((dir / "no" / "such" / "dir.db").string());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("no/such/dir.db"), std::string::npos);
}

TEST_F(StoreTest, UnchangedResyncWritesNoHistoryAndAChangeWritesExactlyOne) {
  auto first = sync({code("a"), code("b"), code("c")}, 2000);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->created, 3);
  EXPECT_EQ(count("SELECT count(*) FROM history"), 3);

  auto same = sync({code("a"), code("b"), code("c")}, 3000);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->history_rows, 0);
  EXPECT_EQ(count("SELECT count(*) FROM history"), 3);

  auto used = sync({code("a", 4), code("b"), code("c")}, 4000);
  ASSERT_TRUE(used);
  EXPECT_EQ(used->changed, 1);
  EXPECT_EQ(count("SELECT count(*) FROM history"), 4);
  auto h = store->history("a", std::nullopt);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 2U);
  EXPECT_EQ((*h)[0].event, "created");
  EXPECT_EQ((*h)[1].event, "used");
  EXPECT_EQ((*h)[1].detail, "used +3");
  EXPECT_EQ((*h)[1].snapshot.registered, 4);
  EXPECT_EQ((*h)[1].at, 4000);
}

// An unchanged listing is recorded as a run alone; a change of any kind, or another writer in
// between, goes through the whole comparison again.
TEST_F(StoreTest, AnUnchangedListingIsARunAloneUntilAnythingDiffers) {
  ASSERT_TRUE(sync({code("a"), code("b")}, 2000));
  for (UnixTime t : {3000, 4000}) {
    auto same = sync({code("a"), code("b")}, t);
    ASSERT_TRUE(same) << same.error().message;
    EXPECT_EQ(same->history_rows, 0);
    EXPECT_EQ(same->codes, 2);
    EXPECT_GT(same->run_id, 0);
  }
  EXPECT_EQ(count("SELECT count(*) FROM runs WHERE ok=1 AND changes=0"), 2);
  EXPECT_EQ(count("SELECT successes FROM scopes"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM history"), 2);

  // Another writer on the same file lists "b" as gone and "c" as new: the first store must not take
  // its own last listing for what the database holds.
  {
    auto other = Store::open(path);
    ASSERT_TRUE(other);
    ASSERT_TRUE((*other)->record_success(scope, {code("a"), code("c")}, RunInfo{4999, 5000, 0.5, 2}, 5000));
  }
  auto back = sync({code("a"), code("b")}, 6000);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->created, 1);  // b restored
  EXPECT_EQ(back->deleted, 1);  // c gone
  EXPECT_EQ(count("SELECT count(*) FROM codes WHERE deleted_at IS NULL"), 2);

  // Time alone can change a code: its state expires though the listing is the same.
  const UnixTime expired = code("a").expires_at.value() + 10;
  auto later = sync({code("a"), code("b")}, expired);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->changed, 2);
  EXPECT_EQ(count("SELECT count(*) FROM codes WHERE state='expired'"), 2);

  // A failed run in between: the next listing is compared in full, and finds nothing to write.
  ASSERT_TRUE(store->record_failure(scope, "boom", RunInfo{expired + 1, expired + 2, 0.1, 1}));
  auto after = sync({code("a"), code("b")}, expired + 100);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->history_rows, 0);
  EXPECT_EQ(count("SELECT consecutive_failures FROM scopes"), 0);
}

// Fingerprints are stored: a database written by an earlier acmon must compare equal for an
// unchanged code. Pinned: SipHash-2-4 under the database's key (meta, 32 hex digits) over the
// fields, text as its length (8 bytes, little-endian) and bytes, a number as a tag byte (absent 0,
// present 1) and 8 bytes, the API status as a tag and text.
namespace {
std::int64_t reference_fingerprint(const std::string& hex_key, const Code& c) {
  std::string key;
  for (std::size_t i = 0; i + 1 < hex_key.size(); i += 2) {
    key.push_back(static_cast<char>(std::stoi(hex_key.substr(i, 2), nullptr, 16)));
  }
  std::string m;
  auto u64 = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i, v >>= 8) {
      m.push_back(static_cast<char>(v & 0xff));
    }
  };
  auto text = [&](const std::string& s) {
    u64(s.size());
    m += s;
  };
  auto number = [&](const std::optional<std::int64_t>& v) {
    m.push_back(v ? 1 : 0);
    u64(static_cast<std::uint64_t>(v.value_or(0)));
  };
  text(c.name);
  text(c.description);
  number(c.limit);
  number(c.registered);
  number(c.deregistered);
  number(c.created_at);
  number(c.expires_at);
  m.push_back(c.api_status ? 1 : 0);
  text(c.api_status.value_or(""));
  return static_cast<std::int64_t>(crypto::KeyedHash(key).of(m));
}
}  // namespace

TEST_F(StoreTest, TheStoredFingerprintKeepsItsDefinition) {
  Code a = code("a", 7, 1000);
  a.created_at = -62135596800;  // negative numbers too
  Code b = code("b");
  b.limit.reset();
  b.api_status.reset();
  ASSERT_TRUE(sync({a, b}, 2000));
  const std::string key = text("SELECT value FROM meta WHERE name='fingerprint_key'");
  ASSERT_EQ(key.size(), 32U) << key;
  EXPECT_EQ(count("SELECT fingerprint FROM codes WHERE code_id='a'"), reference_fingerprint(key, a));
  EXPECT_EQ(count("SELECT fingerprint FROM codes WHERE code_id='b'"), reference_fingerprint(key, b));
  // The key stays with the database: reopened, an unchanged listing is compared by the stored
  // fingerprints (a new Store has no digest of its own yet) and writes nothing.
  ASSERT_TRUE(reopen());
  EXPECT_EQ(text("SELECT value FROM meta WHERE name='fingerprint_key'"), key);
  auto w = sync({a, b}, 2100);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->history_rows, 0);
  EXPECT_EQ(w->changed, 0);
}

// The fingerprints are keyed, each database by its own random key: nobody who names a code can
// choose a name whose fingerprint, with a changed usage or expiry, equals the stored one (as they
// could with FNV-1a), so no change goes unseen for it.
TEST_F(StoreTest, FingerprintsAreKeyedByADatabaseOfItsOwn) {
  ASSERT_TRUE(sync({code("a", 7, 1000)}, 2000));
  const auto here = count("SELECT fingerprint FROM codes WHERE code_id='a'");
  auto other = Store::open((dir / "other.db").string());
  ASSERT_TRUE(other) << other.error().message;
  ASSERT_TRUE((*other)->record_success(scope, {code("a", 7, 1000)}, RunInfo{1999, 2000, 0.5, 1}, 2000));
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2((*other)->handle(), "SELECT fingerprint FROM codes", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  const auto there = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  EXPECT_NE(here, there);
  // And one field changed changes it.
  ASSERT_TRUE(sync({code("a", 8, 1000)}, 2100));
  EXPECT_NE(count("SELECT fingerprint FROM codes WHERE code_id='a'"), here);
}

// A fingerprint that does not match its row's values (edited, or written under another key) makes
// the run read the row: the same values are no change, and the fingerprint is put right.
TEST_F(StoreTest, AFingerprintThatMatchesNothingIsPutRightWithoutAChange) {
  ASSERT_TRUE(sync({code("a"), code("b", 3)}, 2000));
  const std::string key = text("SELECT value FROM meta WHERE name='fingerprint_key'");
  ASSERT_EQ(
      sqlite3_exec(store->handle(), "UPDATE codes SET fingerprint=42 WHERE code_id='b'", nullptr, nullptr, nullptr),
      SQLITE_OK);
  ASSERT_TRUE(reopen());  // a new Store: no digest of its own, the listing is compared code by code
  auto w = sync({code("a"), code("b", 3)}, 2100);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->changed, 0);
  EXPECT_EQ(w->history_rows, 0);
  EXPECT_EQ(count("SELECT fingerprint FROM codes WHERE code_id='b'"), reference_fingerprint(key, code("b", 3)));
}

// Fingerprints computed with the other algorithm (by an acmon whose OpenSSL lacked SipHash) are
// computed again under this one, with the same key, and the algorithm is recorded.
TEST_F(StoreTest, FingerprintsOfAnotherAlgorithmAreComputedAgain) {
  ASSERT_TRUE(sync({code("a"), code("b", 3)}, 2000));
  EXPECT_EQ(text("SELECT value FROM meta WHERE name='fingerprint_algorithm'"), "SipHash-2-4");
  const std::string key = text("SELECT value FROM meta WHERE name='fingerprint_key'");
  ASSERT_EQ(sqlite3_exec(store->handle(),
                         "UPDATE codes SET fingerprint=7; "
                         "UPDATE meta SET value='HMAC-SHA256/64' WHERE name='fingerprint_algorithm'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  ASSERT_TRUE(reopen());
  EXPECT_EQ(text("SELECT value FROM meta WHERE name='fingerprint_algorithm'"), "SipHash-2-4");
  EXPECT_EQ(text("SELECT value FROM meta WHERE name='fingerprint_key'"), key);
  EXPECT_EQ(count("SELECT fingerprint FROM codes WHERE code_id='b'"), reference_fingerprint(key, code("b", 3)));
}

// A database of version 5 (unkeyed FNV-1a fingerprints, no meta table) gets a key at its
// migration, and every stored fingerprint again under it: an unchanged listing still writes
// nothing, a changed one is seen.
TEST_F(StoreTest, AVersion5DatabaseGetsAKeyAndEveryFingerprintAgain) {
  ASSERT_TRUE(sync({code("a"), code("b", 3), code("c")}, 2000));
  ASSERT_TRUE(sync({code("a"), code("b", 3)}, 2100));  // c deleted
  ASSERT_EQ(sqlite3_exec(store->handle(), "UPDATE codes SET fingerprint=12345; DROP TABLE meta; PRAGMA user_version=5",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  ASSERT_TRUE(reopen());
  EXPECT_EQ(count("PRAGMA user_version"), k_schema_version);
  const std::string key = text("SELECT value FROM meta WHERE name='fingerprint_key'");
  ASSERT_EQ(key.size(), 32U) << key;
  EXPECT_EQ(count("SELECT fingerprint FROM codes WHERE code_id='b'"), reference_fingerprint(key, code("b", 3)));
  EXPECT_EQ(count("SELECT count(*) FROM codes WHERE fingerprint=12345"), 0);  // the deleted one too
  auto same = sync({code("a"), code("b", 3)}, 2200);
  ASSERT_TRUE(same) << same.error().message;
  EXPECT_EQ(same->history_rows, 0);
  auto used = sync({code("a"), code("b", 4)}, 2300);
  ASSERT_TRUE(used) << used.error().message;
  EXPECT_EQ(used->changed, 1);
  // A key edited into something else is replaced, and the fingerprints follow it.
  ASSERT_EQ(sqlite3_exec(store->handle(), "UPDATE meta SET value='not hex' WHERE name='fingerprint_key'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  ASSERT_TRUE(reopen());
  const std::string fresh = text("SELECT value FROM meta WHERE name='fingerprint_key'");
  EXPECT_NE(fresh, key);
  EXPECT_EQ(count("SELECT fingerprint FROM codes WHERE code_id='b'"), reference_fingerprint(fresh, code("b", 4)));
}

// Rows are written many to a statement: every row, of every code, with its own values, whatever
// the count (full batches and a remainder).
TEST_F(StoreTest, ManyCodesAreEachWrittenWithTheirOwnRowAndHistory) {
  std::vector<Code> codes;
  codes.reserve(70);
  for (int i = 0; i < 70; ++i) {
    codes.push_back(code("c" + std::to_string(i), 1, 100 + i));
  }
  auto first = sync(codes, 2000);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->created, 70);
  EXPECT_EQ(first->history_rows, 70);
  EXPECT_EQ(count("SELECT count(*) FROM codes WHERE limit_count = 100 + CAST(substr(code_id, 2) AS INTEGER)"), 70);
  EXPECT_EQ(count("SELECT count(DISTINCT code_id) FROM history WHERE event='created' AND "
                  "limit_count = 100 + CAST(substr(code_id, 2) AS INTEGER)"),
            70);
  for (int i = 0; i < 40; ++i) {
    codes[static_cast<std::size_t>(i)].registered = 2 + i;
  }
  auto second = sync(codes, 3000);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->changed, 40);
  EXPECT_EQ(second->history_rows, 40);
  EXPECT_EQ(count("SELECT count(*) FROM codes WHERE registered = 2 + CAST(substr(code_id, 2) AS INTEGER) AND "
                  "changed_at = 3000 AND first_seen = 2000"),
            40);
  EXPECT_EQ(count("SELECT count(*) FROM history WHERE at = 3000 AND event='used' AND "
                  "detail = 'used +' || (1 + CAST(substr(code_id, 2) AS INTEGER))"),
            40);
  codes.resize(65);
  auto third = sync(codes, 4000);
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ(third->deleted, 5);
  EXPECT_EQ(third->history_rows, 5);
  EXPECT_EQ(count("SELECT count(*) FROM history WHERE at = 4000 AND event='deleted' AND detail='no longer listed' "
                  "AND limit_count = 100 + CAST(substr(code_id, 2) AS INTEGER)"),
            5);
}

TEST_F(StoreTest, LastSeenIsTheScopesLastCompleteListing) {
  ASSERT_TRUE(sync({code("a")}, 2000));
  ASSERT_TRUE(sync({code("a")}, 5000));
  auto codes = store->codes({}, 5000);
  ASSERT_EQ(codes->size(), 1U);
  EXPECT_EQ((*codes)[0].first_seen, 2000);
  EXPECT_EQ((*codes)[0].last_seen, 5000);
  EXPECT_EQ((*codes)[0].collector, "prod-smc");
}

TEST_F(StoreTest, ACodeMissingFromACompleteListingBecomesDeleted) {
  ASSERT_TRUE(sync({code("a"), code("b")}, 2000));
  auto r = sync({code("a")}, 3000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->deleted, 1);
  auto live = store->codes({}, 3000);
  ASSERT_EQ(live->size(), 1U);
  EXPECT_EQ((*live)[0].code.id, "a");
  CodeFilter deleted;
  deleted.state = CodeState::deleted;
  auto gone = store->codes(deleted, 3000);
  ASSERT_EQ(gone->size(), 1U);
  EXPECT_EQ((*gone)[0].code.id, "b");
  EXPECT_EQ((*gone)[0].deleted_at, 3000);
  auto h = store->history("b", std::nullopt);
  ASSERT_EQ(h->size(), 2U);
  EXPECT_EQ((*h)[1].event, "deleted");
  // Listed again: restored.
  ASSERT_TRUE(sync({code("a"), code("b")}, 4000));
  EXPECT_EQ(store->codes({}, 4000)->size(), 2U);
  EXPECT_EQ(store->history("b", std::nullopt)->back().event, "restored");
}

TEST_F(StoreTest, AFailedRunChangesNoCodeAndIsRecorded) {
  ASSERT_TRUE(sync({code("a"), code("b")}, 2000));
  auto r = store->record_failure(scope, "api error Throttling.User: slow down", RunInfo{2999, 3000, 1.5, 3});
  ASSERT_TRUE(r);
  auto codes = store->codes({}, 3000);
  EXPECT_EQ(codes->size(), 2U);
  EXPECT_EQ((*codes)[0].last_seen, 2000);
  EXPECT_EQ(count("SELECT count(*) FROM history"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM runs WHERE ok=0 AND error LIKE '%Throttling.User%' AND pages=3"), 1);
  auto scopes = store->scopes();
  ASSERT_EQ(scopes->size(), 1U);
  EXPECT_FALSE((*scopes)[0].last_ok);
  EXPECT_EQ((*scopes)[0].last_success_at, 2000);
  EXPECT_EQ((*scopes)[0].consecutive_failures, 1);
  EXPECT_EQ((*scopes)[0].failures, 1);
  EXPECT_EQ((*scopes)[0].successes, 1);
  EXPECT_EQ((*scopes)[0].codes, 2);
}

TEST_F(StoreTest, StatesAreDerivedAndAnExpiryIsAnEventOnce) {
  Code soon = code("soon");
  soon.expires_at = 5000;
  Code full = code("full", 10, 10);
  Code off = code("off");
  off.api_status = "disabled";
  ASSERT_TRUE(sync({soon, full, off}, 2000));
  auto at = [&](UnixTime now, const std::string& id) {
    const auto codes = store->codes({}, now);
    for (const auto& c : *codes) {
      if (c.code.id == id) {
        return c.state;
      }
    }
    return CodeState::deleted;
  };
  EXPECT_EQ(at(2000, "soon"), CodeState::active);
  EXPECT_EQ(at(5000, "soon"), CodeState::expired);
  EXPECT_EQ(at(2000, "full"), CodeState::exhausted);
  EXPECT_EQ(at(2000, "off"), CodeState::disabled);
  ASSERT_TRUE(sync({soon, full, off}, 6000));
  ASSERT_TRUE(sync({soon, full, off}, 7000));
  auto h = store->history("soon", std::nullopt);
  ASSERT_EQ(h->size(), 2U);
  EXPECT_EQ((*h)[1].event, "expired");
  CodeFilter f;
  f.state = CodeState::exhausted;
  EXPECT_EQ(store->codes(f, 7000)->size(), 1U);
}

TEST_F(StoreTest, FiltersByProductAndAccount) {
  ASSERT_TRUE(sync({code("a")}, 2000));
  Scope ecs{"ops-ecs", config::Product::ecs, "ops", "cn-hangzhou", ""};
  Code e = code("e");
  e.product = config::Product::ecs;
  e.account = "ops";
  e.region = "cn-hangzhou";
  ASSERT_TRUE(store->record_success(ecs, {e}, RunInfo{1, 2, 0, 1}, 2000));
  CodeFilter f;
  f.product = config::Product::ecs;
  EXPECT_EQ(store->codes(f, 2000)->size(), 1U);
  f = {};
  f.account = "prod";
  auto prod = store->codes(f, 2000);
  ASSERT_EQ(prod->size(), 1U);
  EXPECT_EQ((*prod)[0].code.id, "a");
  EXPECT_EQ(store->codes({}, 2000)->size(), 2U);
}

TEST_F(StoreTest, PruneDropsOldHistoryAndOldRunsButKeepsTheLatestRun) {
  ASSERT_TRUE(sync({code("a"), code("b")}, 2000));
  ASSERT_TRUE(sync({code("a", 5)}, 3000));
  ASSERT_TRUE(sync({code("a", 6)}, 9000));
  auto removed = store->prune(5000);
  ASSERT_TRUE(removed);
  EXPECT_GT(*removed, 0);
  EXPECT_EQ(count("SELECT count(*) FROM history WHERE at < 5000"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM history"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM codes WHERE code_id='b'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM runs"), 1);
  EXPECT_EQ(store->codes({}, 9000)->size(), 1U);
}

TEST_F(StoreTest, AReaderSeesCommittedStateWhileAWriterWorks) {
  ASSERT_TRUE(sync({code("a")}, 2000));
  auto reader = Store::open(path);
  ASSERT_TRUE(reader);
  ASSERT_EQ(sqlite3_exec(store->handle(), "BEGIN IMMEDIATE; UPDATE codes SET name='x'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto codes = (*reader)->codes({}, 2000);  // not blocked by the open write transaction (WAL)
  ASSERT_TRUE(codes) << codes.error().message;
  EXPECT_EQ((*codes)[0].code.name, "n-a");
  ASSERT_EQ(sqlite3_exec(store->handle(), "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
}

// Item: the read-only open (acmon codes, alerts, history) never makes a database: a path naming no
// file is an error naming it, and nothing is there afterwards.
TEST_F(StoreTest, AReadOnlyOpenNeverMakesTheFile) {
  for (const auto& missing : {dir / "typo.db", dir / "no" / "such" / "dir.db"}) {
    auto s = Store::open_read_only(missing.string());
    ASSERT_FALSE(s) << missing;
    EXPECT_NE(s.error().message.find("database " + missing.string() + ": no such file"), std::string::npos)
        << s.error().message;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      EXPECT_FALSE(fs::exists(missing.string() + suffix)) << missing << suffix;
    }
  }
  EXPECT_FALSE(fs::exists(dir / "no"));
}

// Item: a read-only Store reads beside a writer (WAL): not blocked by its open transaction, and it
// sees each commit; it writes nothing itself, and its write methods refuse.
TEST_F(StoreTest, AReadOnlyStoreReadsBesideAWriterAndWritesNothing) {
  ASSERT_TRUE(sync({code("a")}, 2000));
  auto reader = Store::open_read_only(path);
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_TRUE((*reader)->read_only());
  ASSERT_EQ(sqlite3_exec(store->handle(), "BEGIN IMMEDIATE; UPDATE codes SET name='x'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto codes = (*reader)->codes({}, 2000);
  ASSERT_TRUE(codes) << codes.error().message;
  ASSERT_EQ(codes->size(), 1U);
  EXPECT_EQ((*codes)[0].code.name, "n-a");
  ASSERT_EQ(sqlite3_exec(store->handle(), "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_TRUE(sync({code("a"), code("b")}, 3000));
  codes = (*reader)->codes({}, 3000);
  ASSERT_TRUE(codes) << codes.error().message;
  EXPECT_EQ(codes->size(), 2U);
  auto history = (*reader)->history("b", std::nullopt);
  ASSERT_TRUE(history) << history.error().message;
  EXPECT_EQ(history->size(), 1U);
  ASSERT_TRUE((*reader)->alerts(true));
  ASSERT_TRUE((*reader)->members());

  const auto runs = count("SELECT count(*) FROM runs");
  auto failed = (*reader)->record_failure(scope, "boom", RunInfo{4000, 4000, 0.1, 0});
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("opened read-only"), std::string::npos) << failed.error().message;
  EXPECT_FALSE((*reader)->record_success(scope, {code("c")}, RunInfo{4000, 4000, 0.1, 1}, 4000));
  EXPECT_FALSE((*reader)->reconcile_alerts({expiring("a")}, 4000));
  EXPECT_FALSE((*reader)->store_members("org", {}, 4000));
  EXPECT_FALSE((*reader)->prune(10000));
  EXPECT_EQ(count("SELECT count(*) FROM runs"), runs);
  EXPECT_EQ(count("SELECT count(*) FROM alerts"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM codes"), 2);
}

// Item: a read-only open takes the schema as it finds it: an older one is refused (the daemon or
// `acmon migrate` upgrades it), a newer one too, and neither is changed; at the current version,
// nothing the read-write open would add (the fingerprint key) is written.
TEST_F(StoreTest, AReadOnlyOpenRefusesAnotherSchemaAndChangesNothing) {
  ASSERT_TRUE(sync({code("a")}, 2000));
  auto user_version = [&]() { return count("PRAGMA user_version"); };
  ASSERT_EQ(sqlite3_exec(store->handle(), "PRAGMA user_version=6", nullptr, nullptr, nullptr), SQLITE_OK);
  auto older = Store::open_read_only(path);
  ASSERT_FALSE(older);
  EXPECT_NE(older.error().message.find("database " + path + ": schema version 6 is older than this acmon's (" +
                                       std::to_string(k_schema_version) + ")"),
            std::string::npos)
      << older.error().message;
  EXPECT_NE(older.error().message.find("acmon migrate"), std::string::npos) << older.error().message;
  EXPECT_EQ(user_version(), 6);

  ASSERT_EQ(sqlite3_exec(store->handle(), "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  auto newer = Store::open_read_only(path);
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().message.find("schema version 99 is newer than this acmon knows"), std::string::npos)
      << newer.error().message;
  EXPECT_EQ(user_version(), 99);

  const std::string set = "PRAGMA user_version=" + std::to_string(k_schema_version) + "; DELETE FROM meta";
  ASSERT_EQ(sqlite3_exec(store->handle(), set.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  auto current = Store::open_read_only(path);
  ASSERT_TRUE(current) << current.error().message;
  EXPECT_EQ((*current)->opened_schema_version(), k_schema_version);
  auto codes = (*current)->codes({}, 2000);
  ASSERT_TRUE(codes) << codes.error().message;
  EXPECT_EQ(codes->size(), 1U);
  EXPECT_EQ(count("SELECT count(*) FROM meta"), 0);
}

// Item: the database holds who uses which code: it is created 0600, and so are its -wal and
// -shm files (SQLite gives them the database's mode), whatever the umask.
TEST_F(StoreTest, TheDatabaseAndItsWalFilesAreCreatedOwnerOnly) {
  store.reset();
  fs::remove(path);
  const auto old_mask = ::umask(022);
  auto s = Store::open(path);
  ::umask(old_mask);
  ASSERT_TRUE(s) << s.error().message;
  store = std::move(*s);
  ASSERT_TRUE(sync({code("a")}, 2000));
  for (const auto& f : {path, path + "-wal", path + "-shm"}) {
    ASSERT_TRUE(fs::exists(f)) << f;
    EXPECT_EQ(fs::status(f).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write) << f;
  }
}

// Item: pruning in small steps removes what prune() removes, a bounded number of rows at a time.
TEST_F(StoreTest, PruneStepsRemoveWhatPruneRemovesInBoundedBatches) {
  std::vector<Code> many;
  many.reserve(10);
  for (int i = 0; i < 10; ++i) {
    many.push_back(code("c" + std::to_string(i)));
  }
  ASSERT_TRUE(sync(many, 2000));             // 10 history rows at 2000
  ASSERT_TRUE(sync({code("c0", 5)}, 3000));  // 1 change, 9 deletions at 3000
  ASSERT_TRUE(sync({code("c0", 6)}, 9000));  // 1 change at 9000
  std::vector<std::int64_t> removed;
  for (int guard = 0; guard < 50; ++guard) {
    auto step = store->prune_step(5000, 4);
    ASSERT_TRUE(step) << step.error().message;
    removed.push_back(step->removed);
    EXPECT_LE(step->removed, 4 * 4);
    if (step->done) {
      break;
    }
  }
  EXPECT_GT(removed.size(), 2U);  // it took several steps
  EXPECT_EQ(count("SELECT count(*) FROM history WHERE at < 5000"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM history"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM codes WHERE deleted_at IS NOT NULL"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM runs"), 1);
  EXPECT_EQ(store->codes({}, 9000)->size(), 1U);
}

// Item: a database deleted or replaced under an open Store refuses writes, naming the path.
TEST_F(StoreTest, WritesAreRefusedOnceTheFileIsReplacedOrDeleted) {
  ASSERT_TRUE(sync({code("a")}, 2000));
  ASSERT_TRUE(store->check_file());
  fs::rename(path, path + ".moved");
  { std::ofstream(path) << ""; }
  auto r = sync({code("a", 2)}, 3000);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(path + " was replaced"), std::string::npos) << r.error().message;
  fs::remove(path);
  auto f = store->record_failure(scope, "x", RunInfo{2999, 3000, 1, 1});
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find(path + " was deleted"), std::string::npos) << f.error().message;
}

// Item: one writer per database: a second lock on the same database fails naming it and the holder.
TEST_F(StoreTest, OnlyOneWriterLockPerDatabase) {
  auto first = WriterLock::acquire(path);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(fs::status(path + ".lock").permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  // flock locks belong to the open file description: a second open in this process conflicts too.
  auto second = WriterLock::acquire(path);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("database " + path + " is in use by another acmon run (pid " +
                                        std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.error().message;
  { auto released = std::move(*first); }
  EXPECT_TRUE(WriterLock::acquire(path));
}

// An id is unique only within its scope: two regions of one collector may list the same id, and
// each is its own code with its own history. Their forecasts come each from its own history.
TEST_F(StoreTest, TheSameIdInTwoScopesOfACollectorIsForecastFromItsOwnHistory) {
  const Scope east{"prod-ecs", config::Product::ecs, "prod", "cn-east", ""};
  const Scope west{"prod-ecs", config::Product::ecs, "prod", "cn-west", ""};
  auto ecs = [](const std::string& region, std::int64_t used) {
    Code c = code("act-1", used, 100);
    c.product = config::Product::ecs;
    c.region = region;
    c.api_status = "enabled";
    return c;
  };
  const UnixTime t0 = 1'000'000;
  // East is used 10 an hour; west stays at 50 (flat: no forecast).
  for (int h = 0; h <= 3; ++h) {
    const UnixTime at = t0 + h * 3600;
    ASSERT_TRUE(store->record_success(east, {ecs("cn-east", 10 + 10 * h)}, RunInfo{at - 1, at, 0.5, 1}, at));
    ASSERT_TRUE(store->record_success(west, {ecs("cn-west", 50)}, RunInfo{at - 1, at, 0.5, 1}, at));
  }
  const UnixTime now = t0 + 3 * 3600 + 60;
  auto codes = store->codes({}, now);
  ASSERT_TRUE(codes) << codes.error().message;
  ASSERT_EQ(codes->size(), 2U);
  for (const auto& s : *codes) {
    SCOPED_TRACE(s.code.region);
    if (s.code.region == "cn-east") {
      // 40 used, 60 to go at 10 an hour: 6 hours after the last listing.
      ASSERT_TRUE(s.exhaustion_forecast);
      EXPECT_EQ(*s.exhaustion_forecast, t0 + 9 * 3600);
    } else {
      EXPECT_FALSE(s.exhaustion_forecast) << "a flat code was forecast from another scope's history";
    }
  }
}
