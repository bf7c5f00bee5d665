// The transport's retry and no-retry paths against the simulator's injected faults, over real HTTP.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "sim_fixture.hpp"

using namespace acmon;
using namespace acmon::testing;
using nlohmann::json;

namespace {

// Local ports of the ESTABLISHED IPv4 TCP connections whose remote port is `port`, from
// /proc/net/tcp (this process's loopback connections; the simulator runs in it too, its accepted
// ends have `port` as the local port and are not counted).
std::set<int> client_ports_to(int port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // the header
  std::set<int> out;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string slot;
    std::string local;
    std::string remote;
    std::string state;
    f >> slot >> local >> remote >> state;
    const auto port_of = [](const std::string& addr) {
      return std::stoi(addr.substr(addr.find(':') + 1), nullptr, 16);
    };
    if (state == "01" && port_of(remote) == port) {
      out.insert(port_of(local));
    }
  }
  return out;
}

json with_tokens(json faults) {
  return {{"smc", {smc_token("at-1"), smc_token("at-2")}}, {"faults", std::move(faults)}};
}

}  // namespace

TEST_F(SimTest, TransientThrottleIsRetriedAndSucceeds) {
  start(with_tokens({{{"kind", "throttle"}, {"action", "ListAccessTokens"}, {"times", 2}}}));
  auto r = run(call("ListAccessTokens"));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ((*r)["AccessTokens"].size(), 2U);
  EXPECT_EQ(sleeper.delays.size(), 2U);
  EXPECT_EQ(sim->stats()["faults_fired"], 2);
}

TEST_F(SimTest, PersistentThrottleGivesUpWithTheApiCode) {
  start(with_tokens({{{"kind", "throttle"}, {"times", 0}}}));
  auto r = run(call("ListAccessTokens"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "Throttling.User");
  EXPECT_EQ(sleeper.delays.size(), 3U);
  EXPECT_EQ(sim->stats()["by_action"]["ListAccessTokens"], 4);
}

TEST_F(SimTest, ServerErrorsAreRetried) {
  start(with_tokens({{{"kind", "error500"}, {"times", 1}}, {{"kind", "error503"}, {"times", 1}}}));
  auto r = run(call("ListAccessTokens"));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(sleeper.delays.size(), 2U);
}

TEST_F(SimTest, TruncatedBodyAndDroppedConnectionAreTransportErrorsAndRetried) {
  for (const char* kind : {"truncated", "drop"}) {
    start(with_tokens({{{"kind", kind}, {"after", 1}, {"times", 1}}}));
    sleeper.delays.clear();
    ASSERT_TRUE(run(call("ListAccessTokens")));  // request 1 passes
    auto r = run(call("ListAccessTokens"));      // request 2 is cut, request 3 passes
    ASSERT_TRUE(r) << kind << ": " << r.error().describe();
    EXPECT_EQ(sleeper.delays.size(), 1U) << kind;

    start(with_tokens({{{"kind", kind}, {"times", 0}}}));
    auto fail = run(call("ListAccessTokens"));
    ASSERT_FALSE(fail);
    EXPECT_EQ(fail.error().kind, ErrorKind::network) << kind << ": " << fail.error().describe();
  }
}

TEST_F(SimTest, BodiesThatAreNotJsonAreRetriedThenAParseError) {
  // A cut-short or empty 200 is a transport fault in all but name: retried, and reported as a
  // parse error when it persists.
  for (const char* kind : {"malformed", "short", "empty200"}) {
    start(with_tokens({{{"kind", kind}, {"times", 1}}}));
    sleeper.delays.clear();
    auto once = run(call("ListAccessTokens"));
    ASSERT_TRUE(once) << kind << ": " << once.error().describe();
    EXPECT_EQ((*once)["AccessTokens"].size(), 2U) << kind;
    EXPECT_EQ(sleeper.delays.size(), 1U) << kind;

    start(with_tokens({{{"kind", kind}, {"times", 0}}}));
    sleeper.delays.clear();
    auto r = run(call("ListAccessTokens"));
    ASSERT_FALSE(r) << kind;
    EXPECT_EQ(r.error().kind, ErrorKind::parse) << kind;
    EXPECT_EQ(sleeper.delays.size(), 3U) << kind;
  }
}

// A front end closes an idle keep-alive connection just as the client reuses it: the request is
// read (its nonce used) and no byte comes back. libcurl would re-send the identical signed request
// on its own, which the cloud refuses as SignatureNonceUsed; acmon must sign a new attempt.
TEST_F(SimTest, AConnectionDroppedBeforeAnyByteIsRetriedWithAFreshSignature) {
  start(with_tokens({{{"kind", "reset"}, {"after", 1}, {"times", 1}}}));
  ASSERT_TRUE(run(call("ListAccessTokens")));  // opens the connection that the next call reuses
  for (auto v : {config::SignatureVersion::v3, config::SignatureVersion::v1}) {
    sleeper.delays.clear();
    auto r = run(call("ListAccessTokens", {}, v));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ((*r)["AccessTokens"].size(), 2U);
    sim->set_faults(json::array({{{"kind", "reset"}, {"times", 1}}}));
  }
  // No request reached the simulator twice with one nonce (that would be an auth failure).
  EXPECT_EQ(sim->stats()["auth_failures"], 0);
  EXPECT_EQ(sim->stats()["faults_fired"], 2);

  start(with_tokens({{{"kind", "reset"}, {"times", 0}}}));
  sleeper.delays.clear();
  auto fail = run(call("ListAccessTokens"));
  ASSERT_FALSE(fail);
  EXPECT_EQ(fail.error().kind, ErrorKind::network);
  EXPECT_NE(fail.error().message.find("connection dropped"), std::string::npos) << fail.error().describe();
  EXPECT_EQ(sleeper.delays.size(), 3U);
  EXPECT_EQ(sim->stats()["auth_failures"], 0);
}

TEST_F(SimTest, AnHtml502IsRetried) {
  start(with_tokens({{{"kind", "html502"}, {"times", 1}}}));
  auto r = run(call("ListAccessTokens"));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(sleeper.delays.size(), 1U);
  start(with_tokens({{{"kind", "html502"}, {"times", 0}}}));
  auto fail = run(call("ListAccessTokens"));
  ASSERT_FALSE(fail);
  EXPECT_EQ(fail.error().http_status, 502);
  EXPECT_EQ(fail.error().kind, ErrorKind::http);
}

TEST_F(SimTest, AnAnswerLargerThanTheCapIsRefusedAndNotRetried) {
  json data = with_tokens(json::array());
  // 300 codes of ~8 KiB each: a 2.4 MB page, over a 1 MiB cap set for the test.
  data["smc"] = json::array();
  for (int i = 0; i < 50; ++i) {
    json t = smc_token("at-big-" + std::to_string(i));
    t["Description"] = std::string(40000, 'x');
    data["smc"].push_back(t);
  }
  start(data);
  auto c = call("ListAccessTokens", {{"PageSize", "50"}});
  http::Request req = client->build(c, *provider.get(), clock.now(), "nonce-big");
  req.max_body = std::size_t{1} << 20;
  auto r = transport_ptr->send(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::parse);
  EXPECT_NE(r.error().message.find("exceeds 1 MiB"), std::string::npos) << r.error().describe();
  EXPECT_FALSE(api::is_retryable(r.error()));
}

TEST_F(SimTest, ClientErrorsAreNotRetried) {
  start(with_tokens({{{"kind", "error"}, {"code", "Operation.Forbidden"}, {"status", 403}, {"times", 0}}}));
  auto r = run(call("ListAccessTokens"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "Operation.Forbidden");
  EXPECT_EQ(r.error().http_status, 403);
  EXPECT_TRUE(sleeper.delays.empty());
  EXPECT_EQ(sim->stats()["by_action"]["ListAccessTokens"], 1);
}

TEST_F(SimTest, SlowAnswerTimesOutAndIsRetried) {
  // The first answer is held 5 s; the call gives up on it after 1.5 s and the retry, answered at
  // once, has the same 1.5 s even on a loaded machine or under a sanitizer.
  start(with_tokens({{{"kind", "delay"}, {"delay_ms", 5000}, {"times", 1}}}));
  auto c = call("ListAccessTokens");
  c.timeout = std::chrono::milliseconds(1500);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run(c);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(sleeper.delays.size(), 1U);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(4500));
}

TEST_F(SimTest, SeededProbabilityFaultsAreReproducible) {
  auto fired_for = [&](std::uint64_t seed) {
    start(with_tokens({{{"kind", "error"}, {"code", "X.Y"}, {"status", 400}, {"probability", 0.5}, {"seed", seed}}}));
    std::string pattern;
    for (int i = 0; i < 24; ++i) {
      pattern += run(call("ListAccessTokens")) ? '.' : 'x';
    }
    return pattern;
  };
  const auto a = fired_for(7);
  EXPECT_EQ(a, fired_for(7));
  EXPECT_NE(a.find('x'), std::string::npos);
  EXPECT_NE(a.find('.'), std::string::npos);
}

TEST_F(SimTest, ConnectionRefusedIsANetworkError) {
  start(json::object());
  auto c = call("ListAccessTokens");
  sim.reset();
  auto r = run(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::network);
  EXPECT_EQ(sleeper.delays.size(), 3U);
}

TEST_F(SimTest, FaultsCanBeSetAtRunTimeOverTheControlEndpoint) {
  start(with_tokens(json::array()));
  http::Request req;
  req.method = "POST";
  req.url = sim->base_url() + "/_sim/faults";
  req.body = R"([{"kind":"error","code":"Operation.Forbidden","status":403,"times":1}])";
  auto set = transport_ptr->send(req);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->status, 200);
  auto r = run(call("ListAccessTokens"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "Operation.Forbidden");
  EXPECT_TRUE(run(call("ListAccessTokens")));
  req.body = R"([{"kind":"meteor"}])";
  auto bad = transport_ptr->send(req);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

TEST_F(SimTest, ManyRequestsReuseConnections) {
  start(with_tokens(json::array()));
  const int port = std::stoi(sim->base_url().substr(sim->base_url().rfind(':') + 1));
  // The client's ends of the connections to the simulator: a new connection per request would show
  // up to 300 local ports, a reused one a single port throughout.
  std::set<int> ports;
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(run(call("ListAccessTokens")));
    const auto now = client_ports_to(port);
    ASSERT_EQ(now.size(), 1U) << "established connections to the simulator after request " << i;
    ports.insert(now.begin(), now.end());
  }
  EXPECT_EQ(sim->stats()["requests"], 300);
  EXPECT_EQ(ports.size(), 1U) << "connections opened for 300 requests";
}
