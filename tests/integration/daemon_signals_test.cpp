// `acmon run` as a process under a SIGHUP storm while every listing is slow: the configuration
// flips between two shapes every few milliseconds, runs are in flight at each reload, and in the
// end the daemon serves exactly the last configuration's scopes and codes, stops on SIGTERM within
// two seconds and exits 0 (in the sanitizer builds, a report would end it otherwise).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "acmon/core/http.hpp"
#include "acmon/sim/simulator.hpp"
#include "process.hpp"

using namespace acmon;
namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

namespace {

json records(const std::string& product, int n, const std::string& where = "") {
  json list = json::array();
  for (int i = 0; i < n; ++i) {
    if (product == "smc") {
      list.push_back({{"_account", "AKID"}, {"AccessTokenId", "at-" + std::to_string(i)}, {"Count", "10"}});
    } else if (product == "ecs") {
      list.push_back({{"_account", "AKID"},
                      {"_region", where},
                      {"ActivationId", where + "-" + std::to_string(i)},
                      {"InstanceCount", "10"}});
    } else {
      list.push_back({{"_account", "AKID"}, {"_order", where}, {"Id", i}});
    }
  }
  return list;
}

std::string get(int port, const std::string& path, int* status = nullptr) {
  http::CurlTransport t;
  http::Request r;
  r.url = "http://127.0.0.1:" + std::to_string(port) + path;
  r.timeout = milliseconds(5000);
  auto res = t.send(r);
  if (status != nullptr) {
    *status = res ? res->status : 0;
  }
  return res ? res->body : std::string();
}

// The value of every series of one metric, by its label text.
std::map<std::string, std::string> series(const std::string& exposition, const std::string& metric) {
  std::map<std::string, std::string> out;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(metric + "{", 0) == 0) {
      const auto close = line.rfind('}');
      out[line.substr(metric.size() + 1, close - metric.size() - 1)] = line.substr(close + 2);
    }
  }
  return out;
}

}  // namespace

TEST(DaemonSignals, ASighupStormDuringSlowListingsEndsInExactlyTheLastConfiguration) {
  json data = {{"accounts", {{{"access_key_id", "AKID"}, {"access_key_secret", "sim-secret"}}}},
               {"orders", {{{"_account", "AKID"}, {"AliyunOrderId", "2233000000001"}}}}};
  data["smc"] = records("smc", 120);
  data["ecs"] = records("ecs", 60, "cn-hangzhou");
  for (auto& r : records("ecs", 70, "cn-beijing")) {
    data["ecs"].push_back(r);
  }
  data["polardb"] = records("polardb", 60, "2233000000001");
  // Every answer takes 40 ms: a three-page listing is in flight for a while at each reload.
  data["faults"] = {{{"kind", "delay"}, {"delay_ms", 40}, {"times", 0}}};
  sim::Simulator simulator(data);
  simulator.start();

  const fs::path dir = acmon::testing::scratch_dir("acmon-sighup", "sim-secret");
  const int port = acmon::testing::free_port();
  const std::string head = "[daemon]\ndatabase = \"" + (dir / "acmon.db").string() +
                           "\"\nlisten = \"127.0.0.1:" + std::to_string(port) +
                           "\"\n[[accounts]]\nname = \"a\"\naccess_key_id = \"AKID\"\n" +
                           "access_key_secret_file = \"" + (dir / "secret").string() + "\"\n";
  auto collector = [&](const std::string& name, const std::string& product, const std::string& extra) {
    return "[[collectors]]\nname = \"" + name + "\"\naccount = \"a\"\nproduct = \"" + product + "\"\nendpoint = \"" +
           simulator.base_url() + "\"\ninterval = \"10s\"\n" + extra;
  };
  // Shape A: smc, ecs in one region, polardb. Shape B (the last): smc, ecs in two regions.
  const std::string shape_a = head + collector("s", "smc", "") +
                              collector("e", "ecs", "regions = [\"cn-hangzhou\"]\n") +
                              collector("p", "polardb", "order_ids = [\"2233000000001\"]\n");
  const std::string shape_b =
      head + collector("s", "smc", "") + collector("e", "ecs", "regions = [\"cn-hangzhou\", \"cn-beijing\"]\n");
  auto write_config = [&](const std::string& text) {
    std::ofstream(dir / "next.toml") << text;
    fs::rename(dir / "next.toml", dir / "acmon.toml");  // a reload never reads half a file
  };
  write_config(shape_a);

  acmon::testing::Process daemon({ACMON_EXE, "run", "--config", (dir / "acmon.toml").string()},
                                 (dir / "acmon.log").string());
  int status = 0;
  for (int i = 0; i < 200 && status != 200; ++i) {
    get(port, "/healthz", &status);
    std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_EQ(status, 200) << "acmon run did not serve";

  // The storm: 150 reloads, 15 ms apart, the configuration flipping each time; ends on shape B.
  for (int i = 0; i < 150; ++i) {
    write_config(i % 2 == 0 ? shape_b : shape_a);
    ASSERT_EQ(::kill(daemon.pid(), SIGHUP), 0);
    std::this_thread::sleep_for(milliseconds(15));
    if (i % 10 == 0) {
      get(port, "/metrics");  // scrapes meanwhile
    }
  }
  write_config(shape_b);
  ASSERT_EQ(::kill(daemon.pid(), SIGHUP), 0);

  // The final state: shape B's three scopes, each up with its exact number of codes, and no
  // series left of the polardb collector that the last configuration removed.
  const std::map<std::string, std::string> want{
      {R"(collector="e",product="ecs",account="a",region="cn-beijing")", "70"},
      {R"(collector="e",product="ecs",account="a",region="cn-hangzhou")", "60"},
      {R"(collector="s",product="smc",account="a")", "120"}};
  std::map<std::string, std::string> codes;
  std::map<std::string, std::string> up;
  const auto deadline = Steady::now() + std::chrono::seconds(30);
  while (Steady::now() < deadline) {
    const std::string text = get(port, "/metrics");
    codes = series(text, "acmon_collector_codes");
    up = series(text, "acmon_collector_up");
    int ready = 0;
    get(port, "/readyz", &ready);
    if (codes == want && ready == 200) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_EQ(codes, want);
  for (const auto& [labels, value] : up) {
    EXPECT_EQ(value, "1") << labels;
    EXPECT_EQ(want.count(labels), 1U) << "a series of a scope no longer configured: " << labels;
  }

  const auto t0 = Steady::now();
  ::kill(daemon.pid(), SIGTERM);
  const auto exit = daemon.wait();
  EXPECT_LT(std::chrono::duration<double>(Steady::now() - t0).count(), 2.0);
  EXPECT_EQ(exit.signal, 0);
  EXPECT_EQ(exit.status, 0);
  std::ifstream in(dir / "acmon.log");
  std::stringstream log;
  log << in.rdbuf();
  EXPECT_EQ(log.str().find("Sanitizer"), std::string::npos) << log.str().substr(0, 4000);
  EXPECT_NE(log.str().find("configuration reloaded"), std::string::npos);
  if (HasFailure()) {
    std::cerr << "---- acmon.log (end)\n" << log.str().substr(log.str().size() > 6000 ? log.str().size() - 6000 : 0);
  }
  simulator.stop();
  fs::remove_all(dir);
}
