// Field readers of API items, with every quirk of API.md: numbers and booleans as strings,
// whitespace, documented ranges, ids, times.
#include <algorithm>
#include <charconv>

#include "parse.hpp"

#include "acmon/core/text.hpp"

namespace acmon::collectors::detail {

using simdjson::dom::element_type;

namespace {

Error field_error(std::string_view field, const std::string& what) {
  return make_error(ErrorKind::parse, std::string("field ").append(field).append(": ") + cap_text(what));
}

// How a wrong value is named in a message: by its type, and a string by a short prefix. Never
// the value serialised: it may be huge, or nested deeply enough to exhaust the stack.
std::string describe_value(Item v) {
  switch (v.type()) {
    case element_type::STRING: return "'" + cap_text(std::string_view(v.get_string().value_unsafe()), 40) + "'";
    case element_type::NULL_VALUE: return "null";
    case element_type::OBJECT: return "an object";
    case element_type::ARRAY: return "an array";
    case element_type::BOOL: return "a boolean";
    case element_type::INT64: return v.get_int64().value_unsafe() < 0 ? "a negative integer" : "an integer";
    case element_type::UINT64: return "an integer";
    case element_type::DOUBLE: return "a fractional number";
  }
  return "an unknown value";
}

// The field's value; nullopt when it is absent or null.
std::optional<Item> field_of(Item item, std::string_view field) {
  Item v;
  if (item[field].get(v) != simdjson::SUCCESS || v.is_null()) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

constexpr std::size_t k_max_id = 256;
constexpr std::size_t k_max_text = 4096;

// Absent or null is nullopt; a whole number (or a numeric string) in range is the value; anything
// else an error.
Result<model::Code> new_code(Item item, const char* what, config::Product product, const std::string& account) {
  if (!item.is_object()) {
    return make_error(ErrorKind::parse, std::string(what) + " is not a JSON object");
  }
  model::Code c;
  c.product = product;
  c.account = account;
  return c;
}

Result<model::Code> parse_dumped(const nlohmann::json& item, const std::function<Result<model::Code>(Item)>& parse) {
  const std::string text = item.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return parse_text(text, parse);
}

Result<model::Code> parse_text(std::string_view text, const std::function<Result<model::Code>(Item)>& parse) {
  simdjson::dom::parser parser;
  Item doc;
  if (const auto err = parser.parse(simdjson::padded_string(text)).get(doc); err != simdjson::SUCCESS) {
    return make_error(ErrorKind::parse, std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  return parse(doc);
}

Result<std::optional<std::int64_t>> get_int(Item item, std::string_view field, Range range) {
  const auto it = field_of(item, field);
  if (!it) {
    return std::optional<std::int64_t>();
  }
  std::optional<std::int64_t> v;
  bool too_large = false;
  switch (it->type()) {
    case element_type::UINT64: too_large = true; break;  // simdjson gives UINT64 only above INT64_MAX
    case element_type::INT64: v = it->get_int64().value_unsafe(); break;
    case element_type::STRING: {
      const std::string_view s = trim(it->get_string().value_unsafe());
      if (s.empty()) {
        return std::optional<std::int64_t>();
      }
      std::int64_t n = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec == std::errc() && p == s.data() + s.size()) {
        v = n;
      }
      too_large = ec == std::errc::result_out_of_range;
      break;
    }
    default: break;
  }
  if (too_large || (v && (*v < range.min || *v > range.max))) {
    return field_error(field, describe_value(*it) + " is outside the documented range " + std::to_string(range.min) +
                                  " to " + std::to_string(range.max));
  }
  if (!v) {
    return field_error(field, "expected an integer, found " + describe_value(*it));
  }
  return v;
}

// start + n * unit, when the sum is a time acmon can store and print (years 1970 to 9999).
Result<std::optional<UnixTime>> expiry(std::optional<UnixTime> start, std::optional<std::int64_t> n, std::int64_t unit,
                                       const char* field) {
  if (!start || !n) {
    return std::optional<UnixTime>();
  }
  std::int64_t span = 0;
  UnixTime end = 0;
  if (__builtin_mul_overflow(*n, unit, &span) || __builtin_add_overflow(*start, span, &end) || end < 0 ||
      end > k_max_rfc3339) {
    return field_error(field, "the expiry it gives falls outside the years 1970 to 9999");
  }
  return std::optional<UnixTime>(end);
}

Result<std::optional<bool>> get_bool(Item item, std::string_view field) {
  const auto it = field_of(item, field);
  if (!it) {
    return std::optional<bool>();
  }
  if (it->is_bool()) {
    return std::optional<bool>(it->get_bool().value_unsafe());
  }
  if (it->is_string()) {
    const std::string_view s = trim(it->get_string().value_unsafe());
    if (s == "true" || s == "True") {
      return std::optional<bool>(true);
    }
    if (s == "false" || s == "False") {
      return std::optional<bool>(false);
    }
  }
  return field_error(field, "expected a boolean, found " + describe_value(*it));
}

Result<std::string> get_string(Item item, std::string_view field) {
  const auto it = field_of(item, field);
  if (!it) {
    return std::string();
  }
  switch (it->type()) {
    case element_type::STRING: {
      const std::string_view text = it->get_string().value_unsafe();
      // Names, descriptions and statuses are stored, exported as labels and printed: a bounded size.
      if (text.size() > k_max_text) {
        return field_error(field,
                           std::to_string(text.size()) + " bytes, over the limit of " + std::to_string(k_max_text));
      }
      return std::string(trim(text));
    }
    case element_type::INT64: return std::to_string(it->get_int64().value_unsafe());
    case element_type::UINT64: return std::to_string(it->get_uint64().value_unsafe());
    case element_type::DOUBLE: return simdjson::minify(*it);
    default: return field_error(field, "expected a string, found " + describe_value(*it));
  }
}

Result<std::string> get_id(Item item, std::string_view field) {
  auto s = get_string(item, field);
  if (!s) {
    return s.error();
  }
  if (s->empty()) {
    return field_error(field, "missing: an item without an id cannot be tracked");
  }
  // Ids are opaque, but they key the store, label series and appear in messages: a bounded line.
  if (s->size() > k_max_id ||
      std::any_of(s->begin(), s->end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return field_error(field, "'" + cap_text(*s, 40) + "' is not an id (at most " + std::to_string(k_max_id) +
                                  " bytes, no control characters)");
  }
  return s;
}

// A time field: RFC 3339, or with zoneless_offset a zone-less "2024-10-16 16:46:20" read at that
// offset (an RFC 3339 value is accepted there too). Absent or empty is nullopt.
Result<std::optional<UnixTime>> get_time(Item item, std::string_view field, std::optional<int> zoneless_offset) {
  auto s = get_string(item, field);
  if (!s) {
    return s.error();
  }
  if (s->empty()) {
    return std::optional<UnixTime>();
  }
  std::optional<UnixTime> t;
  if (zoneless_offset) {
    t = parse_zoneless(*s, *zoneless_offset);
  }
  if (!t) {
    t = parse_rfc3339(*s);
  }
  if (!t) {
    return field_error(field, "'" + cap_text(*s, 40) + "' is not a time of the form " +
                                  (zoneless_offset ? "2024-10-16 16:46:20" : "2022-09-09T02:35:44Z"));
  }
  return std::optional<UnixTime>(*t);
}

}  // namespace acmon::collectors::detail
