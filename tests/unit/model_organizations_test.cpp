// [[organizations]]: what is read, the defaults, collectors naming an organization, and each error
// with its file, line and key; model::watched for the members of an organization.
#include <gtest/gtest.h>

#include "acmon/core/config.hpp"
#include "acmon/model/scope.hpp"
#include "config_errors.hpp"

using namespace acmon::config;
using acmon::testing::expect_error;

namespace {

// Lines 1-4: the management account; line 5 the organization's table.
const std::string k_head =
    "[[accounts]]\nname = \"mgmt\"\naccess_key_id = \"LTAIexample\"\naccess_key_secret_env = \"S\"\n"
    "[[organizations]]\nname = \"corp\"\naccount = \"mgmt\"\n";

}  // namespace

TEST(OrganizationsConfig, ReadsKeysAndDefaults) {
  const Config c = parse(k_head + R"(
[[organizations]]
name = "other"
account = "mgmt"
role = "acmon-reader"
include_management = false
refresh = "30m"
endpoint = "http://127.0.0.1:8080"

[[collectors]]
account = "corp"
product = "smc"
)",
                         "acmon.toml");
  ASSERT_EQ(c.organizations.size(), 2U);
  const auto& corp = c.organizations[0];
  EXPECT_EQ(corp.role, "ResourceDirectoryAccountAccessRole");
  EXPECT_TRUE(corp.include_management);
  EXPECT_EQ(corp.refresh, 3600);
  EXPECT_EQ(corp.endpoint, "https://resourcemanager.aliyuncs.com");
  const auto& other = c.organizations[1];
  EXPECT_EQ(other.role, "acmon-reader");
  EXPECT_FALSE(other.include_management);
  EXPECT_EQ(other.refresh, 1800);
  EXPECT_EQ(other.endpoint, "http://127.0.0.1:8080");
  ASSERT_EQ(c.collectors.size(), 1U);
  EXPECT_EQ(c.collectors[0].name, "corp-smc");
  EXPECT_EQ(c.organization_of(c.collectors[0]), &c.organizations[0]);
}

TEST(OrganizationsConfig, ErrorsNameTheKeyAndPlace) {
  expect_error(
      "[[accounts]]\nname = \"mgmt\"\naccess_key_id = \"LTAIexample\"\naccess_key_secret_env = \"S\"\n"
      "[[organizations]]\nname = \"corp\"\naccount = \"nobody\"\n",
      7, "organizations[0].account", "no [[accounts]] entry is named 'nobody'");
  expect_error(
      "[[accounts]]\nname = \"mgmt\"\naccess_key_id = \"LTAIexample\"\naccess_key_secret_env = \"S\"\n"
      "[[organizations]]\nname = \"mgmt\"\naccount = \"mgmt\"\n",
      6, "organizations[0].name", "also the name of an [[accounts]] entry");
  expect_error(k_head + "[[organizations]]\nname = \"corp\"\naccount = \"mgmt\"\n", 9, "organizations[1].name",
               "defined twice");
  expect_error(k_head + "refresh = \"soon\"\n", 8, "organizations[0].refresh", "not a duration");
  expect_error(k_head + "refresh = \"400d\"\n", 8, "organizations[0].refresh", "at most 366d");
  expect_error(k_head + "include_management = \"yes\"\n", 8, "organizations[0].include_management",
               "expected true or false");
  expect_error(k_head + "role = \"a/b\"\n", 8, "organizations[0].role", "not a RAM role name");
  expect_error(k_head + "endpoint = \"https://x/path\"\n", 8, "organizations[0].endpoint", "http(s)://HOST");
  expect_error(k_head + "colour = \"red\"\n", 8, "organizations[0].colour", "unknown key");
  expect_error(k_head + "[[collectors]]\naccount = \"corpx\"\nproduct = \"smc\"\n", 9, "collectors[0].account",
               "no [[accounts]] entry is named 'corpx', nor an [[organizations]] entry");
}

TEST(OrganizationsConfig, MembersThatLeftAreNotWatched) {
  Config c = parse(k_head + "[[collectors]]\naccount = \"corp\"\nproduct = \"smc\"\n", "acmon.toml");
  const acmon::model::Scope member{"corp-smc", Product::smc, "2000000000000002", "", "", "corp"};
  const acmon::model::Scope listing{"corp-smc", Product::smc, "corp", "*", "", "corp"};
  EXPECT_FALSE(acmon::model::watched(c, member));  // not listed yet
  EXPECT_TRUE(acmon::model::watched(c, listing));  // the listing of the members itself
  c.members["corp"] = {{"2000000000000002", "Prod", "CreateSuccess", "fd-1", false}};
  EXPECT_TRUE(acmon::model::watched(c, member));
  c.members["corp"] = {{"3000000000000003", "Other", "CreateSuccess", "fd-1", false}};
  EXPECT_FALSE(acmon::model::watched(c, member));  // it left
  EXPECT_NE(acmon::model::scope_key(member),
            acmon::model::scope_key({"corp-smc", Product::smc, "3000000000000003", "", "", "corp"}));
}
