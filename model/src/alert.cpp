#include "acmon/model/alert.hpp"

namespace acmon::model {

std::string AlertRecord::key() const {
  std::string k = rule;
  for (const std::string* part : {&severity, &product, &account, &region, &order_id, &code_id, &collector}) {
    k += '\x1f';
    k += *part;
  }
  return k;
}

std::vector<std::pair<std::string, std::string>> AlertRecord::labels() const {
  std::vector<std::pair<std::string, std::string>> l{{"rule", rule}, {"severity", severity}};
  if (!is_code_alert()) {
    l.emplace_back("collector", collector);
  }
  l.emplace_back("product", product);
  l.emplace_back("account", account);
  if (!region.empty()) {
    l.emplace_back("region", region);
  }
  if (!order_id.empty()) {
    l.emplace_back("order_id", order_id);
  }
  if (is_code_alert()) {
    l.emplace_back("id", code_id);
    l.emplace_back("name", name);
  }
  return l;
}

}  // namespace acmon::model
