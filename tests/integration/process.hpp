// Helpers for tests that run real programs (Alertmanager, Prometheus) on loopback.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace acmon::testing {

// A port that was free a moment ago (bind to 0, read it, close).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// An empty scratch folder, temp/<prefix>-<pid>, with a `secret` file (mode 0600) when secret is
// given.
inline std::filesystem::path scratch_dir(const std::string& prefix, const std::string& secret = "") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  if (!secret.empty()) {
    std::ofstream(dir / "secret") << secret;
    fs::permissions(dir / "secret", fs::perms::owner_read | fs::perms::owner_write);
  }
  return dir;
}

// A child process, terminated (SIGTERM, then SIGKILL) when this goes out of scope.
class Process {
 public:
  explicit Process(std::vector<std::string> args, const std::string& log_file = "/dev/null") {
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const int rc = posix_spawnp(&m_pid, args[0].c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      throw std::runtime_error("cannot start " + args[0]);
    }
  }
  ~Process() { stop(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void stop() {
    if (m_pid <= 0) {
      return;
    }
    ::kill(m_pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(m_pid, nullptr, WNOHANG) == m_pid) {
        m_pid = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
    m_pid = -1;
  }
  [[nodiscard]] pid_t pid() const { return m_pid; }

  struct Exit {
    int status = -1;       // exit status, or -1 when killed by a signal
    int signal = 0;        // the signal that ended it
    long max_rss_kib = 0;  // peak resident memory
  };
  // Waits for the process to end by itself.
  Exit wait() {
    Exit e;
    int st = 0;
    rusage ru{};
    if (m_pid > 0 && ::wait4(m_pid, &st, 0, &ru) == m_pid) {
      m_pid = -1;
      e.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      e.signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
      e.max_rss_kib = ru.ru_maxrss;
    }
    return e;
  }

 private:
  pid_t m_pid = -1;
};

}  // namespace acmon::testing
