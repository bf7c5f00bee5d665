// Pace at organisation scale. Prints figures to compare between commits; asserts nothing.
//   pace_bench [MEMBERS] [LATENCY_MS]     (default 40 members, 50 ms)
// 1. MEMBERS accounts × 3 scopes (SMC, ECS in two regions), every answer of the simulator delayed
//    LATENCY_MS: the wall time of one sync at concurrency 16 against the same sync one scope after
//    another (concurrency 1). Target: at most a quarter.
// 2. rate_limit = 5 on one key (one account's PolarDB orders, 8 scopes of 3 pages, concurrency 16):
//    the most requests any one second saw, measured where they leave for the network. Target: 5.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "acmon/core/api.hpp"
#include "acmon/core/config.hpp"
#include "acmon/daemon/sync.hpp"
#include "acmon/db/store.hpp"
#include "acmon/sim/simulator.hpp"

using namespace acmon;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;
using nlohmann::json;

namespace {

// Every request's time as it leaves, on its way to the real transport.
class RecordingTransport final : public http::Transport {
 public:
  explicit RecordingTransport(http::Transport& next) : m_next(next) {}
  Result<http::Response> send(const http::Request& r) override {
    {
      std::lock_guard lock(m_mutex);
      m_sent.push_back(Steady::now());
    }
    return m_next.send(r);
  }
  std::vector<Steady::time_point> sent() {
    std::lock_guard lock(m_mutex);
    return m_sent;
  }

 private:
  http::Transport& m_next;
  std::mutex m_mutex;
  std::vector<Steady::time_point> m_sent;
};

std::size_t most_in_a_second(std::vector<Steady::time_point> at) {
  std::sort(at.begin(), at.end());
  std::size_t most = 0;
  for (std::size_t i = 0, j = 0; i < at.size(); ++i) {
    while (at[i] - at[j] >= std::chrono::seconds(1)) {
      ++j;
    }
    most = std::max(most, i - j + 1);
  }
  return most;
}

// Members' data side by side: each its own AccessKey, 60 SMC tokens, 60 ECS codes in each of two
// regions, and for the first one 8 PolarDB orders of 120 codes.
json organisation(int members) {
  json data = {{"accounts", json::array()},
               {"smc", json::array()},
               {"ecs", json::array()},
               {"polardb", json::array()},
               {"orders", json::array()}};
  for (int m = 0; m < members; ++m) {
    char id[32];
    std::snprintf(id, sizeof id, "LTAIm%04d", m);
    json spec = {{"account", id},
                 {"secret", "pace-secret"},
                 {"seed", m + 1},
                 {"smc", 60},
                 {"ecs", {{"regions", {"cn-hangzhou", "cn-beijing"}}, {"per_region", 60}}}};
    if (m == 0) {
      json orders = json::array();
      for (int o = 0; o < 8; ++o) {
        orders.push_back(std::to_string(2233000000100LL + o));
      }
      spec["polardb"] = {{"orders", orders}, {"per_order", 120}};
    }
    json one = sim::generate(spec);
    for (const char* key : {"accounts", "smc", "ecs", "polardb", "orders"}) {
      if (one.contains(key)) {
        for (auto& v : one[key]) {
          data[key].push_back(std::move(v));
        }
      }
    }
  }
  return data;
}

config::Config configuration(const std::string& db, const std::string& endpoint, int members, bool polardb_only) {
  config::Config cfg;
  cfg.path = "pace-bench";
  cfg.daemon.database = db;
  for (int m = 0; m < (polardb_only ? 1 : members); ++m) {
    char id[32];
    std::snprintf(id, sizeof id, "LTAIm%04d", m);
    config::Account a;
    a.name = "m" + std::to_string(m);
    a.access_key_id = id;
    a.secret_env = "PACE_BENCH_SECRET";
    cfg.accounts.push_back(a);
    auto collector = [&](config::Product p) {
      config::Collector c;
      c.name = a.name + "-" + config::to_string(p);
      c.account = a.name;
      c.product = p;
      c.endpoint = endpoint;
      return c;
    };
    if (polardb_only) {
      auto c = collector(config::Product::polardb);
      for (int o = 0; o < 8; ++o) {
        c.order_ids.push_back(std::to_string(2233000000100LL + o));
      }
      c.rate_limit = 5;
      cfg.collectors.push_back(c);
      continue;
    }
    cfg.collectors.push_back(collector(config::Product::smc));
    auto ecs = collector(config::Product::ecs);
    ecs.regions = {"cn-hangzhou", "cn-beijing"};
    cfg.collectors.push_back(ecs);
  }
  return cfg;
}

struct Run {
  double seconds = 0;
  std::size_t scopes = 0;
  std::size_t failed = 0;
  std::size_t most_per_second = 0;
  std::size_t requests = 0;
};

Run sync_once(const std::string& endpoint, int members, int concurrency, bool polardb_only) {
  const fs::path dir = fs::temp_directory_path() / ("acmon-pace-bench-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto cfg = configuration((dir / "acmon.db").string(), endpoint, members, polardb_only);
  auto store = db::Store::open(cfg.daemon.database);
  if (!store) {
    std::fprintf(stderr, "pace_bench: %s\n", store.error().message.c_str());
    std::exit(1);
  }
  http::CurlTransport curl;
  RecordingTransport transport(curl);
  SystemClock clock;
  api::RealSleeper sleeper;
  api::Client client(transport, clock, sleeper);
  daemon::Syncer syncer(cfg, **store, client, clock);
  const auto t0 = Steady::now();
  const auto outcomes = syncer.run({}, concurrency);
  Run r;
  r.seconds = std::chrono::duration<double>(Steady::now() - t0).count();
  r.scopes = outcomes.size();
  for (const auto& o : outcomes) {
    r.failed += o.ok ? 0 : 1;
  }
  const auto sent = transport.sent();
  r.requests = sent.size();
  r.most_per_second = most_in_a_second(sent);
  fs::remove_all(dir);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const int members = argc > 1 ? std::max(1, std::atoi(argv[1])) : 40;
  const int latency = argc > 2 ? std::max(0, std::atoi(argv[2])) : 50;
  ::setenv("PACE_BENCH_SECRET", "pace-secret", 1);
  sim::Options options;
  options.threads = 64;
  sim::Simulator simulator(organisation(members), options);
  simulator.start();
  if (latency > 0) {
    sim::FaultSpec delay;
    delay.kind = "delay";
    delay.action = "*";
    delay.times = 0;
    delay.delay_ms = latency;
    simulator.add_fault(delay);
  }
  const std::string endpoint = simulator.base_url();

  std::printf("pace: %d members × 3 scopes, every answer %d ms late\n", members, latency);
  const Run one = sync_once(endpoint, members, 1, false);
  const Run many = sync_once(endpoint, members, 16, false);
  const double ratio = many.seconds / one.seconds;
  std::printf("  %-44s %8.2f s  (%zu scopes, %zu requests, %zu failed)\n", "one scope after another (concurrency 1)",
              one.seconds, one.scopes, one.requests, one.failed);
  std::printf("  %-44s %8.2f s  (%zu scopes, %zu requests, %zu failed)\n", "concurrency 16", many.seconds, many.scopes,
              many.requests, many.failed);
  std::printf("  %-44s %8.3f    target <= 0.250  %s\n", "ratio", ratio,
              ratio <= 0.25 && one.failed + many.failed == 0 ? "PASS" : "MISS");

  const Run limited = sync_once(endpoint, 1, 16, true);
  std::printf("rate_limit = 5 on one key (8 PolarDB orders of one account, concurrency 16)\n");
  std::printf("  %-44s %8zu    target <= 5      %s  (%zu requests in %.2f s, %zu failed)\n",
              "most requests in any one second", limited.most_per_second,
              limited.most_per_second <= 5 && limited.failed == 0 ? "PASS" : "MISS", limited.requests, limited.seconds,
              limited.failed);
  return 0;
}
