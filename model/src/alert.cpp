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
  // Which way it counts: down to a moment after the alert started (an expiry, a forecast) or up from
  // one before (a last success). Read after the moment it counts down to (from a database, before
  // the evaluation that ends it) it reads 0s, not the time since as if still to come. A record
  // that does not know when it started counts the distance either way.
  std::int64_t span = 0;
  if (starts_at == 0) {
    span = *span_at > when ? *span_at - when : when - *span_at;
  } else if (*span_at > starts_at) {
    span = std::max<std::int64_t>(0, *span_at - when);
  } else {
    span = std::max<std::int64_t>(0, when - *span_at);
  }
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
