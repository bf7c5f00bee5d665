#include "acmon/collectors/id_table.hpp"

#include <functional>
#include <string>

namespace acmon::collectors {

namespace {

std::uint64_t std_hash(std::string_view id) {
  return std::hash<std::string_view>{}(id);
}

// Probes beyond each id's first slot, over the whole listing. At most half full, an honest
// listing averages under one; this many is a listing made to collide.
constexpr std::size_t k_probes_per_id = 16;
constexpr std::size_t k_probes_slack = 4096;

}  // namespace

IdTable::IdTable(std::size_t expected, Hash hash) : m_hash(hash != nullptr ? hash : &std_hash) {
  std::size_t size = 16;
  while (size < 2 * expected) {
    size *= 2;
  }
  m_slots.resize(size);
}

void IdTable::grow(const std::vector<model::Code>& codes) {
  std::vector<Slot> old(m_slots.size() * 2);
  old.swap(m_slots);
  const std::size_t mask = m_slots.size() - 1;
  for (const Slot& s : old) {
    if (s.position == 0) {
      continue;
    }
    for (std::size_t at = m_hash(codes[s.position - 1].id) & mask;; at = (at + 1) & mask) {
      if (m_slots[at].position == 0) {
        m_slots[at] = s;
        break;
      }
    }
  }
}

IdTable::Found IdTable::add(const std::vector<model::Code>& codes, std::size_t i) {
  if (2 * (m_added + 1) > m_slots.size()) {
    grow(codes);
  }
  const std::string& id = codes[i].id;
  const std::uint64_t h = m_hash(id);
  const auto high = static_cast<std::uint32_t>(h >> 32);
  const std::size_t mask = m_slots.size() - 1;
  for (std::size_t at = h & mask;; at = (at + 1) & mask) {
    Slot& slot = m_slots[at];
    if (slot.position == 0) {
      slot = {static_cast<std::uint32_t>(i + 1), high};
      ++m_added;
      return Found::added;
    }
    if (slot.hash_high == high && codes[slot.position - 1].id == id) {
      m_earlier = slot.position - 1;
      return Found::repeat;
    }
    if (++m_probes > k_probes_per_id * m_added + k_probes_slack) {
      return Found::flood;
    }
  }
}

}  // namespace acmon::collectors
