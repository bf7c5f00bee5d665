// An organisation in the simulator (a management account, a member with roles, another account),
// with STS, an OIDC provider, the metadata service and a credentials URI, for the credential tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "acmon/core/credentials.hpp"
#include "acmon/core/crypto.hpp"
#include "acmon/sim/simulator.hpp"

namespace acmon::testing {

constexpr const char* k_mgmt = "1000000000000001";
constexpr const char* k_member = "2000000000000002";
constexpr const char* k_oidc_provider = "acs:ram::1000000000000001:oidc-provider/ack";

inline std::string role_arn(const std::string& account, const std::string& name) {
  return "acs:ram::" + account + ":role/" + name;
}

inline nlohmann::json org_token(const std::string& account, const std::string& id) {
  return {{"_account", account},      {"AccessTokenId", id},
          {"TimeToLiveInDays", "30"}, {"Count", "10"},
          {"RegisteredCount", "1"},   {"CreationTime", "2026-01-01T00:00:00Z"},
          {"Status", "activated"},    {"Name", id}};
}

inline nlohmann::json org_data() {
  using nlohmann::json;
  return {
      {"accounts",
       {{{"account_id", k_mgmt},
         {"access_key_id", "LTAImgmt"},
         {"access_key_secret", "mgmt-secret"},
         {"roles",
          {{{"name", "acmon-pod"}, {"trust", {k_oidc_provider}}}, {{"name", "EcsRole"}, {"trust", {k_mgmt}}}}}},
        {{"account_id", k_mgmt}, {"access_key_id", "LTAIroot"}, {"access_key_secret", "root-secret"}, {"root", true}},
        {{"account_id", k_member},
         {"roles",
          {{{"name", "ResourceDirectoryAccountAccessRole"}, {"trust", {k_mgmt}}},
           {{"name", "with-external"}, {"trust", {k_mgmt}}, {"external_id", "ext-123"}},
           {{"name", "strangers"}, {"trust", {"3000000000000003"}}}}}},
        {{"account_id", "3000000000000003"}, {"access_key_id", "LTAIother"}, {"access_key_secret", "other-secret"}}}},
      {"oidc_providers",
       {{{"arn", k_oidc_provider}, {"issuer", "https://oidc.example"}, {"audiences", {"sts.aliyuncs.com"}}}}},
      {"ecs_metadata", {{"role", role_arn(k_mgmt, "EcsRole")}}},
      {"credentials_uri", {{"role", role_arn(k_member, "ResourceDirectoryAccountAccessRole")}}},
      {"smc",
       {org_token(k_member, "at-member-1"), org_token(k_member, "at-member-2"), org_token("LTAImgmt", "at-mgmt-1")}},
  };
}

inline std::string base64url(const std::string& raw) {
  std::string b = crypto::base64(raw);
  for (auto& c : b) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  while (!b.empty() && b.back() == '=') {
    b.pop_back();
  }
  return b;
}

// A JWT as Kubernetes projects it (the simulator checks its claims, not its signature).
inline std::string oidc_token(const std::string& jti, std::int64_t exp, const std::string& aud = "sts.aliyuncs.com",
                              const std::string& iss = "https://oidc.example") {
  const nlohmann::json claims = {
      {"iss", iss}, {"aud", aud}, {"exp", exp}, {"jti", jti}, {"sub", "system:serviceaccount:acmon:acmon"}};
  return base64url(R"({"alg":"RS256","kid":"k"})") + "." + base64url(claims.dump()) + ".c2lnbmF0dXJl";
}

}  // namespace acmon::testing
