// What the daemon last knew: the codes of each scope, scope statuses and firing alerts. Alert
// evaluation reads it and the exporter renders it.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "acmon/model/alert.hpp"
#include "acmon/model/code_list.hpp"

namespace acmon::model {

// A list that copies of a snapshot share: copying it copies a pointer, and a change gives the
// changed copy a list of its own (copy on write). Read like a vector.
template <typename T>
class SharedList {
 public:
  SharedList() = default;
  SharedList(std::vector<T> items)  // NOLINT(google-explicit-constructor): assigned from vectors
      : m_items(std::make_shared<std::vector<T>>(std::move(items))) {}

  [[nodiscard]] const std::vector<T>& items() const { return m_items ? *m_items : none(); }
  [[nodiscard]] auto begin() const { return items().begin(); }
  [[nodiscard]] auto end() const { return items().end(); }
  [[nodiscard]] std::size_t size() const { return items().size(); }
  [[nodiscard]] bool empty() const { return items().empty(); }
  const T& operator[](std::size_t i) const { return items()[i]; }

  void clear() { m_items.reset(); }
  void push_back(T item) { own().push_back(std::move(item)); }

 private:
  static const std::vector<T>& none() {
    static const std::vector<T> k_empty;
    return k_empty;
  }
  // The list to change: this copy's own (a list no other copy holds is changed in place).
  std::vector<T>& own() {
    if (!m_items) {
      m_items = std::make_shared<std::vector<T>>();
    } else if (m_items.use_count() > 1) {
      m_items = std::make_shared<std::vector<T>>(*m_items);
    }
    return *m_items;
  }
  std::shared_ptr<std::vector<T>> m_items;
};

// The daemon replaces it after each run and evaluation, cheaply: code lists are shared per scope
// and the alerts as a whole, so a new snapshot copies pointers, not 100,000 codes or their alerts.
struct Snapshot {
  std::map<std::string, std::shared_ptr<const CodeList>> codes;  // by scope_key()
  std::vector<ScopeStatus> scopes;
  SharedList<AlertRecord> alerts;  // firing only

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
