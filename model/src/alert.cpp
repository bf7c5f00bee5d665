#include "acmon/model/alert.hpp"

#include <algorithm>

namespace acmon::model {

std::string AlertRecord::key() const {
  std::string k = rule;
  for (const std::string* part : {&severity, &product, &account, &region, &order_id, &code_id, &collector}) {
    k += '\x1f';
    k += *part;
  }
  return k;
}

std::string AlertRecord::summary_at(UnixTime now) const {
  if (!span_at) {
    return summary;
  }
  const auto at = summary.find(k_span);
  if (at == std::string::npos) {
    return summary;
  }
  const UnixTime when = ends_at ? std::min(now, *ends_at) : now;
  const std::int64_t span = *span_at > when ? *span_at - when : when - *span_at;
  std::string out = summary;
  out.replace(at, k_span.size(), format_span(span));
  return out;
}

std::vector<std::pair<std::string, std::string>> AlertRecord::labels() const {
  std::vector<std::pair<std::string, std::string>> l;
  for_each_label([&](const char* label, const std::string& value) { l.emplace_back(label, value); });
  return l;
}

}  // namespace acmon::model
