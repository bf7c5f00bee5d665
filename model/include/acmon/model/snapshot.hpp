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

// The firing alerts of a snapshot. Copies of a snapshot share the list, and lists share their
// records: a new list with a few alerts changed copies pointers, not 50,000 records. Read like a
// vector of AlertRecord.
class AlertList {
 public:
  using Pointers = std::vector<AlertPtr>;
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = AlertRecord;
    using difference_type = std::ptrdiff_t;
    using pointer = const AlertRecord*;
    using reference = const AlertRecord&;
    Iterator() = default;
    explicit Iterator(Pointers::const_iterator it) : m_it(it) {}
    reference operator*() const { return **m_it; }
    pointer operator->() const { return m_it->get(); }
    Iterator& operator++() {
      ++m_it;
      return *this;
    }
    Iterator operator++(int) {
      Iterator old = *this;
      ++m_it;
      return old;
    }
    bool operator==(const Iterator&) const = default;

   private:
    Pointers::const_iterator m_it;
  };

  AlertList() = default;
  AlertList(std::vector<AlertRecord> items);  // NOLINT(google-explicit-constructor): assigned from vectors
  AlertList(Pointers items);                  // NOLINT(google-explicit-constructor): assigned from vectors

  [[nodiscard]] const Pointers& pointers() const { return m_items ? *m_items : none(); }
  [[nodiscard]] Iterator begin() const { return Iterator(pointers().begin()); }
  [[nodiscard]] Iterator end() const { return Iterator(pointers().end()); }
  [[nodiscard]] std::size_t size() const { return pointers().size(); }
  [[nodiscard]] bool empty() const { return pointers().empty(); }
  const AlertRecord& operator[](std::size_t i) const { return *pointers()[i]; }
  void clear() { m_items.reset(); }
  // Which list this is: copies of a list are the same list.
  [[nodiscard]] const void* identity() const { return m_items.get(); }

 private:
  static const Pointers& none();
  std::shared_ptr<const Pointers> m_items;
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
