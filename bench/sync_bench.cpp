// How fast acmon reads and stores a large estate. Prints figures to compare between commits.
//   sync_bench ACMON_SIM [CODES]     (default 100000 codes; the simulator runs as its own process)
#include <spawn.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "acmon/core/api.hpp"
#include "acmon/core/config.hpp"
#include "acmon/daemon/sync.hpp"
#include "acmon/db/store.hpp"

using namespace acmon;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

extern char** environ;

namespace {

double seconds_since(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

std::uintmax_t db_bytes(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  std::uintmax_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    const auto n = fs::file_size(path + suffix, ec);
    total += ec ? 0 : n;
  }
  return total;
}

// CPU seconds a process has used, from /proc (user + system).
double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close == std::string::npos) {
    return 0;
  }
  std::istringstream fields(stat.substr(close + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) {
    fields >> skip;
  }
  double utime = 0;
  double stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Sim {
  pid_t pid = -1;
  int port = 0;
  Sim(const std::string& binary, const nlohmann::json& spec, const fs::path& dir) {
    const std::string port_file = (dir / "port").string();
    const std::string gen = spec.dump();
    std::vector<std::string> args{binary, "--generate", gen, "--port-file", port_file};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    if (posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start " + binary);
    }
    for (int i = 0; i < 600 && port == 0; ++i) {
      std::ifstream in(port_file);
      in >> port;
      if (port == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    if (port == 0) {
      throw std::runtime_error("the simulator did not start");
    }
  }
  ~Sim() {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: sync_bench ACMON_SIM [CODES]\n");
    return 2;
  }
  const long total = argc > 2 ? std::stol(argv[2]) : 100000;
  // The estate: 40% SMC, 45% ECS over three regions, 15% PolarDB over two orders.
  const long smc = total * 40 / 100;
  const long ecs_per_region = total * 15 / 100;
  const long pdb_per_order = (total - smc - 3 * ecs_per_region) / 2;
  const fs::path dir = fs::temp_directory_path() / ("acmon-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string db_path = (dir / "acmon.db").string();
  {
    std::ofstream(dir / "secret") << "bench-secret\n";
    fs::permissions(dir / "secret", fs::perms::owner_read | fs::perms::owner_write);
  }
  nlohmann::json spec = {
      {"account", "LTAIbench"},
      {"secret", "bench-secret"},
      {"smc", smc},
      {"ecs", {{"regions", {"cn-hangzhou", "cn-beijing", "cn-shanghai"}}, {"per_region", ecs_per_region}}},
      {"polardb", {{"orders", {"2233000000001", "2233000000002"}}, {"per_order", pdb_per_order}}}};
  Sim sim(argv[1], spec, dir);
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(sim.port);
  std::string toml = "[daemon]\ndatabase = \"" + db_path +
                     "\"\n[[accounts]]\nname = \"bench\"\naccess_key_id = \"LTAIbench\"\naccess_key_secret_file = \"" +
                     (dir / "secret").string() + "\"\n";
  toml += "[[collectors]]\naccount = \"bench\"\nproduct = \"smc\"\nendpoint = \"" + endpoint + "\"\n";
  toml +=
      "[[collectors]]\naccount = \"bench\"\nproduct = \"ecs\"\nregions = [\"cn-hangzhou\", \"cn-beijing\", "
      "\"cn-shanghai\"]\nendpoint = \"" +
      endpoint + "\"\n";
  toml +=
      "[[collectors]]\naccount = \"bench\"\nproduct = \"polardb\"\norder_ids = [\"2233000000001\", "
      "\"2233000000002\"]\nendpoint = \"" +
      endpoint + "\"\n";
  const auto cfg = config::parse(toml, "bench.toml");

  auto store = db::Store::open(db_path);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  http::CurlTransport transport;
  SystemClock clock;
  api::RealSleeper sleeper;
  api::Client client(transport, clock, sleeper);
  daemon::Syncer syncer(cfg, **store, client, clock);

  std::printf("acmon sync benchmark: %ld codes (smc %ld, ecs 3 x %ld, polardb 2 x %ld)\n", total, smc, ecs_per_region,
              pdb_per_order);
  auto run = [&](const char* label) {
    const double cpu0 = cpu_seconds();
    const double sim0 = process_cpu_seconds(sim.pid);
    const auto t0 = Steady::now();
    const auto outcomes = syncer.run({});
    const double wall = seconds_since(t0);
    const double cpu = cpu_seconds() - cpu0;
    const double sim_cpu = process_cpu_seconds(sim.pid) - sim0;
    int pages = 0;
    long rows = 0;
    long codes = 0;
    for (const auto& o : outcomes) {
      if (!o.ok) {
        std::fprintf(stderr, "%s\n", daemon::summary_line(o).c_str());
        std::exit(1);
      }
      pages += o.pages;
      rows += o.written.history_rows;
      codes += o.written.codes;
    }
    std::printf(
        "%-18s wall %6.3f s | %5d pages, %6.0f pages/s | %6ld codes | %6ld history rows | CPU: acmon %.2f s, "
        "simulator %.2f s\n",
        label, wall, pages, pages / wall, codes, rows, cpu, sim_cpu);
    return codes;
  };
  const long listed = run("first sync");
  std::printf("peak RSS after the first sync: %.1f MiB\n", static_cast<double>(peak_rss_kib()) / 1024.0);
  if (listed != total) {
    std::fprintf(stderr, "listed %ld codes, expected %ld\n", listed, total);
    return 1;
  }
  const auto before = db_bytes(db_path);
  run("unchanged re-sync");
  const auto after = db_bytes(db_path);
  std::printf("database: %.1f MiB after the first sync; an unchanged re-sync grew it by %.1f KiB\n",
              static_cast<double>(before) / (1024.0 * 1024.0), static_cast<double>(after - before) / 1024.0);

  // The store alone: every code new, one transaction, into a fresh file.
  {
    const std::string fresh = (dir / "write.db").string();
    auto s = db::Store::open(fresh);
    auto codes = (*store)->codes({}, clock.now());
    std::vector<model::Code> list;
    list.reserve(codes->size());
    for (const auto& c : *codes) {
      list.push_back(c.code);
    }
    const model::Scope scope{"bench", config::Product::smc, "bench", "", ""};
    const auto t0 = Steady::now();
    auto w = (*s)->record_success(scope, list, db::RunInfo{0, 0, 0, 1}, clock.now());
    const double secs = seconds_since(t0);
    std::printf("store write: %zu new codes in %.3f s: %.0f history rows/s (%.0f rows/s counting code rows)\n",
                list.size(), secs, static_cast<double>(w->history_rows) / secs,
                2.0 * static_cast<double>(w->history_rows) / secs);
    const auto t1 = Steady::now();
    auto again = (*s)->record_success(scope, list, db::RunInfo{0, 0, 0, 1}, clock.now());
    std::printf("store compare: %zu unchanged codes checked in %.3f s (%d history rows)\n", list.size(),
                seconds_since(t1), again->history_rows);
  }
  std::printf("peak RSS with the store-only measurements (two extra copies of every code): %.1f MiB\n",
              static_cast<double>(peak_rss_kib()) / 1024.0);
  store->reset();
  fs::remove_all(dir);
  return 0;
}
