#include "bench_support.hpp"

#include <curl/curl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "acmon/core/crypto.hpp"
#include "acmon/core/signing.hpp"
#include "acmon/core/time.hpp"

extern char** environ;

namespace acmon::bench {

namespace fs = std::filesystem;

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

SimProcess::SimProcess(const std::string& binary, const nlohmann::json& spec, const fs::path& dir) {
  const std::string port_file = (dir / "port").string();
  fs::remove(port_file);
  const std::string gen = spec.dump();
  std::vector<std::string> args{binary, "--generate", gen, "--port-file", port_file};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  if (posix_spawn(&m_pid, binary.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
    throw std::runtime_error("cannot start " + binary);
  }
  for (int i = 0; i < 1200 && m_port == 0; ++i) {
    std::ifstream in(port_file);
    in >> m_port;
    if (m_port == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (m_port == 0) {
    kill(m_pid, SIGTERM);
    waitpid(m_pid, nullptr, 0);
    throw std::runtime_error("the simulator did not start");
  }
}

SimProcess::~SimProcess() {
  kill(m_pid, SIGTERM);
  waitpid(m_pid, nullptr, 0);
}

namespace {

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Curl = std::unique_ptr<CURL, CurlDeleter>;
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

size_t keep_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// POSTs body to url on handle h and returns the response body; throws unless the status is 200.
std::string post(CURL* h, const std::string& url, curl_slist* headers, const std::string& body) {
  std::string out;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // as acmon asks
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK || status != 200) {
    throw std::runtime_error(url + ": " + (rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP " + std::to_string(status)) +
                             " " + out.substr(0, 300));
  }
  return out;
}

// The NextToken of a page, found by text search: the one thing the bare client reads.
std::string next_token(const std::string& body) {
  static const std::string k_key = "\"NextToken\":\"";
  const auto at = body.find(k_key);
  if (at == std::string::npos) {
    return {};
  }
  const auto from = at + k_key.size();
  return body.substr(from, body.find('"', from) - from);
}

}  // namespace

void SimProcess::set_faults(const nlohmann::json& faults) const {
  Curl h(curl_easy_init());
  Slist headers(curl_slist_append(nullptr, "Content-Type: application/json"));
  (void)post(h.get(), endpoint() + "/_sim/faults", headers.get(), faults.dump());
}

BareResult bare_fetch(const std::string& endpoint, const std::string& access_key_id, const std::string& secret,
                      const std::vector<BareScope>& scopes) {
  BareResult result;
  const std::string host = endpoint.substr(endpoint.find("://") + 3);
  const std::string empty;
  Curl h(curl_easy_init());
  SystemClock clock;
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& scope : scopes) {
    std::string token;
    const long pages = scope.next_token ? 0 : std::max(1L, (scope.codes + 49) / 50);
    for (long page = 1; scope.next_token || page <= pages; ++page) {
      signing::Params params(scope.params.begin(), scope.params.end());
      if (scope.next_token) {
        params["MaxResults"] = "50";
        if (!token.empty()) {
          params["NextToken"] = token;
        }
      } else {
        params["PageNumber"] = std::to_string(page);
        params["PageSize"] = "50";
      }
      signing::V3Input in;
      in.method = "POST";
      in.host = host;
      in.action = scope.action;
      in.version = scope.version;
      in.date = format_rfc3339(clock.now());
      in.nonce = crypto::random_hex(16);
      const auto signed_request = signing::v3_sign(in, params, access_key_id, secret);
      Slist headers(curl_slist_append(nullptr, "Accept: application/json"));
      headers.reset(curl_slist_append(headers.release(), "Expect:"));
      for (const auto& [k, v] : signed_request.headers) {
        if (k != "host") {
          std::string line = k;
          line.append(": ").append(v);
          headers.reset(curl_slist_append(headers.release(), line.c_str()));
        }
      }
      const std::string body = post(h.get(), endpoint + "/?" + signing::canonical_query(params), headers.get(), empty);
      ++result.pages;
      result.bytes += body.size();
      if (scope.next_token) {
        token = next_token(body);
        if (token.empty()) {
          break;
        }
      }
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.cpu_seconds = cpu_seconds() - cpu0;
  return result;
}

}  // namespace acmon::bench
