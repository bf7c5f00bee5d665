// An organization's members through the simulator's Resource Directory: every page of ListAccounts,
// usable statuses only, the management account, and errors instead of a partial list.
#include <gtest/gtest.h>

#include "acmon/collectors/directory.hpp"
#include "sim_fixture.hpp"

using namespace acmon;
using acmon::testing::SimTest;

namespace {

constexpr const char* k_mgmt = "1000000000000001";

class DirectoryTest : public SimTest {
 protected:
  // The management account listed itself, then n members: every third one still being created.
  void start_members(int n) {
    nlohmann::json members = nlohmann::json::array();
    members.push_back({{"account_id", k_mgmt}, {"display_name", "Management"}, {"status", "CreateSuccess"}});
    for (int i = 1; i <= n; ++i) {
      char id[32];
      std::snprintf(id, sizeof id, "2%015d", i);
      members.push_back({{"account_id", id},
                         {"display_name", "member-" + std::to_string(i)},
                         {"status", i % 3 == 0 ? "CreateVerifying" : (i % 3 == 1 ? "CreateSuccess" : "InviteSuccess")},
                         {"folder_id", "fd-" + std::to_string(i % 2)}});
    }
    org = start_directory(members, k_mgmt);
  }

  config::Organization org;
  acmon::testing::KeyProvider mgmt{"AKMGMT", "mgmt-secret"};
};

}  // namespace

TEST_F(DirectoryTest, ListsEveryPageAndOnlyUsableMembers) {
  start_members(150);  // 151 accounts: two pages of 100
  auto d = collectors::list_directory(org, *client, mgmt);
  ASSERT_TRUE(d) << d.error().describe();
  EXPECT_EQ(d->pages, 3);  // GetResourceDirectory and two pages
  ASSERT_EQ(d->members.size(), 1U + 100U);
  EXPECT_TRUE(d->members[0].management);
  EXPECT_EQ(d->members[0].account_id, k_mgmt);
  EXPECT_EQ(d->members[1].account_id, "2000000000000001");
  EXPECT_EQ(d->members[1].display_name, "member-1");
  EXPECT_EQ(d->members[1].status, "CreateSuccess");
  EXPECT_EQ(d->members[1].folder_id, "fd-1");
  EXPECT_FALSE(d->members[1].management);
  EXPECT_EQ(d->skipped.size(), 50U);
  for (const auto& m : d->skipped) {
    EXPECT_EQ(m.status, "CreateVerifying") << m.account_id;
  }
}

TEST_F(DirectoryTest, WithoutTheManagementAccount) {
  start_members(2);
  org.include_management = false;
  auto d = collectors::list_directory(org, *client, mgmt);
  ASSERT_TRUE(d) << d.error().describe();
  ASSERT_EQ(d->members.size(), 2U);
  EXPECT_FALSE(d->members[0].management);
  ASSERT_EQ(d->skipped.size(), 1U);
  EXPECT_EQ(d->skipped[0].account_id, k_mgmt);
}

TEST_F(DirectoryTest, OnlyTheManagementAccountMayList) {
  start_members(2);
  auto d = collectors::list_directory(org, *client, provider);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, "EntityNotExists.ResourceDirectory");
  EXPECT_NE(d.error().message.find("organization corp"), std::string::npos) << d.error().message;
}

TEST_F(DirectoryTest, AnIncompleteListingIsAnError) {
  start_members(150);
  // A second page that fails, a total that changes, a total never reached, an empty page early:
  // each is an error, never the members read so far.
  for (const auto& fault :
       {nlohmann::json{{"kind", "error"}, {"code", "Forbidden"}, {"status", 403}, {"after", 1}},
        nlohmann::json{{"kind", "lie_total"}, {"times", 1}}, nlohmann::json{{"kind", "lie_total"}, {"times", 0}},
        nlohmann::json{{"kind", "empty_page"}, {"times", 1}}}) {
    auto f = fault;
    f["action"] = "ListAccounts";
    sim->set_faults(nlohmann::json::array({f}));
    auto d = collectors::list_directory(org, *client, mgmt);
    EXPECT_FALSE(d) << f.dump();
    if (!d) {
      EXPECT_NE(d.error().message.find("organization corp: ListAccounts page"), std::string::npos) << d.error().message;
    }
  }
  sim->set_faults(nlohmann::json::array());
  EXPECT_TRUE(collectors::list_directory(org, *client, mgmt));
}
