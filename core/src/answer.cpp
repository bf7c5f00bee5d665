// What an answer says, read once with simdjson before anyone looks inside it: a success carrying a
// JSON object, or an error with its Code, Message and RequestId. A list page is read here and again
// by its collector; both reads together cost a small fraction of one DOM built by nlohmann::json.
#include <simdjson.h>

#include <optional>

#include "acmon/core/api.hpp"
#include "acmon/core/json.hpp"
#include "acmon/core/text.hpp"

namespace acmon::api {

namespace {

constexpr std::size_t k_max_code = 100;
// Bodies up to this size are read by one parser per thread, kept between calls; a larger one gets
// a parser of its own, so no thread holds a large buffer after one large answer.
constexpr std::size_t k_kept_parser_bytes = std::size_t{1} << 20;

// This thread's parser, made at its first answer and kept until release_thread_parser().
std::optional<simdjson::dom::parser>& thread_parser() {
  thread_local std::optional<simdjson::dom::parser> parser;
  return parser;
}

simdjson::dom::parser& kept_parser() {
  auto& parser = thread_parser();
  if (!parser) {
    parser.emplace();
    // The depth limit sticks to the parser when it grows; should this allocation fail, the first
    // parse allocates again and fails cleanly if memory is short.
    [[maybe_unused]] const auto err = parser->allocate(64 * 1024, k_max_json_depth);
  }
  return *parser;
}

// A member's text when it is a string; nullopt otherwise (absent, or of another type).
std::optional<std::string_view> string_member(simdjson::dom::object obj, const char* key) {
  std::string_view s;
  if (obj[key].get(s) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return s;
}

Error parse_failure(const http::Response& response, simdjson::error_code code) {
  const std::string size = std::to_string(response.body.size()) + " bytes";
  Error e =
      make_error(ErrorKind::parse, code == simdjson::DEPTH_ERROR
                                       ? "the JSON document nests arrays and objects deeper than " +
                                             std::to_string(k_max_json_depth) + " levels (" + size + ")"
                                       : "invalid JSON (" + size + "): " + cap_text(simdjson::error_message(code)));
  e.http_status = response.status;
  return e;
}

// Reads the answer's top object; error: why it is not one.
Result<void> judge(const http::Response& response, simdjson::dom::parser& parser) {
  const bool success = response.status >= 200 && response.status < 300;
  simdjson::dom::element doc;
  const auto parsed = parser.parse(response.body).get(doc);
  simdjson::dom::object obj;
  const bool is_object = parsed == simdjson::SUCCESS && doc.get(obj) == simdjson::SUCCESS;
  if (success) {
    if (parsed != simdjson::SUCCESS) {
      return parse_failure(response, parsed);
    }
    if (!is_object) {
      Error e = make_error(ErrorKind::parse, "the response body is not a JSON object (" +
                                                 std::to_string(response.body.size()) + " bytes)");
      e.http_status = response.status;
      return e;
    }
    const auto code = string_member(obj, "Code");
    // Some gateways answer 200 with an error document; without a RequestId it cannot be a result.
    // A transient Code (throttling, a service unavailable, an internal error) is never a result,
    // RequestId or not: taken as one, it would reach the collector as a page without its list and
    // fail the run, where the retry (and for throttling the pacer) would have seen it through.
    if (code && (is_transient_code(*code) || obj["RequestId"].error() == simdjson::NO_SUCH_FIELD)) {
      return *error_document(doc, response.status);
    }
    return {};
  }
  if (parsed == simdjson::SUCCESS) {
    if (auto e = error_document(doc, response.status)) {
      return *e;
    }
  }
  Error e = make_error(ErrorKind::http, "HTTP " + std::to_string(response.status) + " without an API error body");
  e.http_status = response.status;
  return e;
}

}  // namespace

std::optional<Error> error_document(simdjson::dom::element doc, int status) {
  simdjson::dom::object obj;
  if (doc.get(obj) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  const auto code = string_member(obj, "Code");
  if (!code) {
    return std::nullopt;
  }
  Error e = make_error(ErrorKind::api, "");
  e.code = cap_text(*code, k_max_code);
  e.http_status = status;
  if (const auto message = string_member(obj, "Message")) {
    e.message = cap_text(redact(std::string(*message)));
  }
  if (const auto request_id = string_member(obj, "RequestId")) {
    e.request_id = cap_text(*request_id, k_max_code);
  }
  return e;
}

Result<void> check_answer(const http::Response& response) {
  if (response.body.size() <= k_kept_parser_bytes) {
    return judge(response, kept_parser());
  }
  // A large body is first bounded as nlohmann's reader bounds it: at most k_max_json_values values,
  // so neither this parser nor the collector's holds hundreds of MiB for a hostile answer.
  if (auto bounded = check_json_bounds(response.body); !bounded) {
    Error e = bounded.error();
    e.http_status = response.status;
    return e;
  }
  simdjson::dom::parser parser;
  if (const auto err = parser.allocate(response.body.size(), k_max_json_depth); err != simdjson::SUCCESS) {
    return parse_failure(response, err);
  }
  return judge(response, parser);
}

void release_thread_parser() {
  thread_parser().reset();
}

Result<nlohmann::json> interpret(const http::Response& response) {
  if (auto checked = check_answer(response); !checked) {
    return checked.error();
  }
  auto doc = parse_json_bounded(response.body);
  if (!doc) {
    Error e = doc.error();
    e.http_status = response.status;
    return e;
  }
  return doc;
}

}  // namespace acmon::api
