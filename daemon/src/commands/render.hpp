// How the commands print: one table renderer for codes, alerts and history, and the JSON of
// records (acmon/daemon/records_json.hpp).
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "acmon/core/time.hpp"
#include "acmon/daemon/records_json.hpp"
#include "acmon/model/code.hpp"

namespace acmon::cli {

// Columns of fixed width, a header line, then rows; a cell wider than its column is cut with "~".
// The last column takes what is left of the line (no padding).
class Table {
 public:
  struct Column {
    std::string title;
    std::size_t width;
  };
  explicit Table(std::vector<Column> columns) : m_columns(std::move(columns)) {}
  // Cells beyond the columns are ignored; missing ones are blank.
  void add(std::vector<std::string> cells) { m_rows.push_back(std::move(cells)); }
  // Header first; with header false, the rows only.
  void print(std::ostream& out, bool header = true) const;

 private:
  void line(std::ostream& out, const std::vector<std::string>& cells) const;
  std::vector<Column> m_columns;
  std::vector<std::vector<std::string>> m_rows;
};

// A JSON array of records, indented, on out.
template <class T>
void print_json(std::ostream& out, const std::vector<T>& records,
                const std::function<nlohmann::ordered_json(const T&)>& render) {
  out << daemon::json_array(records, render).dump(2) << "\n";
}

// "registered/limit", "-" for an unknown count.
std::string used_text(const model::Code& c);
// An RFC 3339 time with "(in 3d 4h)" or "(past)" against now; "-" for none.
std::string expires_text(const std::optional<UnixTime>& at, UnixTime now);
// "-" for an empty string.
std::string or_dash(const std::string& s);

}  // namespace acmon::cli
