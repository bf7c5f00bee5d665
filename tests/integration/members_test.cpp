// An organization's members as the daemon keeps them: listed through the simulator's Resource
// Directory and stored in a real SQLite file. A member leaves only when two consecutive listings
// lack it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <set>

#include "acmon/daemon/organizations.hpp"
#include "acmon/db/store.hpp"
#include "sim_fixture.hpp"

using namespace acmon;
using acmon::testing::SimTest;
using nlohmann::json;

namespace {

constexpr const char* k_mgmt = "1000000000000001";

std::string member_id(int i) {
  char id[32];
  std::snprintf(id, sizeof id, "2%015d", i);
  return id;
}

json member(int i) {
  return {{"account_id", member_id(i)}, {"display_name", "member-" + std::to_string(i)}};
}

class MembersTest : public SimTest {
 protected:
  void SetUp() override {
    path = std::filesystem::temp_directory_path() / ("acmon-members-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path);
    // The management account, then 150 members: two pages of ListAccounts (100 a page).
    json members = json::array({{{"account_id", k_mgmt}, {"display_name", "Management"}}});
    for (int i = 1; i <= 150; ++i) {
      members.push_back(member(i));
    }
    org = start_directory(members, k_mgmt);
    auto s = db::Store::open(path.string());
    ASSERT_TRUE(s) << s.error().describe();
    store = std::move(*s);
  }
  void TearDown() override {
    store.reset();
    SimTest::TearDown();
    std::filesystem::remove(path);
  }

  // One listing of the members; the ids it leaves watched, and the ids stored.
  std::set<std::string> list() {
    auto l = daemon::list_members(org, *client, mgmt, *store, store_mutex, clock);
    EXPECT_FALSE(l.error) << l.error->describe();
    std::set<std::string> ids;
    for (const auto& m : l.members) {
      EXPECT_TRUE(ids.insert(m.account_id).second) << m.account_id << " twice";
    }
    auto stored = store->members();
    EXPECT_TRUE(stored);
    std::set<std::string> stored_ids;
    for (const auto& m : (*stored)["corp"]) {
      stored_ids.insert(m.account_id);
    }
    EXPECT_EQ(stored_ids, ids);
    return ids;
  }

  int list_accounts_calls() { return sim->stats()["by_action"].value("ListAccounts", 0); }

  std::filesystem::path path;
  config::Organization org;
  acmon::testing::KeyProvider mgmt{"AKMGMT", "mgmt-secret"};
  std::mutex store_mutex;
  std::unique_ptr<db::Store> store;
};

}  // namespace

TEST_F(MembersTest, AMemberLeavesOnlyWhenTwoConsecutiveListingsLackIt) {
  std::set<std::string> want{k_mgmt};
  for (int i = 1; i <= 150; ++i) {
    want.insert(member_id(i));
  }
  EXPECT_EQ(list(), want);
  EXPECT_EQ(list_accounts_calls(), 2);  // nothing stored was lacking: one listing

  // Member 150 leaves for good before the next listing. Between that listing's pages 1 and 2,
  // member 5 leaves and member 900 joins: member 100 shifts onto page 1, already read, and that
  // listing lacks it. (The faults are listed last first: each then counts every request until it
  // fires.)
  sim->set_faults(json::array(
      {{{"kind", "change"},
        {"action", "ListAccounts"},
        {"after", 1},
        {"remove", json::array({member_id(5)})},
        {"add", json::array({member(900)})}},
       {{"kind", "change"}, {"action", "ListAccounts"}, {"after", 0}, {"remove", json::array({member_id(150)})}}}));
  // Listed twice: member 150, lacked by both listings, leaves; member 100, lacked by the first
  // only, and member 5, lacked by the second only, stay; member 900 joins.
  want.erase(member_id(150));
  want.insert(member_id(900));
  EXPECT_EQ(list(), want);
  EXPECT_EQ(list_accounts_calls(), 2 + 4);

  // The next listing lacks member 5, and so does the one made to confirm it: member 5 leaves.
  sim->set_faults(json::array());
  want.erase(member_id(5));
  EXPECT_EQ(list(), want);
  EXPECT_EQ(list_accounts_calls(), 6 + 4);
  EXPECT_EQ(list(), want);
  EXPECT_EQ(list_accounts_calls(), 10 + 2);
}

// A listing that lacks a stored member and whose second listing fails is a failed listing: the
// members stay as stored.
TEST_F(MembersTest, AFailedSecondListingKeepsTheStoredMembers) {
  const auto before = list();
  sim->set_faults(json::array(
      {{{"kind", "error"},
        {"action", "ListAccounts"},
        {"after", 2},
        {"times", 0},
        {"code", "Forbidden"},
        {"status", 403}},
       {{"kind", "change"}, {"action", "ListAccounts"}, {"after", 0}, {"remove", json::array({member_id(150)})}}}));
  auto l = daemon::list_members(org, *client, mgmt, *store, store_mutex, clock);
  ASSERT_TRUE(l.error);
  EXPECT_EQ(l.error->code, "Forbidden");
  std::set<std::string> ids;
  for (const auto& m : l.members) {
    ids.insert(m.account_id);
  }
  EXPECT_EQ(ids, before);
  EXPECT_EQ(list_accounts_calls(), 2 + 3);
}
