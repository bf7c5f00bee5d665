// acmon run: the daemon, its signals and sd_notify.
#include <malloc.h>

#include <cstdlib>

#include "commands.hpp"

namespace acmon::cli {

int cmd_run(const std::string& path) {
  // Blocks of 128 KiB and more are mapped on their own and unmapped when freed, always: glibc would
  // raise that threshold after the first large block freed (a listing of 40,000 codes), and the
  // large lists of every later run and alert evaluation would then stay behind in the heap.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  auto cfg = load_config(path);
  check_credentials(cfg);
  auto web = load_web(cfg);
  setup_logging(cfg.daemon.log_level);
  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    sigaddset(&signals, sig);
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // One daemon per database, for the life of this process: a second would double every API call
  // and resolve the first one's alerts. The read-only commands take no such lock.
  auto writer = db::WriterLock::acquire(cfg.daemon.database);
  if (!writer) {
    throw Failure{k_exit_failed, writer.error().message};
  }
  auto store = open_store(cfg);
  SystemClock clock;
  daemon::Service service(cfg, std::move(store), clock);
  service.set_web(web);
  if (auto r = service.start(); !r) {
    throw Failure{k_exit_failed, r.error().message};
  }
  spdlog::info("acmon {} serving /metrics on port {} with {} collector(s)", ACMON_VERSION, service.port(),
               cfg.collectors.size());
  sd_notifyf(0, "READY=1\nSTATUS=started; %zu collector(s)\nMAINPID=%lu", cfg.collectors.size(),
             static_cast<unsigned long>(getpid()));
  std::uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  // Awake for the watchdog (twice a period), else every 5 s for the status systemctl shows, and
  // outside a service manager only for signals: an idle daemon costs no wake-ups.
  const bool managed = std::getenv("NOTIFY_SOCKET") != nullptr;
  const long tick_ms = watchdog  ? std::max<long>(100, static_cast<long>(watchdog_usec / 2000))
                       : managed ? 5000
                                 : 3600 * 1000;
  while (true) {
    timespec timeout{tick_ms / 1000, (tick_ms % 1000) * 1000000};
    siginfo_t info{};
    const int sig = sigtimedwait(&signals, &info, &timeout);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("{} received: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    if (sig == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      try {
        auto next = config::load_file(path);
        check_credentials(next);
        // An unusable web configuration refuses the whole reload, like any other error here.
        auto next_web = load_web(next);
        auto notes = service.reload(next);
        if (auto note = service.set_web(std::move(next_web)); !note.empty()) {
          notes += note + "; ";
        }
        spdlog::set_level(spdlog::level::from_str(next.daemon.log_level));
        spdlog::info("configuration reloaded from {}: {} collector(s){}", path, next.collectors.size(),
                     notes.empty() ? "" : "; " + notes);
      } catch (const config::ConfigError& e) {
        spdlog::error("reload refused, the running configuration is kept: {}", e.what());
      } catch (const Failure& f) {
        spdlog::error("reload refused, the running configuration is kept: {}", f.message);
      }
      sd_notify(0, "READY=1");
    }
    const std::string status = "STATUS=" + service.status();
    sd_notify(0, watchdog ? ("WATCHDOG=1\n" + status).c_str() : status.c_str());
  }
  sd_notify(0, "STOPPING=1");
  service.stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace acmon::cli
