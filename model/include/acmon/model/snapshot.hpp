// What the daemon last knew: the codes of each scope, scope statuses and firing alerts. Alert
// evaluation reads it and the exporter renders it.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "acmon/model/alert.hpp"
#include "acmon/model/stored.hpp"

namespace acmon::model {

using CodeList = std::vector<StoredCode>;

// The daemon replaces it (cheaply: code lists are shared per scope) after each run and evaluation.
struct Snapshot {
  std::map<std::string, std::shared_ptr<const CodeList>> codes;  // by scope_key()
  std::vector<ScopeStatus> scopes;
  std::vector<AlertRecord> alerts;  // firing only

  template <typename F>
  void for_each_code(F&& f) const {
    for (const auto& [key, list] : codes) {
      for (const auto& c : *list) {
        f(c);
      }
    }
  }
  [[nodiscard]] std::size_t code_count() const;
};

}  // namespace acmon::model
