// Private to the configuration reader: one TOML table read key by key, errors as FILE:LINE: KEY: what.
#pragma once

#include <toml++/toml.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>

#include "acmon/core/config.hpp"
#include "acmon/core/text.hpp"
#include "acmon/core/time.hpp"

namespace acmon::config::toml_detail {

inline int line_of(const toml::node& n) {
  return static_cast<int>(n.source().begin.line);
}

// A configured value quoted in a message: escaped and short, whatever the file holds.
inline std::string quoted(std::string_view s) {
  return "'" + cap_text(s, 100) + "'";
}

inline bool valid_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
}

// Reads one TOML table, remembering which keys were consumed so unknown ones are refused.
class TableReader {
 public:
  TableReader(const toml::table& t, std::string prefix, const std::string& file)
      : m_table(t), m_prefix(std::move(prefix)), m_file(file) {}

  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    const toml::node* n = m_table.get(key);
    throw ConfigError(m_file, n != nullptr ? line_of(*n) : line_of(m_table), qualified(key), what);
  }
  [[noreturn]] void fail_table(const std::string& what) const {
    throw ConfigError(m_file, line_of(m_table), m_prefix, what);
  }
  // The entry's `name`, which other entries and labels refer to: refused unless valid_name.
  void check_name(const std::string& name) const {
    if (!valid_name(name)) {
      fail("name", quoted(name) + " may hold only letters, digits, '-', '_' and '.' (at most 64)");
    }
  }

  [[nodiscard]] std::string qualified(std::string_view key) const {
    return m_prefix.empty() ? std::string(key) : m_prefix + "." + std::string(key);
  }
  [[nodiscard]] int line() const { return line_of(m_table); }
  [[nodiscard]] bool has(std::string_view key) const { return m_table.contains(key); }

  std::optional<std::string> string(std::string_view key) {
    m_seen.insert(std::string(key));
    const toml::node* n = m_table.get(key);
    if (n == nullptr) {
      return std::nullopt;
    }
    if (!n->is_string()) {
      fail(key, std::string("expected a string, found ") + type_name(*n));
    }
    return std::string(n->as_string()->get());
  }

  std::string required_string(std::string_view key) {
    auto v = string(key);
    if (!v) {
      fail_table("missing required key " + quoted(key));
    }
    if (v->empty()) {
      fail(key, "must not be empty");
    }
    return *v;
  }

  std::optional<std::int64_t> duration(std::string_view key) {
    auto s = string(key);
    if (!s) {
      return std::nullopt;
    }
    auto d = parse_duration(*s);
    if (!d) {
      fail(key, quoted(*s) +
                    " is not a duration (a positive number with a unit s, m, h or d, e.g. \"30s\", \"5m\", \"7d\"; "
                    "at most 36525d)");
    }
    return d;
  }

  std::optional<bool> boolean(std::string_view key) {
    m_seen.insert(std::string(key));
    const toml::node* n = m_table.get(key);
    if (n == nullptr) {
      return std::nullopt;
    }
    if (!n->is_boolean()) {
      fail(key, std::string("expected true or false, found ") + type_name(*n));
    }
    return n->as_boolean()->get();
  }

  // A number in (lo, hi] (lo_open) or [lo, hi]; range says which in errors.
  std::optional<double> number(std::string_view key, double lo, double hi, bool lo_open, const char* range) {
    m_seen.insert(std::string(key));
    const toml::node* n = m_table.get(key);
    if (n == nullptr) {
      return std::nullopt;
    }
    double v = 0;
    if (n->is_floating_point()) {
      v = n->as_floating_point()->get();
    } else if (n->is_integer()) {
      v = static_cast<double>(n->as_integer()->get());
    } else {
      fail(key, std::string("expected a number, found ") + type_name(*n));
    }
    if (!((lo_open ? v > lo : v >= lo) && v <= hi)) {
      std::ostringstream os;
      os << v;
      fail(key, os.str() + " is out of range: " + range);
    }
    return v;
  }
  std::optional<double> fraction(std::string_view key) {
    return number(key, 0.0, 1.0, true, "a fraction of the limit, greater than 0 and at most 1 (e.g. 0.8)");
  }

  std::optional<std::vector<std::string>> string_array(std::string_view key) {
    m_seen.insert(std::string(key));
    const toml::node* n = m_table.get(key);
    if (n == nullptr) {
      return std::nullopt;
    }
    if (!n->is_array()) {
      fail(key, std::string("expected an array of strings, found ") + type_name(*n));
    }
    std::vector<std::string> out;
    for (const auto& el : *n->as_array()) {
      if (!el.is_string()) {
        throw ConfigError(m_file, line_of(el), qualified(key),
                          std::string("expected an array of strings, found an element of type ") + type_name(el));
      }
      std::string s(el.as_string()->get());
      if (s.empty()) {
        throw ConfigError(m_file, line_of(el), qualified(key), "an element is empty");
      }
      if (std::find(out.begin(), out.end(), s) != out.end()) {
        throw ConfigError(m_file, line_of(el), qualified(key), quoted(s) + " is listed twice");
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  // Refuses every key that no accessor asked for.
  void finish() const {
    for (const auto& [k, v] : m_table) {
      if (m_seen.count(std::string(k.str())) == 0) {
        throw ConfigError(m_file, line_of(v), qualified(k.str()), "unknown key");
      }
    }
  }

  static const char* type_name(const toml::node& n) {
    switch (n.type()) {
      case toml::node_type::string: return "a string";
      case toml::node_type::integer: return "an integer";
      case toml::node_type::floating_point: return "a float";
      case toml::node_type::boolean: return "a boolean";
      case toml::node_type::array: return "an array";
      case toml::node_type::table: return "a table";
      default: return "a date or time";
    }
  }

 private:
  const toml::table& m_table;
  std::string m_prefix;
  const std::string& m_file;
  std::set<std::string> m_seen;
};

// One [[accounts]] table (config_accounts.cpp).
Account read_account(const toml::table& t, const std::string& prefix, const std::string& file);
// One [[organizations]] table (config_accounts.cpp); its account must name an entry of cfg.
Organization read_organization(const toml::table& t, const std::string& prefix, const std::string& file,
                               const Config& cfg);

}  // namespace acmon::config::toml_detail
