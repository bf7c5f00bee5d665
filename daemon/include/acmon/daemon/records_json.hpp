// The records as JSON, one renderer for every place that prints or sends them: `acmon codes
// --json`, `acmon alerts --json`, `acmon history --json` and the webhook body. Keys follow SPEC.md,
// in its order.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "acmon/db/store.hpp"
#include "acmon/model/alert.hpp"
#include "acmon/model/stored.hpp"

namespace acmon::daemon {

// The unified code record of SPEC.md.
nlohmann::ordered_json code_json(const model::StoredCode& c);
// An alert.
nlohmann::ordered_json alert_json(const model::AlertRecord& a, UnixTime now);
// A history event: at, event, detail, collector, and the code as it was then (without the
// store's state and first/last seen).
nlohmann::ordered_json history_json(const db::HistoryEntry& e);

// A JSON array of records rendered by one of the functions above.
template <class T>
nlohmann::ordered_json json_array(const std::vector<T>& records,
                                  const std::function<nlohmann::ordered_json(const T&)>& render) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& r : records) {
    arr.push_back(render(r));
  }
  return arr;
}

}  // namespace acmon::daemon
