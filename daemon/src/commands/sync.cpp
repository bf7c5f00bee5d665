// acmon sync
#include "commands.hpp"

namespace acmon::cli {

int cmd_sync(const std::string& path, const std::vector<std::string>& only, bool no_notify) {
  auto cfg = load_config(path);
  for (const auto& name : only) {
    if (cfg.find_collector(name) == nullptr) {
      std::string names;
      for (const auto& c : cfg.collectors) {
        names += (names.empty() ? "" : ", ") + c.name;
      }
      throw Failure{k_exit_usage, "--collector " + name + ": no such collector in " + cfg.path +
                                      (names.empty() ? " (it has none)" : " (it has: " + names + ")")};
    }
  }
  setup_logging(cfg.daemon.log_level);
  auto store = open_store(cfg);
  http::CurlTransport transport;
  SystemClock clock;
  api::RealSleeper sleeper;
  api::Client client(transport, clock, sleeper);
  daemon::Syncer syncer(cfg, *store, client, clock);
  const auto outcomes = syncer.run(only);
  bool failed = false;
  for (const auto& [name, listing] : syncer.members()) {
    for (const auto& m : listing.skipped) {
      std::cout << "organization " << name << ": member " << m.account_id << " (" << m.display_name
                << ") skipped: status " << m.status << "\n";
    }
    if (listing.error) {
      std::cout << "organization " << name << ": FAILED to list the members: " << listing.error->describe() << "\n";
    }
  }
  if (auto stored = store->members(); stored) {
    cfg.members = std::move(*stored);  // as the exporter would see them: the current members
  }
  for (const auto& o : outcomes) {
    std::cout << daemon::summary_line(o) << "\n";
    failed = failed || !o.ok;
  }
  if (auto pruned = store->prune(clock.now() - cfg.daemon.retention); !pruned) {
    std::cerr << "acmon: pruning history: " << daemon::naming_database(*store, pruned.error().message) << "\n";
  }
  const UnixTime now = clock.now();
  const auto changes = evaluate_now(cfg, *store, now);
  for (const auto& a : changes.started) {
    std::cout << "alert firing: " << a.rule << " " << a.severity << " " << (a.is_code_alert() ? a.code_id : a.collector)
              << ": " << a.summary_at(now) << "\n";
  }
  for (const auto& a : changes.resolved) {
    std::cout << "alert resolved: " << a.rule << " " << a.severity << " "
              << (a.is_code_alert() ? a.code_id : a.collector) << "\n";
  }
  if (!no_notify) {
    std::mutex store_mutex;
    for (const auto& n : cfg.notify) {
      // One run, one delivery: each receiver is told everything it is owed before the command ends.
      auto r = daemon::deliver(n, transport, *store, store_mutex, clock.now(), "",
                               std::chrono::steady_clock::duration::max());
      if (!r) {
        std::cerr << "acmon: notifying " << daemon::target_name(n) << ": " << r.error().describe() << "\n";
      }
    }
  }
  if (outcomes.empty()) {
    std::cout << "no collectors configured in " << cfg.path << "\n";
  }
  return failed ? k_exit_failed : 0;
}

}  // namespace acmon::cli
