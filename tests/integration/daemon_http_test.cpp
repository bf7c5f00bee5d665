// `acmon run` as a process under hostile HTTP clients on loopback: hundreds of idle or trickling
// connections, requests with huge headers, more connections than the server takes. /metrics,
// /healthz and /readyz keep answering within a second, SIGTERM stops within two, memory and
// descriptors stay bounded.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "acmon/core/http.hpp"
#include "process.hpp"

using namespace acmon;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr int k_slow_clients = 256;  // half idle, half trickling header bytes

double seconds_since(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}

void set_timeouts(int fd, milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// A socket connected to 127.0.0.1:port from the loopback address `from`, or -1. With a timeout,
// one that the server's backlog has not taken by then is returned still connecting.
int connect_to(int port, const char* from = "127.0.0.1", std::optional<milliseconds> timeout = std::nullopt) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, from, &src.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
    ::close(fd);
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (timeout) {
    set_timeouts(fd, *timeout);
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && (!timeout || errno != EINPROGRESS)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// A value of /proc/PID/status in KiB (VmRSS, VmHWM), or -1.
long proc_status_kib(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) == 0) {
      return std::stol(line.substr(key.size() + 1));
    }
  }
  return -1;
}

long open_fds(pid_t pid) {
  std::error_code ec;
  long n = 0;
  for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end; it.increment(ec)) {
    ++n;
  }
  return n;
}

struct Probe {
  int status = 0;
  double seconds = 0;
  std::string error;
};

// One GET on a new connection, as a scraper or a health check makes it.
Probe probe(int port, const std::string& path) {
  http::CurlTransport t;
  http::Request r;
  r.url = "http://127.0.0.1:" + std::to_string(port) + path;
  r.connect_timeout = milliseconds(5000);
  r.timeout = milliseconds(5000);
  const auto t0 = Steady::now();
  auto res = t.send(r);
  Probe p;
  p.seconds = seconds_since(t0);
  if (res) {
    p.status = res->status;
  } else {
    p.error = res.error().message;
  }
  return p;
}

// `acmon run` in a scratch folder, with no collectors (ready at once), its log kept for failures.
class DaemonHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = acmon::testing::scratch_dir("acmon-http");
    port = acmon::testing::free_port();
    std::ofstream(dir / "acmon.toml") << "[daemon]\ndatabase = \"" << (dir / "acmon.db").string()
                                      << "\"\nlisten = \"127.0.0.1:" << port << "\"\nlog_level = \"info\"\n";
  }

  void TearDown() override {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (HasFailure()) {
      std::ifstream in(dir / "acmon.log");
      std::stringstream s;
      s << in.rdbuf();
      std::cerr << "---- acmon.log\n" << s.str();
    }
    fs::remove_all(dir);
  }

  // Starts the daemon with at most max_fds descriptors (as systemd's default soft limit would).
  void start(int max_fds = 4096) {
    const std::string cmd = "ulimit -n " + std::to_string(max_fds) + " && exec '" + ACMON_EXE + "' run --config '" +
                            (dir / "acmon.toml").string() + "' >>'" + (dir / "acmon.log").string() + "' 2>&1";
    std::vector<std::string> args{"/bin/sh", "-c", cmd};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ASSERT_EQ(::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ), 0);
    for (int i = 0; i < 200; ++i) {
      if (probe(port, "/healthz").status == 200) {
        return;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    FAIL() << "acmon run did not answer /healthz";
  }

  // SIGTERM, then the seconds until the process has exited (waits at most `limit`; then SIGKILL).
  std::optional<double> terminate(milliseconds limit, int* status = nullptr) {
    const auto t0 = Steady::now();
    ::kill(pid, SIGTERM);
    while (Steady::now() - t0 < limit) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        if (status != nullptr) {
          *status = st;
        }
        return seconds_since(t0);
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
    return std::nullopt;
  }

  fs::path dir;
  int port = 0;
  pid_t pid = -1;
};

// Open connections that send nothing, or a request's header one byte at a time.
class SlowClients {
 public:
  SlowClients(int port, int idle, int trickling) {
    for (int i = 0; i < idle + trickling; ++i) {
      const int fd = connect_to(port);
      if (fd < 0) {
        continue;
      }
      (i < idle ? m_idle : m_trickling).push_back(fd);
    }
    for (int fd : m_trickling) {
      send_all(fd, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    m_thread = std::thread([this] {
      // One byte per connection every 100 ms; at most a minute, whatever the test does.
      const auto end = Steady::now() + std::chrono::seconds(60);
      while (!m_stop.load() && Steady::now() < end) {
        for (int fd : m_trickling) {
          ::send(fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        std::this_thread::sleep_for(milliseconds(100));
      }
    });
  }
  ~SlowClients() {
    m_stop = true;
    m_thread.join();
    for (int fd : m_idle) {
      ::close(fd);
    }
    for (int fd : m_trickling) {
      ::close(fd);
    }
  }
  SlowClients(const SlowClients&) = delete;
  SlowClients& operator=(const SlowClients&) = delete;

  [[nodiscard]] std::size_t connected() const { return m_idle.size() + m_trickling.size(); }
  // Connections the server has not closed (a non-blocking peek sees no EOF).
  [[nodiscard]] int still_open() const {
    int n = 0;
    for (const auto* list : {&m_idle, &m_trickling}) {
      for (int fd : *list) {
        char c = 0;
        const auto r = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        n += (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ? 1 : 0;
      }
    }
    return n;
  }

 private:
  std::vector<int> m_idle;
  std::vector<int> m_trickling;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

// How the server took a request whose header never ends: what it answered, and whether it
// stopped reading before everything was sent.
struct Refusal {
  std::string status_line;
  std::size_t sent = 0;
  bool cut_off = false;  // the server stopped reading and closed before everything was sent
  bool closed = false;   // the connection was closed without an answer
};

// Sends "GET /healthz", then `chunk` repeatedly (up to `total` bytes or 20 s), then reads the answer.
Refusal send_huge_header(int port, const std::string& chunk, std::size_t total) {
  Refusal out;
  const int fd = connect_to(port);
  if (fd < 0) {
    return out;
  }
  set_timeouts(fd, milliseconds(3000));
  const auto end = Steady::now() + std::chrono::seconds(20);
  if (send_all(fd, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")) {
    std::string block;
    while (block.size() < 64 * 1024) {
      block += chunk;
    }
    while (out.sent < total && Steady::now() < end) {
      if (!send_all(fd, block)) {
        out.cut_off = true;
        break;
      }
      out.sent += block.size();
    }
  }
  char buf[256];
  const auto n = ::recv(fd, buf, sizeof buf, 0);
  if (n > 0) {
    const std::string head(buf, static_cast<std::size_t>(n));
    out.status_line = head.substr(0, head.find("\r\n"));
  } else {
    out.closed = n == 0 || errno == ECONNRESET;
  }
  ::close(fd);
  return out;
}

bool refused(const Refusal& r) {
  // 431 (or 400/413/414), or a closed connection; not silence while the server keeps reading.
  return r.cut_off || r.closed || r.status_line.find(" 4") != std::string::npos;
}

}  // namespace

// The reproduction: 128 idle and 128 trickling connections held open while a scraper and
// a health check come; then SIGTERM with all of them still there.
TEST_F(DaemonHttp, SlowClientsNeitherDelayTheEndpointsNorAStop) {
  start();
  ASSERT_FALSE(HasFatalFailure());
  SlowClients slow(port, k_slow_clients / 2, k_slow_clients / 2);
  ASSERT_EQ(slow.connected(), static_cast<std::size_t>(k_slow_clients));
  std::this_thread::sleep_for(milliseconds(1500));  // long enough to take every worker a server has

  for (int round = 0; round < 3; ++round) {
    for (const char* path : {"/metrics", "/healthz", "/readyz"}) {
      const auto p = probe(port, path);
      EXPECT_EQ(p.status, 200) << path << " round " << round << ": " << p.error;
      EXPECT_LT(p.seconds, 1.0) << path << " round " << round;
      std::cout << "GET " << path << " with " << k_slow_clients << " slow clients: " << p.status << " in " << p.seconds
                << " s\n";
    }
  }
  EXPECT_EQ(slow.still_open(), k_slow_clients) << "the slow clients are still connected while the probes ran";

  int status = 0;
  const auto took = terminate(milliseconds(10000), &status);
  ASSERT_TRUE(took.has_value()) << "acmon run did not stop within 10 s of SIGTERM";
  std::cout << "SIGTERM with " << k_slow_clients << " slow clients: stopped in " << *took << " s\n";
  EXPECT_LT(*took, 2.0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

// A scraper that asks for gzip (as Prometheus does) gets the same page compressed; one that does not,
// the text. process_* moves between two scrapes and is left out of the comparison.
TEST_F(DaemonHttp, MetricsAreGzippedWhenTheScraperAsksForIt) {
  start();
  ASSERT_FALSE(HasFatalFailure());
  auto scrape = [this](const char* accept) {
    http::CurlTransport t;
    http::Request r;
    r.url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
    r.headers = {{"Accept-Encoding", accept}};
    return t.send(r);
  };
  auto without_process = [](const std::string& page) {
    std::istringstream in(page);
    std::string out;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("process_", 0) != 0) {
        out += line + "\n";
      }
    }
    return out;
  };
  auto zipped = scrape("gzip");
  auto plain = scrape("identity");
  ASSERT_TRUE(zipped && plain);
  EXPECT_EQ(zipped->header("content-encoding"), "gzip");
  EXPECT_EQ(plain->header("content-encoding"), "");
  EXPECT_EQ(zipped->header("vary"), "Accept-Encoding");
  EXPECT_EQ(zipped->header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(plain->body.find("# TYPE acmon_code_info gauge"), std::string::npos);
  EXPECT_EQ(without_process(zipped->body), without_process(plain->body));
}

// Two million small headers, then one header of 64 MiB: refused early, and the process does not grow.
TEST_F(DaemonHttp, HugeHeadersAreRefusedWithoutGrowing) {
  start();
  ASSERT_FALSE(HasFatalFailure());
  const long before = proc_status_kib(pid, "VmHWM");
  ASSERT_GT(before, 0);

  const auto many = send_huge_header(port, "X-A: b\r\n", 2'000'000 * 8);
  std::cout << "2M headers: sent " << many.sent << " bytes, answer '" << many.status_line << "'"
            << (many.cut_off || many.closed ? ", closed" : "") << "\n";
  EXPECT_TRUE(refused(many)) << many.status_line;
  const auto big = send_huge_header(port, "X-Big: " + std::string(1024, 'a'), 64U << 20U);
  std::cout << "64 MiB header: sent " << big.sent << " bytes, answer '" << big.status_line << "'"
            << (big.cut_off || big.closed ? ", closed" : "") << "\n";
  EXPECT_TRUE(refused(big)) << big.status_line;

  const long after = proc_status_kib(pid, "VmHWM");
  std::cout << "peak RSS " << before / 1024 << " MiB before, " << after / 1024 << " MiB after\n";
  EXPECT_LT(after - before, 64L * 1024) << "KiB of growth";
  const auto p = probe(port, "/healthz");
  EXPECT_EQ(p.status, 200) << p.error;
}

// More connections than the server takes, from three client addresses, with systemd's default soft
// limit of 1,024 descriptors: the extra ones wait or are closed, the daemon keeps descriptors for
// itself, and answers again once they are gone.
TEST_F(DaemonHttp, ConnectionFloodLeavesDescriptorsForTheDaemon) {
  start(1024);
  ASSERT_FALSE(HasFatalFailure());
  std::vector<int> flood;
  const auto end = Steady::now() + std::chrono::seconds(8);
  for (int i = 0; i < 1100 && Steady::now() < end; ++i) {
    static const char* const k_from[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
    const int fd = connect_to(port, k_from[i % 3], milliseconds(100));
    if (fd >= 0) {
      flood.push_back(fd);
    }
  }
  std::this_thread::sleep_for(milliseconds(1000));  // let the server accept what it will
  const long fds = open_fds(pid);
  std::cout << flood.size() << " connections opened or opening; the daemon holds " << fds << " descriptors\n";
  EXPECT_LT(fds, 1024 - 256) << "the daemon must keep a quarter of its descriptors for collectors and the database";
  for (int fd : flood) {
    ::close(fd);
  }
  const auto t0 = Steady::now();
  Probe p;
  while (seconds_since(t0) < 5) {
    p = probe(port, "/healthz");
    if (p.status == 200) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(p.status, 200) << "after the flood: " << p.error;
  std::cout << "after the flood /healthz answers within " << seconds_since(t0) << " s\n";
}
