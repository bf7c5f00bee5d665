// Expected failures as values: every fallible operation of acmon returns a Result<T>.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace acmon {

// What went wrong, broadly; decides whether a retry can help.
enum class ErrorKind {
  network,  // transport failure: connect, reset, truncated body
  timeout,  // the request took longer than its timeout
  http,     // an HTTP status without a parsable API error body
  api,      // the API answered with an error Code
  parse,    // a response or file that does not have the expected shape
  db,       // SQLite
  config,   // configuration or credentials
  usage,    // a bad argument
};

const char* to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::parse;
  std::string message;     // human text; never holds a secret; describe() caps and escapes it
  std::string code;        // the API's Code (kind api), else empty
  std::string request_id;  // the API's RequestId, when there was one
  int http_status = 0;     // 0 when no HTTP response was received

  // One line: "api error Throttling.User (HTTP 400, RequestId ...): message", control characters
  // escaped and each part capped (cap_text), so at most a few hundred bytes.
  [[nodiscard]] std::string describe() const;
};

inline Error make_error(ErrorKind kind, std::string message) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

// Either a value or an Error. Small by design: has_value(), value(), error().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_data(std::in_place_index<0>, std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : m_data(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool has_value() const { return m_data.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(m_data);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(m_data);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(m_data));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  [[nodiscard]] const Error& error() const {
    assert(!has_value());
    return std::get<1>(m_data);
  }

 private:
  std::variant<T, Error> m_data;
};

struct Unit {};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)), m_ok(false) {}  // NOLINT(google-explicit-constructor)
  [[nodiscard]] bool has_value() const { return m_ok; }
  explicit operator bool() const { return m_ok; }
  [[nodiscard]] const Error& error() const {
    assert(!m_ok);
    return m_error;
  }

 private:
  Error m_error;
  bool m_ok = true;
};

}  // namespace acmon

// Declares var from a Result-returning expr and returns its error from the enclosing function
// when it failed: `ACMON_TRY(id, get_id(item, "Id"));` then use *id. (var is a declarator: no
// parentheses.)
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ACMON_TRY(var, expr) \
  auto var = (expr);         \
  if (!var) {                \
    return var.error();      \
  }

// Assigns the value of a Result-returning expr to target, or returns its error from the enclosing
// function: `ACMON_ASSIGN(c.id, get_id(item, "Id"));`.
#define ACMON_ASSIGN(target, expr)             \
  do {                                         \
    auto acmon_assign_result_ = (expr);        \
    if (!acmon_assign_result_) {               \
      return acmon_assign_result_.error();     \
    }                                          \
    target = std::move(*acmon_assign_result_); \
  } while (false)
// NOLINTEND(bugprone-macro-parentheses)
