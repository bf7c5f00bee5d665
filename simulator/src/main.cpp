// acmon-sim: serves the simulated cloud until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

#include "acmon/core/config.hpp"
#include "acmon/sim/simulator.hpp"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int /*sig*/) {
  g_stop = 1;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"acmon-sim: a local stand-in for the Alibaba Cloud APIs acmon uses"};
  std::string data_file;
  std::string generate_spec;
  std::string listen = "127.0.0.1:0";
  std::string port_file;
  bool no_time_check = false;
  app.add_option("--data", data_file, "JSON data file (accounts, codes, regions, orders, faults)");
  app.add_option("--generate", generate_spec, "JSON spec of a synthetic data set, instead of --data");
  app.add_option("--listen", listen, "HOST:PORT to listen on; port 0 picks a free one")->capture_default_str();
  app.add_option("--port-file", port_file, "write the bound port to this file once listening");
  app.add_flag("--no-time-check", no_time_check, "accept signatures of any time (replayed requests)");
  app.set_version_flag("--version", std::string("acmon-sim ") + ACMON_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  nlohmann::json data;
  try {
    if (!generate_spec.empty()) {
      data = acmon::sim::generate(nlohmann::json::parse(generate_spec));
    } else if (!data_file.empty()) {
      std::ifstream in(data_file);
      if (!in) {
        std::cerr << "acmon-sim: cannot read " << data_file << "\n";
        return 2;
      }
      data = nlohmann::json::parse(in);
    } else {
      std::cerr << "acmon-sim: give --data FILE or --generate SPEC\n";
      return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << "acmon-sim: bad data: " << e.what() << "\n";
    return 2;
  }
  auto hp = acmon::config::split_host_port(listen);
  if (!hp) {
    std::cerr << "acmon-sim: --listen " << listen << " is not HOST:PORT\n";
    return 2;
  }
  try {
    acmon::sim::Options options;
    options.check_timestamp = !no_time_check;
    acmon::sim::Simulator sim(data, options);
    const int port = sim.start(hp->first, hp->second);
    if (!port_file.empty()) {
      const std::string tmp = port_file + ".tmp";
      std::ofstream(tmp) << port << "\n";
      std::rename(tmp.c_str(), port_file.c_str());
    }
    std::cout << "acmon-sim listening on " << sim.base_url() << std::endl;
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    while (g_stop == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    sim.stop();
  } catch (const std::exception& e) {
    std::cerr << "acmon-sim: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
