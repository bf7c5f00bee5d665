#include "acmon/model/snapshot.hpp"

#include <algorithm>
#include <iterator>

namespace acmon::model {

namespace {

AlertList::Chunks chunked(std::vector<AlertPtr> items) {
  AlertList::Chunks chunks;
  for (std::size_t at = 0; at < items.size(); at += AlertList::k_chunk) {
    const auto end = std::min(items.size(), at + AlertList::k_chunk);
    chunks.push_back(std::make_shared<const AlertList::Chunk>(std::make_move_iterator(items.begin() + at),
                                                              std::make_move_iterator(items.begin() + end)));
  }
  return chunks;
}

}  // namespace

AlertList::AlertList(std::vector<AlertRecord> items) {
  std::vector<AlertPtr> pointers;
  pointers.reserve(items.size());
  for (auto& a : items) {
    pointers.push_back(std::make_shared<const AlertRecord>(std::move(a)));
  }
  *this = AlertList(chunked(std::move(pointers)));
}

AlertList::AlertList(std::vector<AlertPtr> items) : AlertList(chunked(std::move(items))) {}

AlertList::AlertList(Chunks chunks) {
  for (const auto& c : chunks) {
    m_size += c->size();
  }
  m_chunks = std::make_shared<const Chunks>(std::move(chunks));
}

const AlertRecord& AlertList::operator[](std::size_t i) const {
  for (const auto& c : chunks()) {
    if (i < c->size()) {
      return *(*c)[i];
    }
    i -= c->size();
  }
  return *chunks().back()->back();  // out of range: the caller's error, as for a vector
}

const AlertList::Chunks& AlertList::none() {
  static const Chunks k_empty;
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
