// acmon-sim: an Alibaba Cloud look-alike for the five operations acmon uses, on loopback.
// It verifies V1 and V3 signatures, validates parameters, pages as each API does, reproduces
// the documents' quirks, injects faults, and lets tests change its data while it runs.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace acmon::sim {

// A fault: what goes wrong, for which action, and when.
//   kind: throttle | error500 | error503 | delay | malformed | truncated | drop | error | lie_total |
//         reset | short | html502 | empty200 | change | empty_page | hostile (see simulator/README.md)
//   action: an Action name, or "*" for every action
//   after: matching requests let through before the fault starts (so after=2 hits the 3rd)
//   times: how many matching requests it hits; 0 means every one from then on
//   probability (0..1) with seed: hit each matching request by chance instead of after/times
//   delay_ms: for delay; code and status: for error
struct FaultSpec {
  std::string kind;
  std::string action = "*";
  int after = 0;
  int times = 1;
  double probability = 0.0;
  std::uint64_t seed = 1;
  int delay_ms = 0;
  std::string code;
  int status = 0;
  nlohmann::json add = nlohmann::json::array();  // change: records to add (the action's product)
  std::vector<std::string> remove;               // change: ids to remove
  std::string shape;                             // hostile: deep | wide | long | gzip
};
FaultSpec fault_from_json(const nlohmann::json& j);  // throws std::invalid_argument

struct Options {
  bool check_timestamp = true;  // refuse requests signed more than 15 minutes off
  int threads = 16;
};

class Simulator {
 public:
  // data: see simulator/README.md for the format. Throws std::invalid_argument on bad data.
  explicit Simulator(const nlohmann::json& data, Options options = {});
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Binds host:port (port 0 picks a free one) and serves on background threads; returns the port.
  int start(const std::string& host = "127.0.0.1", int port = 0);
  void stop();
  [[nodiscard]] std::string base_url() const;

  // What the /_sim/ control endpoints do, for in-process tests.
  void set_faults(const nlohmann::json& faults);
  void add_fault(const FaultSpec& fault);
  void upsert(const std::string& product, const nlohmann::json& record);
  bool remove(const std::string& product, const std::string& id);
  bool patch(const std::string& product, const std::string& id, const nlohmann::json& fields);
  [[nodiscard]] nlohmann::json stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Synthetic data for benchmarks and the demo: spec {"account": AKID, "secret": S, "seed": n,
// "smc": N, "ecs": {"regions": [...], "per_region": N}, "polardb": {"orders": [...], "per_order": N},
// "now": unix seconds}.
nlohmann::json generate(const nlohmann::json& spec);

}  // namespace acmon::sim
