#include "acmon/model/snapshot.hpp"

namespace acmon::model {

std::size_t Snapshot::code_count() const {
  std::size_t n = 0;
  for (const auto& [key, list] : codes) {
    n += list->size();
  }
  return n;
}

}  // namespace acmon::model
