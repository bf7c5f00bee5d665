// How fast acmon reads and stores a large estate, each figure beside its target. A benchmark, not a
// test: a missed target is printed (MISS), never a failure; the exit status says only whether the
// runs worked.
//   sync_bench ACMON_SIM [CODES] [--runs N] [--latency-ms MS] [--latency-scopes N]
// Defaults: 100,000 codes, 3 runs (figures are the median, with the range), 50 ms, 32 scopes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include <sqlite3.h>

#include "acmon/core/api.hpp"
#include "acmon/core/config.hpp"
#include "acmon/daemon/sync.hpp"
#include "acmon/db/store.hpp"
#include "acmon/model/code.hpp"
#include "bench_support.hpp"

using namespace acmon;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

constexpr const char* k_key_id = "LTAIbench";
constexpr const char* k_secret = "bench-secret";

double seconds_since(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}

struct Options {
  std::string sim;
  long codes = 100000;
  int runs = 3;
  int latency_ms = 50;
  int latency_scopes = 32;
};

// The figures of one run; each is judged on its median over the runs.
struct Figures {
  double bare = 0;  // the faster of the run's two bare fetches, seconds
  double first_wall = 0;
  double first_cpu = 0;
  double resync_wall = 0;
  double resync_cpu = 0;
  double store_rows_per_s = 0;
  double floor_rows_per_s = 0;  // the same rows written by SQLite alone
};

// The median and the range of one figure over the runs.
struct Spread {
  double median = 0;
  double low = 0;
  double high = 0;
};

Spread spread(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  const double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {median, v.front(), v.back()};
}

void print_figure(const char* what, Spread s, int decimals, const char* target, bool pass) {
  char measured[64];
  char low[32];
  char high[32];
  std::snprintf(measured, sizeof measured, "%.*f", decimals, s.median);
  std::snprintf(low, sizeof low, "%.*f", decimals, s.low);
  std::snprintf(high, sizeof high, "%.*f", decimals, s.high);
  const std::string text = std::string(measured) + " (" + low + " to " + high + ")";
  std::printf("  %-46s %-30s %-14s %s\n", what, text.c_str(), target, pass ? "PASS" : "MISS");
}

std::string collector_toml(const std::string& name, const std::string& product, const std::string& extra,
                           const std::string& endpoint) {
  return "[[collectors]]\nname = \"" + name + "\"\naccount = \"bench\"\nproduct = \"" + product +
         "\"\nrate_limit = 0\n" + extra + "endpoint = \"" + endpoint + "\"\n";
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    out += (out.empty() ? "" : ", ") + ("\"" + i + "\"");
  }
  return "[" + out + "]";
}

std::string config_head(const fs::path& dir, const std::string& db_path) {
  return "[daemon]\ndatabase = \"" + db_path + "\"\n[[accounts]]\nname = \"bench\"\naccess_key_id = \"" + k_key_id +
         "\"\naccess_key_secret_file = \"" + (dir / "secret").string() + "\"\n";
}

// The estate of a full run: 40 % SMC, 45 % ECS over three regions, 15 % PolarDB over two orders.
struct Estate {
  long smc = 0;
  long ecs_per_region = 0;
  long pdb_per_order = 0;
  std::vector<std::string> regions{"cn-hangzhou", "cn-beijing", "cn-shanghai"};
  std::vector<std::string> orders{"2233000000001", "2233000000002"};

  explicit Estate(long total)
      : smc(total * 40 / 100),
        ecs_per_region(total * 15 / 100),
        pdb_per_order((total - smc - 3 * ecs_per_region) / 2) {}

  [[nodiscard]] nlohmann::json spec() const {
    return {{"account", k_key_id},
            {"secret", k_secret},
            {"smc", smc},
            {"ecs", {{"regions", regions}, {"per_region", ecs_per_region}}},
            {"polardb", {{"orders", orders}, {"per_order", pdb_per_order}}}};
  }
  [[nodiscard]] std::string toml(const fs::path& dir, const std::string& db_path, const std::string& endpoint) const {
    return config_head(dir, db_path) + collector_toml("smc", "smc", "", endpoint) +
           collector_toml("ecs", "ecs", "regions = " + quoted_list(regions) + "\n", endpoint) +
           collector_toml("polardb", "polardb", "order_ids = " + quoted_list(orders) + "\n", endpoint);
  }
  [[nodiscard]] std::vector<bench::BareScope> bare_scopes() const {
    std::vector<bench::BareScope> out;
    out.push_back({"ListAccessTokens", config::api_version(config::Product::smc), {}, false, smc});
    for (const auto& r : regions) {
      out.push_back({"DescribeActivations", config::api_version(config::Product::ecs), {{"RegionId", r}}, true, 0});
    }
    for (const auto& o : orders) {
      out.push_back({"DescribeActivationCodes",
                     config::api_version(config::Product::polardb),
                     {{"AliyunOrderId", o}},
                     false,
                     pdb_per_order});
    }
    return out;
  }
};

struct SyncFigures {
  double wall = 0;
  double cpu = 0;
  double scope_seconds = 0;  // the scopes' own times, added up
  long pages = 0;
  long codes = 0;
  long history_rows = 0;
};

// One `acmon sync` pass (Syncer::run, as the command runs it), timed; throws when a scope fails.
SyncFigures timed_sync(daemon::Syncer& syncer, int parallel) {
  SyncFigures f;
  const double cpu0 = bench::cpu_seconds();
  const auto t0 = Steady::now();
  const auto outcomes = syncer.run({}, parallel);
  f.wall = seconds_since(t0);
  f.cpu = bench::cpu_seconds() - cpu0;
  for (const auto& o : outcomes) {
    if (!o.ok) {
      throw std::runtime_error(daemon::summary_line(o));
    }
    f.scope_seconds += o.seconds;
    f.pages += o.pages;
    f.codes += o.written.codes;
    f.history_rows += o.written.history_rows;
  }
  return f;
}

struct Client {
  http::CurlTransport transport;
  SystemClock clock;
  api::RealSleeper sleeper;
  api::Client client{transport, clock, sleeper};
};

// The floor under the store figure: the rows a first run writes for these codes (a codes row and a
// history row each, with their indexes), written by SQLite alone into a database the store made
// (same schema and page size), with the store's settings for a run (64 MiB cache, no checkpoint,
// one transaction), 128 rows to a statement, in id order, and nothing else: no comparison, no
// fingerprint, no sort. What the store adds is the difference; what the floor costs is the schema's.
double sqlite_floor(const std::string& path, std::vector<model::Code> list) {
  std::sort(list.begin(), list.end(), [](const model::Code& a, const model::Code& b) { return a.id < b.id; });
  {
    auto made = db::Store::open(path);
    if (!made) {
      throw std::runtime_error(made.error().message);
    }
  }
  sqlite3* raw = nullptr;
  const int opened = sqlite3_open(path.c_str(), &raw);
  const std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  sqlite3* conn = db.get();
  if (opened != SQLITE_OK) {
    throw std::runtime_error("floor: cannot open " + path);
  }
  auto exec = [&](const char* sql) {
    if (sqlite3_exec(conn, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("floor: ") + sqlite3_errmsg(conn));
    }
  };
  exec(
      "PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=0; "
      "PRAGMA cache_size=-65536; INSERT INTO scopes(id, collector, product, account) VALUES(1,'floor','smc','floor'); "
      "INSERT INTO runs(id, scope_id, started_at, finished_at, duration, ok, pages) VALUES(1,1,0,0,0,1,1)");
  constexpr int k_rows = 128;
  auto values = [](const char* row) {
    std::string out;
    for (int k = 0; k < k_rows; ++k) {
      out += k == 0 ? "" : ",";
      out += row;
    }
    return out;
  };
  const std::string codes_sql =
      "INSERT INTO codes(scope_id, code_id, product, account, region, order_id, name, description, limit_count, "
      "registered, deregistered, created_at, expires_at, api_status, state, first_seen, changed_at, deleted_at, "
      "fingerprint) VALUES" +
      values("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,?)");
  const std::string history_sql =
      "INSERT INTO history(scope_id, code_id, run_id, at, event, detail, name, description, limit_count, registered, "
      "deregistered, created_at, expires_at, api_status) VALUES" +
      values("(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  auto prepare = [&](const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("floor: ") + sqlite3_errmsg(conn));
    }
    return std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>(st, &sqlite3_finalize);
  };
  const auto codes_stmt = prepare(codes_sql);
  const auto history_stmt = prepare(history_sql);
  sqlite3_stmt* codes = codes_stmt.get();
  sqlite3_stmt* history = history_stmt.get();
  auto text = [](sqlite3_stmt* st, int& i, std::string_view v) {
    sqlite3_bind_text(st, i++, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  };
  auto number = [](sqlite3_stmt* st, int& i, const std::optional<std::int64_t>& v) {
    v ? sqlite3_bind_int64(st, i++, *v) : sqlite3_bind_null(st, i++);
  };
  auto fields = [&](sqlite3_stmt* st, int& i, const model::Code& c) {
    text(st, i, c.name);
    text(st, i, c.description);
    number(st, i, c.limit);
    number(st, i, c.registered);
    number(st, i, c.deregistered);
    number(st, i, c.created_at);
    number(st, i, c.expires_at);
    c.api_status ? text(st, i, *c.api_status) : (void)sqlite3_bind_null(st, i++);
  };
  const auto t0 = Steady::now();
  exec("BEGIN IMMEDIATE");
  std::size_t written = 0;
  for (std::size_t from = 0; from + k_rows <= list.size(); from += k_rows) {
    int ci = 1;
    int hi = 1;
    for (std::size_t k = from; k < from + k_rows; ++k) {
      const model::Code& c = list[k];
      sqlite3_bind_int64(codes, ci++, 1);
      text(codes, ci, c.id);
      text(codes, ci, config::to_string(c.product));
      text(codes, ci, c.account);
      text(codes, ci, c.region);
      text(codes, ci, c.order_id);
      fields(codes, ci, c);
      text(codes, ci, "active");
      sqlite3_bind_int64(codes, ci++, 1);
      sqlite3_bind_int64(codes, ci++, 1);
      sqlite3_bind_int64(codes, ci++, static_cast<std::int64_t>(k));
      sqlite3_bind_int64(history, hi++, 1);
      text(history, hi, c.id);
      sqlite3_bind_int64(history, hi++, 1);
      sqlite3_bind_int64(history, hi++, 1);
      text(history, hi, "created");
      text(history, hi, "");
      fields(history, hi, c);
    }
    if (sqlite3_step(codes) != SQLITE_DONE || sqlite3_step(history) != SQLITE_DONE) {
      throw std::runtime_error(std::string("floor: ") + sqlite3_errmsg(conn));
    }
    sqlite3_reset(codes);
    sqlite3_reset(history);
    written += k_rows;
  }
  exec("COMMIT");
  // Full statements only: the last few codes (fewer than 128) are left out, and not counted.
  return static_cast<double>(written) / seconds_since(t0);
}

// A first sync, an unchanged re-sync and the store alone, into fresh files; a bare fetch before
// and after.
Figures one_run(const Options& opt, const Estate& estate, const bench::SimProcess& sim, const fs::path& dir, int n) {
  Figures fig;
  const std::string db_path = (dir / ("run" + std::to_string(n) + ".db")).string();
  const auto cfg = config::parse(estate.toml(dir, db_path, sim.endpoint()), "bench.toml");
  auto store = db::Store::open(db_path);
  if (!store) {
    throw std::runtime_error(store.error().message);
  }
  Client c;
  daemon::Syncer syncer(cfg, **store, c.client, c.clock);
  const auto bare1 = bench::bare_fetch(sim.endpoint(), k_key_id, k_secret, estate.bare_scopes());
  const auto first = timed_sync(syncer, 4);
  const double sim0 = bench::process_cpu_seconds(sim.pid());
  const auto again = timed_sync(syncer, 4);
  const double sim_cpu = bench::process_cpu_seconds(sim.pid()) - sim0;
  const auto bare2 = bench::bare_fetch(sim.endpoint(), k_key_id, k_secret, estate.bare_scopes());
  fig.bare = std::min(bare1.seconds, bare2.seconds);
  fig.first_wall = first.wall;
  fig.first_cpu = first.cpu;
  fig.resync_wall = again.wall;
  fig.resync_cpu = again.cpu;
  if (first.codes != opt.codes || bare1.pages != first.pages || bare2.pages != first.pages) {
    throw std::runtime_error("listed " + std::to_string(first.codes) + " codes in " + std::to_string(first.pages) +
                             " pages; expected " + std::to_string(opt.codes) + " codes, and the bare fetch read " +
                             std::to_string(bare1.pages) + " pages");
  }
  std::printf("run %d: bare fetch %.3f s and %.3f s (%ld pages, %.1f MiB, client CPU %.2f s)\n", n, bare1.seconds,
              bare2.seconds, bare1.pages, static_cast<double>(bare1.bytes) / (1 << 20), bare1.cpu_seconds);
  std::printf(
      "       first sync %.3f s, acmon CPU %.2f s, %ld history rows | re-sync %.3f s, acmon CPU %.2f s, "
      "simulator CPU %.2f s, %ld history rows\n",
      first.wall, first.cpu, first.history_rows, again.wall, again.cpu, sim_cpu, again.history_rows);
  if (n == 1) {
    const auto before = bench::db_bytes(db_path);
    std::printf("       peak RSS after two syncs %.1f MiB; database %.1f MiB\n",
                static_cast<double>(bench::peak_rss_kib()) / 1024.0, static_cast<double>(before) / (1 << 20));
  }

  // The store alone: every code new, one transaction, into a fresh file.
  const std::string fresh = (dir / ("store" + std::to_string(n) + ".db")).string();
  auto s = db::Store::open(fresh);
  auto codes = (*store)->codes({}, c.clock.now());
  std::vector<model::Code> list;
  list.reserve(codes->size());
  for (const auto& stored : *codes) {
    list.push_back(stored.code);
  }
  codes->clear();
  // In no order, as a cloud lists its ids (the simulator's come in id order, which B-trees take
  // best): a fixed shuffle, the same in every run.
  std::shuffle(list.begin(), list.end(), std::mt19937_64(20261207));
  const model::Scope scope{"bench", config::Product::smc, "bench", "", ""};
  const double cpu0 = bench::cpu_seconds();
  const auto t0 = Steady::now();
  auto w = (*s)->record_success(scope, list, db::RunInfo{0, 0, 0, 1}, c.clock.now());
  const double secs = seconds_since(t0);
  const double cpu = bench::cpu_seconds() - cpu0;
  fig.store_rows_per_s = static_cast<double>(w->history_rows) / secs;
  const auto t1 = Steady::now();
  auto unchanged = (*s)->record_success(scope, list, db::RunInfo{0, 0, 0, 1}, c.clock.now());
  std::printf(
      "       store: %zu new codes (ids in no order) in %.3f s (CPU %.3f s), %.0f history rows/s; the same codes "
      "unchanged "
      "checked in %.3f s (%d history rows)\n",
      list.size(), secs, cpu, fig.store_rows_per_s, seconds_since(t1), unchanged->history_rows);
  fig.floor_rows_per_s = sqlite_floor((dir / ("floor" + std::to_string(n) + ".db")).string(), list);
  std::printf("       the same rows by SQLite alone: %.0f rows/s (the store: %.0f %% of it)\n", fig.floor_rows_per_s,
              100.0 * fig.store_rows_per_s / fig.floor_rows_per_s);
  return fig;
}

struct LatencyFigures {
  double sequential_sum = 0;
  double wall = 0;
  int scopes = 0;
  long pages = 0;
};

// Many small scopes (two pages each) against a simulator that holds every answer for latency_ms:
// the wall time of `acmon sync` beside the sum of the same scopes' times run one after another.
LatencyFigures latency_run(const Options& opt, const fs::path& dir) {
  // The regions the generated data serve; the other scopes are PolarDB orders.
  std::vector<std::string> regions{"cn-hangzhou", "cn-beijing", "cn-shanghai"};
  const int n_ecs = std::min<int>(static_cast<int>(regions.size()), opt.latency_scopes / 4);
  regions.resize(static_cast<std::size_t>(n_ecs));
  std::vector<std::string> orders;
  orders.reserve(static_cast<std::size_t>(std::max(0, opt.latency_scopes - n_ecs)));
  for (int i = 0; i < opt.latency_scopes - n_ecs; ++i) {
    orders.push_back(std::to_string(2233000000100 + i));
  }
  const nlohmann::json spec = {{"account", k_key_id},
                               {"secret", k_secret},
                               {"ecs", {{"regions", regions}, {"per_region", 100}}},
                               {"polardb", {{"orders", orders}, {"per_order", 100}}}};
  bench::SimProcess sim(opt.sim, spec, dir);
  sim.set_faults(nlohmann::json::array({{{"kind", "delay"}, {"delay_ms", opt.latency_ms}, {"times", 0}}}));
  LatencyFigures out;
  for (const int parallel : {1, 4}) {
    const std::string db_path = (dir / ("latency" + std::to_string(parallel) + ".db")).string();
    std::string toml = config_head(dir, db_path);
    if (!regions.empty()) {
      toml += collector_toml("ecs", "ecs", "regions = " + quoted_list(regions) + "\n", sim.endpoint());
    }
    toml += collector_toml("polardb", "polardb", "order_ids = " + quoted_list(orders) + "\n", sim.endpoint());
    const auto cfg = config::parse(toml, "latency.toml");
    auto store = db::Store::open(db_path);
    Client c;
    daemon::Syncer syncer(cfg, **store, c.client, c.clock);
    const auto f = timed_sync(syncer, parallel);
    if (parallel == 1) {
      out.sequential_sum = f.scope_seconds;
    } else {
      out.wall = f.wall;
    }
    out.pages = f.pages;
  }
  out.scopes = opt.latency_scopes;
  return out;
}

Options parse_options(int argc, char** argv) {
  Options o;
  o.sim = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::stol(argv[++i]);
    };
    if (a == "--runs") {
      o.runs = static_cast<int>(std::max(1L, value()));
    } else if (a == "--latency-ms") {
      o.latency_ms = static_cast<int>(value());
    } else if (a == "--latency-scopes") {
      o.latency_scopes = static_cast<int>(std::max(1L, value()));
    } else {
      o.codes = std::stol(a);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: sync_bench ACMON_SIM [CODES] [--runs N] [--latency-ms MS] [--latency-scopes N]\n");
    return 2;
  }
  const Options opt = parse_options(argc, argv);
  const Estate estate(opt.codes);
  const fs::path dir = fs::temp_directory_path() / ("acmon-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  {
    std::ofstream(dir / "secret") << k_secret << "\n";
    fs::permissions(dir / "secret", fs::perms::owner_read | fs::perms::owner_write);
  }
  std::printf("acmon sync benchmark: %ld codes (smc %ld, ecs 3 x %ld, polardb 2 x %ld), %d run(s)\n", opt.codes,
              estate.smc, estate.ecs_per_region, estate.pdb_per_order, opt.runs);
  std::vector<Figures> runs;
  LatencyFigures lat;
  try {
    {
      bench::SimProcess sim(opt.sim, estate.spec(), dir);
      for (int n = 1; n <= opt.runs; ++n) {
        runs.push_back(one_run(opt, estate, sim, dir, n));
      }
    }
    lat = latency_run(opt, dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sync_bench: %s\n", e.what());
    fs::remove_all(dir);
    return 1;
  }
  std::printf("latency: %d scopes, %ld pages, each answer held %d ms\n", lat.scopes, lat.pages, opt.latency_ms);

  auto each = [&](auto field) {
    std::vector<double> v;
    v.reserve(runs.size());
    for (const auto& r : runs) {
      v.push_back(field(r));
    }
    return spread(v);
  };
  const double per_code = 1e6 / static_cast<double>(opt.codes);
  const auto ratio = each([](const Figures& f) { return f.first_wall / f.bare; });
  const auto first_us = each([&](const Figures& f) { return f.first_cpu * per_code; });
  const auto resync_us = each([&](const Figures& f) { return f.resync_cpu * per_code; });
  const auto rows = each([](const Figures& f) { return f.store_rows_per_s; });
  std::printf("\n  %-46s %-30s %-14s\n", "figure", "median (range)", "target");
  print_figure("first sync wall / bare sequential fetch", ratio, 2, "<= 1.10", ratio.median <= 1.10);
  print_figure("acmon CPU per code, first sync (us)", first_us, 1, "<= 8", first_us.median <= 8);
  print_figure("acmon CPU per code, unchanged re-sync (us)", resync_us, 1, "<= 3", resync_us.median <= 3);
  print_figure("store: history rows/s", rows, 0, ">= 500000", rows.median >= 500000);
  const auto floor = each([](const Figures& f) { return f.floor_rows_per_s; });
  const auto share = each([](const Figures& f) { return f.store_rows_per_s / f.floor_rows_per_s; });
  std::printf(
      "  (the same rows by SQLite alone, same schema and settings: %.0f (%.0f to %.0f) rows/s; the store "
      "reaches %.2f (%.2f to %.2f) of it)\n",
      floor.median, floor.low, floor.high, share.median, share.low, share.high);
  const double speedup = lat.wall > 0 ? lat.sequential_sum / lat.wall : 0;
  char latency_what[96];
  std::snprintf(latency_what, sizeof latency_what, "%d ms latency: sequential sum / sync wall", opt.latency_ms);
  print_figure(latency_what, {speedup, speedup, speedup}, 2, ">= 3 (4 wide)", speedup >= 3);
  std::printf("  (%d ms latency: the %d scopes one after another took %.2f s; acmon sync took %.2f s)\n",
              opt.latency_ms, lat.scopes, lat.sequential_sum, lat.wall);
  fs::remove_all(dir);
  return 0;
}
