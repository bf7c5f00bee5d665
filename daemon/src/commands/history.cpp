// acmon history
#include "commands.hpp"
#include "render.hpp"

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
  auto store = open_store_read_only(cfg);
  auto h = store->history(id, from);
  if (!h) {
    throw Failure{k_exit_failed, h.error().message};
  }
  if (json) {
    print_json<db::HistoryEntry>(std::cout, *h, &daemon::history_json);
    return 0;
  }
  if (h->empty()) {
    std::cout << "no history for " << id << "\n";
    return 0;
  }
  Table table({{"AT", 22}, {"EVENT", 10}, {"DETAIL", 37}, {"USED", 12}, {"COLLECTOR", 0}});
  for (const auto& e : *h) {
    table.add({format_rfc3339(e.at), e.event, or_dash(e.detail), used_text(e.snapshot), e.collector});
  }
  table.print(std::cout);
  return 0;
}

}  // namespace acmon::cli
