// A simulator on loopback and a real client (libcurl) talking to it.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "acmon/core/api.hpp"
#include "acmon/core/config.hpp"
#include "acmon/sim/simulator.hpp"
#include "doubles.hpp"

namespace acmon::testing {

using KeyProvider = FixedCredentials;

inline nlohmann::json smc_token(const std::string& id, int count = 100, int used = 5) {
  return {{"_account", "AKID"},
          {"AccessTokenId", id},
          {"TimeToLiveInDays", "30"},
          {"Count", std::to_string(count)},
          {"RegisteredCount", std::to_string(used)},
          {"CreationTime", "2022-09-09T02:35:44Z"},
          {"Status", "activated"},
          {"Name", "test_name"},
          {"Description", "This is an activation code"}};
}

class SimTest : public ::testing::Test {
 protected:
  void start(nlohmann::json data) {
    if (!data.contains("accounts")) {
      data["accounts"] = {{{"access_key_id", "AKID"}, {"access_key_secret", "sim-secret"}},
                          {{"access_key_id", "STSID"}, {"access_key_secret", "sts-secret"}, {"security_token", "tok"}}};
    }
    // A fresh client per simulator: idle keep-alive connections would hold up its stop().
    client.reset();
    transport_ptr = std::make_unique<http::CurlTransport>();
    sim = std::make_unique<sim::Simulator>(data);
    sim->start();
    client = std::make_unique<api::Client>(*transport_ptr, clock, sleeper, policy);
  }

  // The simulator with a Resource Directory: the management account `management` (AccessKey
  // AKMGMT, mgmt-secret), whose directory holds `members` (the management account listed among
  // them as the caller gives it), and the AKID account. Returns the organization "corp" that reads
  // it through the configured account "mgmt".
  config::Organization start_directory(const nlohmann::json& members, const std::string& management) {
    start({{"accounts",
            {{{"account_id", management}, {"access_key_id", "AKMGMT"}, {"access_key_secret", "mgmt-secret"}},
             {{"access_key_id", "AKID"}, {"access_key_secret", "sim-secret"}}}},
           {"resource_directory", {{"management", management}, {"members", members}}}});
    config::Organization org;
    org.name = "corp";
    org.account = "mgmt";
    org.endpoint = sim->base_url();
    return org;
  }

  api::Call call(const std::string& action, signing::Params params = {},
                 config::SignatureVersion v = config::SignatureVersion::v3) {
    static const std::map<std::string, config::Product> k{{"ListAccessTokens", config::Product::smc},
                                                          {"CreateAccessToken", config::Product::smc},
                                                          {"DescribeActivations", config::Product::ecs},
                                                          {"DescribeRegions", config::Product::ecs},
                                                          {"DescribeActivationCodes", config::Product::polardb}};
    api::Call c;
    c.product = config::to_string(k.at(action));
    c.version = config::api_version(k.at(action));
    c.action = action;
    c.endpoint = sim->base_url();
    c.params = std::move(params);
    c.signature = v;
    c.timeout = std::chrono::milliseconds(5000);
    return c;
  }

  Result<nlohmann::json> run(const api::Call& c, CredentialProvider* p = nullptr) {
    return client->call(c, p != nullptr ? *p : provider);
  }

  void TearDown() override {
    client.reset();
    transport_ptr.reset();
    sim.reset();
  }

  SystemClock clock;
  RecordingSleeper sleeper;
  api::RetryPolicy policy{4, std::chrono::milliseconds(10), std::chrono::milliseconds(40)};
  std::unique_ptr<http::CurlTransport> transport_ptr;
  std::unique_ptr<api::Client> client;
  std::unique_ptr<sim::Simulator> sim;
  KeyProvider provider{"AKID", "sim-secret"};
};

}  // namespace acmon::testing
