// What the daemon last knew: the codes of each scope, scope statuses and firing alerts. Alert
// evaluation reads it and the exporter renders it.
#pragma once

#include <cstddef>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "acmon/model/alert.hpp"
#include "acmon/model/code_list.hpp"

namespace acmon::model {

using AlertPtr = std::shared_ptr<const AlertRecord>;

// The firing alerts of a snapshot, in chunks of at most k_chunk records. Copies of a snapshot share
// the list, lists share their chunks and chunks their records: a new list with a few alerts
// changed copies the chunks that hold them and shares the rest, rather than 50,000 pointers (each
// copy an atomic count on a record of its own). Read like a vector of AlertRecord.
class AlertList {
 public:
  static constexpr std::size_t k_chunk = 256;
  using Chunk = std::vector<AlertPtr>;
  using Chunks = std::vector<std::shared_ptr<const Chunk>>;

  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = AlertRecord;
    using difference_type = std::ptrdiff_t;
    using pointer = const AlertRecord*;
    using reference = const AlertRecord&;
    Iterator() = default;
    Iterator(const Chunks* chunks, std::size_t chunk) : m_chunks(chunks), m_chunk(chunk) { skip_empty(); }
    reference operator*() const { return *(*(*m_chunks)[m_chunk])[m_at]; }
    pointer operator->() const { return (*(*m_chunks)[m_chunk])[m_at].get(); }
    // The record's shared pointer.
    [[nodiscard]] const AlertPtr& ptr() const { return (*(*m_chunks)[m_chunk])[m_at]; }
    Iterator& operator++() {
      ++m_at;
      skip_empty();
      return *this;
    }
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const Iterator& o) const { return m_chunk == o.m_chunk && m_at == o.m_at; }

   private:
    void skip_empty() {
      while (m_chunks != nullptr && m_chunk < m_chunks->size() && m_at >= (*m_chunks)[m_chunk]->size()) {
        ++m_chunk;
        m_at = 0;
      }
    }
    const Chunks* m_chunks = nullptr;
    std::size_t m_chunk = 0;
    std::size_t m_at = 0;
  };

  AlertList() = default;
  AlertList(std::vector<AlertRecord> items);  // NOLINT(google-explicit-constructor): assigned from vectors
  AlertList(std::vector<AlertPtr> items);     // NOLINT(google-explicit-constructor): assigned from vectors
  explicit AlertList(Chunks chunks);

  [[nodiscard]] const Chunks& chunks() const { return m_chunks ? *m_chunks : none(); }
  [[nodiscard]] Iterator begin() const { return {&chunks(), 0}; }
  [[nodiscard]] Iterator end() const { return {&chunks(), chunks().size()}; }
  [[nodiscard]] std::size_t size() const { return m_size; }
  [[nodiscard]] bool empty() const { return m_size == 0; }
  // The i-th record (i < size()); walks the chunks.
  const AlertRecord& operator[](std::size_t i) const;
  void clear() {
    m_chunks.reset();
    m_size = 0;
  }
  // Which list this is: copies of a list are the same list.
  [[nodiscard]] const void* identity() const { return m_chunks.get(); }

 private:
  static const Chunks& none();
  std::shared_ptr<const Chunks> m_chunks;
  std::size_t m_size = 0;
};

// The daemon replaces it after each run and evaluation, cheaply: code lists are shared per scope
// and the alerts as a whole, so a new snapshot copies pointers, not 100,000 codes or their alerts.
struct Snapshot {
  std::map<std::string, std::shared_ptr<const CodeList>> codes;  // by scope_key()
  std::vector<ScopeStatus> scopes;
  AlertList alerts;  // firing only, newest first

  // f(const CodeRef&) for every code, scope by scope.
  template <typename F>
  void for_each_code(F&& f) const {
    for (const auto& [key, list] : codes) {
      list->for_each(f);
    }
  }
  [[nodiscard]] std::size_t code_count() const;
};

}  // namespace acmon::model
