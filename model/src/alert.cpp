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
  std::vector<std::pair<std::string, std::string>> l;
  for_each_label([&](const char* label, const std::string& value) { l.emplace_back(label, value); });
  return l;
}

}  // namespace acmon::model
