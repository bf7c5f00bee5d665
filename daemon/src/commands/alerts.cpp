// acmon alerts
#include "commands.hpp"

namespace acmon::cli {

int cmd_alerts(const std::string& path, bool json, bool all) {
  const auto cfg = load_config(path);
  auto store = open_store(cfg);
  auto alerts = store->alerts(all);
  if (!alerts) {
    throw Failure{k_exit_failed, alerts.error().message};
  }
  if (json) {
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const auto& a : *alerts) {
      arr.push_back(daemon::alert_json(a));
    }
    std::cout << arr.dump(2) << "\n";
    return 0;
  }
  std::cout << pad("RULE", 19) << pad("SEVERITY", 10) << pad("PRODUCT", 8) << pad("ACCOUNT", 12) << pad("SUBJECT", 30)
            << pad("SUMMARY", 28) << pad("SINCE", 22) << (all ? "ENDED" : "") << "\n";
  for (const auto& a : *alerts) {
    std::string subject = a.is_code_alert() ? a.code_id : a.collector;
    if (!a.region.empty()) {
      subject += " " + a.region;
    }
    if (!a.order_id.empty()) {
      subject += " " + a.order_id;
    }
    std::cout << pad(a.rule, 19) << pad(a.severity, 10) << pad(a.product, 8) << pad(a.account, 12) << pad(subject, 30)
              << pad(a.summary, 28) << pad(format_rfc3339(a.starts_at), 22)
              << (all ? (a.ends_at ? format_rfc3339(*a.ends_at) : std::string("firing")) : std::string()) << "\n";
  }
  std::cout << alerts->size() << " alert(s)\n";
  return 0;
}

}  // namespace acmon::cli
