#include "render.hpp"

namespace acmon::cli {

void Table::line(std::ostream& out, const std::vector<std::string>& cells) const {
  for (std::size_t i = 0; i < m_columns.size(); ++i) {
    std::string cell = i < cells.size() ? cells[i] : std::string();
    const std::size_t width = m_columns[i].width;
    if (i + 1 < m_columns.size()) {
      if (cell.size() > width) {
        cell = cell.substr(0, width - 1) + "~";
      }
      cell.resize(width, ' ');
    }
    out << cell;
  }
  out << "\n";
}

void Table::print(std::ostream& out, bool header) const {
  if (header) {
    std::vector<std::string> titles;
    titles.reserve(m_columns.size());
    for (const auto& c : m_columns) {
      titles.push_back(c.title);
    }
    line(out, titles);
  }
  for (const auto& r : m_rows) {
    line(out, r);
  }
}

std::string used_text(const model::Code& c) {
  std::string used = c.registered ? std::to_string(*c.registered) : "-";
  if (c.limit) {
    used += "/" + std::to_string(*c.limit);
  }
  return used;
}

std::string expires_text(const std::optional<UnixTime>& at, UnixTime now) {
  if (!at) {
    return "-";
  }
  return format_rfc3339(*at) + (*at > now ? " (in " + format_span(*at - now) + ")" : " (past)");
}

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

}  // namespace acmon::cli
