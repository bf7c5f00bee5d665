// What the benchmarks share: the simulator as a child process, CPU and memory readings, and the
// bare client that sets the floor a sync is compared with.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace acmon::bench {

// CPU seconds (user + system) of this process, from getrusage.
double cpu_seconds();
// Peak resident set of this process, KiB.
long peak_rss_kib();
// CPU seconds (user + system) of another process, from /proc.
double process_cpu_seconds(pid_t pid);
// The bytes of a database and its WAL after a checkpoint.
std::uintmax_t db_bytes(const std::string& path);

// acmon-sim --generate SPEC in a process of its own, stopped on destruction.
class SimProcess {
 public:
  SimProcess(const std::string& binary, const nlohmann::json& spec, const std::filesystem::path& dir);
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;
  [[nodiscard]] pid_t pid() const { return m_pid; }
  [[nodiscard]] std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  // Replaces the simulator's faults (POST /_sim/faults); throws when it refuses them.
  void set_faults(const nlohmann::json& faults) const;

 private:
  pid_t m_pid = -1;
  int m_port = 0;
};

// One listing as the bare client reads it: an action, its fixed parameters, and its paging.
struct BareScope {
  std::string action;
  std::string version;
  std::vector<std::pair<std::string, std::string>> params;
  bool next_token = false;  // NextToken paging (MaxResults); otherwise PageNumber (PageSize)
  long codes = 0;           // PageNumber paging: the pages are ceil(codes / 50), at least one
};

struct BareResult {
  long pages = 0;
  std::uint64_t bytes = 0;  // response bodies as received
  double seconds = 0;
  double cpu_seconds = 0;  // this process
};

// The floor a sync is measured against: every page of every scope, one after another, V3-signed
// like acmon's requests and sent on one kept-alive connection, with nothing parsed but the
// NextToken. Throws when a page fails.
BareResult bare_fetch(const std::string& endpoint, const std::string& access_key_id, const std::string& secret,
                      const std::vector<BareScope>& scopes);

}  // namespace acmon::bench
