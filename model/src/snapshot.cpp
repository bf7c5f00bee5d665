#include "acmon/model/snapshot.hpp"

namespace acmon::model {

AlertList::AlertList(std::vector<AlertRecord> items) {
  Pointers pointers;
  pointers.reserve(items.size());
  for (auto& a : items) {
    pointers.push_back(std::make_shared<const AlertRecord>(std::move(a)));
  }
  m_items = std::make_shared<const Pointers>(std::move(pointers));
}

AlertList::AlertList(Pointers items) : m_items(std::make_shared<const Pointers>(std::move(items))) {}

const AlertList::Pointers& AlertList::none() {
  static const Pointers k_empty;
  return k_empty;
}

std::size_t Snapshot::code_count() const {
  std::size_t n = 0;
  for (const auto& [key, list] : codes) {
    n += list->size();
  }
  return n;
}

}  // namespace acmon::model
