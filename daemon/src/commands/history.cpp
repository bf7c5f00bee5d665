// acmon history
#include "commands.hpp"

namespace acmon::cli {

int cmd_history(const std::string& path, const std::string& id, bool json, const std::string& since) {
  std::optional<UnixTime> from;
  SystemClock clock;
  if (!since.empty()) {
    auto d = parse_duration(since);
    if (!d) {
      throw Failure{k_exit_usage, "--since " + since + ": not a duration such as 7d or 12h"};
    }
    from = clock.now() - *d;
  }
  const auto cfg = load_config(path);
  auto store = open_store(cfg);
  auto h = store->history(id, from);
  if (!h) {
    throw Failure{k_exit_failed, h.error().message};
  }
  if (json) {
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const auto& e : *h) {
      model::StoredCode sc;
      sc.code = e.snapshot;
      nlohmann::ordered_json snap = daemon::code_json(sc);
      snap.erase("state");
      snap.erase("first_seen");
      snap.erase("last_seen");
      arr.push_back(nlohmann::ordered_json{{"at", format_rfc3339(e.at)},
                                           {"event", e.event},
                                           {"detail", e.detail},
                                           {"collector", e.collector},
                                           {"snapshot", snap}});
    }
    std::cout << arr.dump(2) << "\n";
    return 0;
  }
  if (h->empty()) {
    std::cout << "no history for " << id << "\n";
    return 0;
  }
  for (const auto& e : *h) {
    const auto& c = e.snapshot;
    std::string used = c.registered ? std::to_string(*c.registered) : "-";
    if (c.limit) {
      used += "/" + std::to_string(*c.limit);
    }
    std::cout << format_rfc3339(e.at) << "  " << pad(e.event, 9) << " " << pad(e.detail.empty() ? "-" : e.detail, 36)
              << " used " << used << "  " << e.collector << "\n";
  }
  return 0;
}

}  // namespace acmon::cli
