#include "acmon/core/json.hpp"

#include "acmon/core/text.hpp"

namespace acmon {

namespace {

// What bounds a document before it is parsed: its nesting, and its number of values (a page of 50
// codes has about a thousand; seven million zeros would take hundreds of MiB as a DOM).
struct Shape {
  bool too_deep = false;
  bool too_many = false;
};

// Scans no further than needed to exceed a limit. Brackets and commas inside strings do not count.
// Works on any bytes; the parser judges validity afterwards.
Shape scan(std::string_view body, int depth_limit, std::size_t value_limit) {
  Shape shape;
  int depth = 0;
  std::size_t values = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > depth_limit) {
          shape.too_deep = true;
          return shape;
        }
        [[fallthrough]];
      case ',':
        if (++values > value_limit) {
          shape.too_many = true;
          return shape;
        }
        break;
      case ']':
      case '}': depth = depth > 0 ? depth - 1 : 0; break;
      default: break;
    }
  }
  return shape;
}

}  // namespace

Result<void> check_json_bounds(std::string_view body, int max_depth) {
  const Shape shape = scan(body, max_depth, k_max_json_values);
  if (shape.too_deep) {
    return make_error(ErrorKind::parse, "the JSON document nests arrays and objects deeper than " +
                                            std::to_string(max_depth) + " levels (" + std::to_string(body.size()) +
                                            " bytes)");
  }
  if (shape.too_many) {
    return make_error(ErrorKind::parse, "the JSON document holds more than " + std::to_string(k_max_json_values) +
                                            " values (" + std::to_string(body.size()) + " bytes)");
  }
  return {};
}

Result<nlohmann::json> parse_json_bounded(std::string_view body, int max_depth) {
  // nlohmann's parser keeps its own stack, but serialising, copying or comparing a deep value
  // recurses; refusing the document up front keeps every later step bounded.
  if (auto bounded = check_json_bounds(body, max_depth); !bounded) {
    return bounded.error();
  }
  try {
    return nlohmann::json::parse(body.begin(), body.end());
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorKind::parse,
                      "invalid JSON (" + std::to_string(body.size()) + " bytes): " + cap_text(e.what()));
  }
}

const char* json_type_name(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
      return value.get<std::int64_t>() < 0 ? "a negative integer" : "an integer";
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a fractional number";
    case nlohmann::json::value_t::binary: return "binary data";
    case nlohmann::json::value_t::discarded: return "nothing";
  }
  return "an unknown value";
}

}  // namespace acmon
