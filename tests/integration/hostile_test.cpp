// Answers built to hurt a client, against the real `acmon sync` in its own process: it must not
// crash, must fail the scope with a clear message, and must stay under 256 MiB of memory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "acmon/sim/simulator.hpp"
#include "process.hpp"

using namespace acmon;
using nlohmann::json;

namespace {

// The peak resident memory of `acmon sync`. (Linux counts a spawned child's peak from before its
// exec too, so the figure is an upper bound that may include this test process.)
constexpr long k_max_rss_kib = 256 * 1024;

struct Outcome {
  acmon::testing::Process::Exit exit;
  std::string output;
};

// Serves one SMC code, with a persistent fault of the given shape, and runs `acmon sync` on it.
Outcome sync_against(const std::string& shape) {
  json data = {{"accounts", {{{"access_key_id", "AKID"}, {"access_key_secret", "sim-secret"}}}},
               {"smc", {{{"_account", "AKID"}, {"AccessTokenId", "at-1"}, {"Count", "5"}}}},
               {"faults", {{{"kind", "hostile"}, {"shape", shape}, {"action", "ListAccessTokens"}, {"times", 0}}}}};
  sim::Simulator simulator(data);
  simulator.start();
  const auto dir = std::filesystem::temp_directory_path() / ("acmon-hostile-" + std::to_string(::getpid()) + shape);
  std::filesystem::create_directories(dir);
  {
    std::ofstream secret(dir / "secret");
    secret << "sim-secret";
  }
  std::filesystem::permissions(dir / "secret",
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  {
    std::ofstream cfg(dir / "acmon.toml");
    cfg << "[daemon]\ndatabase = \"" << (dir / "acmon.db").string() << "\"\n"
        << "[[accounts]]\nname = \"a\"\naccess_key_id = \"AKID\"\naccess_key_secret_file = \""
        << (dir / "secret").string() << "\"\n"
        << "[[collectors]]\nname = \"s\"\naccount = \"a\"\nproduct = \"smc\"\nendpoint = \"" << simulator.base_url()
        << "\"\ntimeout = \"20s\"\n";
  }
  const auto log = (dir / "out.log").string();
  acmon::testing::Process p({ACMON_EXE, "sync", "--no-notify", "--config", (dir / "acmon.toml").string()}, log);
  Outcome o;
  o.exit = p.wait();
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  o.output = ss.str();
  simulator.stop();
  std::filesystem::remove_all(dir);
  return o;
}

void expect_failed_clearly(const std::string& shape, const std::string& says) {
  const auto o = sync_against(shape);
  EXPECT_EQ(o.exit.signal, 0) << shape << " killed acmon: " << o.output;
  EXPECT_EQ(o.exit.status, 1) << o.output;
  EXPECT_NE(o.output.find("FAILED"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find(says), std::string::npos) << o.output;
  EXPECT_LT(o.output.size(), 4096U) << "an error message should be short";
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // Sanitizers add their own shadow memory: the bound holds for the build that ships.
  EXPECT_LT(o.exit.max_rss_kib, k_max_rss_kib) << shape << ": peak RSS " << o.exit.max_rss_kib << " KiB";
#endif
  std::printf("%s: exit %d, peak RSS %ld KiB\n", shape.c_str(), o.exit.status, o.exit.max_rss_kib);
}

}  // namespace

TEST(Hostile, ANestedMillionDeepValueIsRefusedWithoutACrash) {
  expect_failed_clearly("deep", "nest");
}

TEST(Hostile, AnArrayOfSevenMillionNumbersStaysUnder256MiB) {
  expect_failed_clearly("wide", "values");
}

TEST(Hostile, AGzipBombIsCutAtTheBodyCap) {
  expect_failed_clearly("gzip", "exceeds");
}

TEST(Hostile, ATwelveMegabyteNameIsRefused) {
  expect_failed_clearly("long", "Name");
}
