// acmon alerts
#include "commands.hpp"
#include "render.hpp"

namespace acmon::cli {

int cmd_alerts(const std::string& path, bool json, bool all) {
  const auto cfg = load_config(path);
  auto store = open_store_read_only(cfg);
  auto alerts = store->alerts(all);
  if (!alerts) {
    throw Failure{k_exit_failed, alerts.error().message};
  }
  const UnixTime now = SystemClock().now();  // a counting summary reads as of now
  if (json) {
    print_json<model::AlertRecord>(std::cout, *alerts,
                                   [&](const model::AlertRecord& a) { return daemon::alert_json(a, now); });
    return 0;
  }
  std::vector<Table::Column> columns{{"RULE", 25},    {"SEVERITY", 10}, {"PRODUCT", 8}, {"ACCOUNT", 12},
                                     {"SUBJECT", 30}, {"SUMMARY", 28},  {"SINCE", 22}};
  if (all) {
    columns.push_back({"ENDED", 0});
  }
  Table table(std::move(columns));
  for (const auto& a : *alerts) {
    std::string subject = a.is_code_alert() ? a.code_id : a.collector;
    for (const auto* part : {&a.region, &a.order_id}) {
      if (!part->empty()) {
        subject += " " + *part;
      }
    }
    table.add({a.rule, a.severity, a.product, a.account, subject, a.summary_at(now), format_rfc3339(a.starts_at),
               a.ends_at ? format_rfc3339(*a.ends_at) : std::string("firing")});
  }
  table.print(std::cout);
  std::cout << alerts->size() << " alert(s)\n";
  return 0;
}

}  // namespace acmon::cli
