// The ids a listing holds so far, to find one listed twice as soon as its page arrives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "acmon/model/code.hpp"

namespace acmon::collectors {

// Open addressing over (position in the listing, upper half of the id's hash), at most half full:
// flat, where a hash set of 100,000 ids would be 100,000 nodes. An id is compared whole only where
// the hashes agree. The hash is not keyed (std::hash), so an answer can be made of ids that all
// hash alike, and each would be compared with every other; the table counts its probes, and a
// listing that needs many more than any honest one could is refused (Found::flood) rather than
// costing time that grows with the square of its size.
class IdTable {
 public:
  using Hash = std::uint64_t (*)(std::string_view id);
  enum class Found { added, repeat, flood };

  // expected: how many ids to make room for at first (the table grows past it). hash: for tests.
  explicit IdTable(std::size_t expected = 0, Hash hash = nullptr);

  // Adds codes[i].id; every earlier index must have been added, and codes must not change them.
  // repeat: an earlier code has that id (nothing added). flood: too many probes so far; the table
  // is not to be used again.
  Found add(const std::vector<model::Code>& codes, std::size_t i);
  // After add() found a repeat: the index of the earlier code with that id.
  [[nodiscard]] std::size_t earlier() const { return m_earlier; }

 private:
  struct Slot {
    std::uint32_t position = 0;  // 1 + the index in codes; 0: empty
    std::uint32_t hash_high = 0;
  };
  void grow(const std::vector<model::Code>& codes);

  Hash m_hash;
  std::vector<Slot> m_slots;
  std::size_t m_added = 0;
  std::size_t m_probes = 0;
  std::size_t m_earlier = 0;
};

}  // namespace acmon::collectors
