// The daemon with temporary credentials: STS credentials that expire every few seconds, in a
// daemon that runs past several of their lifetimes, refreshed in time: no run fails.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "acmon/daemon/service.hpp"
#include "sts_fixture.hpp"

using namespace acmon;
using namespace acmon::testing;
namespace fs = std::filesystem;

TEST(DaemonSts, RunsPastSeveralCredentialLifetimesWithoutAFailedRun) {
  const fs::path dir = fs::temp_directory_path() / ("acmon-daemon-sts-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto data = org_data();
  data["sts_expire_after"] = 3;  // every STS credential lives 3 seconds
  sim::Simulator sim(data);
  sim.start();
  { std::ofstream(dir / "secret") << "mgmt-secret\n"; }
  fs::permissions(dir / "secret", fs::perms::owner_read | fs::perms::owner_write);
  const std::string toml =
      "[daemon]\ndatabase = \"" + (dir / "acmon.db").string() +
      "\"\nlisten = \"127.0.0.1:0\"\n"
      "[[accounts]]\nname = \"member\"\naccess_key_id = \"LTAImgmt\"\naccess_key_secret_file = \"" +
      (dir / "secret").string() + "\"\nassume_role = \"" + role_arn(k_member, "ResourceDirectoryAccountAccessRole") +
      "\"\nsts_endpoint = \"" + sim.base_url() +
      "\"\n[[collectors]]\naccount = \"member\"\nproduct = \"smc\"\nendpoint = \"" + sim.base_url() +
      "\"\ninterval = \"10s\"\n";
  const auto cfg = config::parse(toml, "sts.toml");
  auto store = db::Store::open((dir / "acmon.db").string());
  ASSERT_TRUE(store) << store.error().message;
  SystemClock clock;
  daemon::ServiceOptions o;
  o.schedule = false;
  std::vector<std::string> reports;
  o.credentials.on_refresh_error = [&](const std::string& m) { reports.push_back(m); };
  {
    daemon::Service service(cfg, std::move(*store), clock, o);
    ASSERT_TRUE(service.start());
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int runs = 0;
    while (std::chrono::steady_clock::now() < until) {
      for (const auto& out : service.run_all_once()) {
        EXPECT_TRUE(out.ok) << out.error;
        EXPECT_EQ(out.written.codes, 2);
        ++runs;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
    }
    EXPECT_GE(runs, 10);
    service.stop();
  }
  // Three seconds each over ten seconds: at least three AssumeRole calls, each before the last expired.
  EXPECT_GE(sim.stats()["sts"]["issued"].get<int>(), 3);
  EXPECT_LE(sim.stats()["sts"]["issued"].get<int>(), 12);
  EXPECT_TRUE(reports.empty());
  fs::remove_all(dir);
}
