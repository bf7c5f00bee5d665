// Private RAII helpers over the SQLite C API.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "acmon/core/result.hpp"

namespace acmon::db::detail {

Error sqlite_error(sqlite3* db, const std::string& what);

// A prepared statement, finalized on destruction; reset() before each reuse.
class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  [[nodiscard]] bool ok() const { return m_stmt != nullptr; }
  // The heap memory the prepared statement holds, as SQLite counts it.
  [[nodiscard]] std::size_t memory() const;
  Stmt& reset();
  Stmt& bind(int i, std::string_view v);
  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, double v);
  Stmt& bind_null(int i);
  // A named parameter (":now"); one the statement lacks is left alone.
  Stmt& bind(const char* name, std::int64_t v);
  Stmt& bind(int i, const std::optional<std::int64_t>& v);
  Stmt& bind(int i, const std::optional<std::string>& v);
  // Without a copy: the text must stay unchanged until the statement is reset.
  Stmt& bind_ref(int i, std::string_view v);
  Stmt& bind_ref(int i, const std::string& v) { return bind_ref(i, std::string_view(v)); }
  Stmt& bind_ref(int i, const std::optional<std::string>& v);
  // SQLITE_ROW: true; SQLITE_DONE: false; an error otherwise.
  Result<bool> step();
  Result<void> run();  // step() expecting DONE
  // Steps through every row, calling f() at each; the first error ends it.
  template <typename F>
  Result<void> each(F&& f) {
    while (true) {
      auto row = step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return {};
      }
      f();
    }
  }

  [[nodiscard]] bool is_null(int col) const;
  [[nodiscard]] std::int64_t i64(int col) const;
  [[nodiscard]] double f64(int col) const;
  [[nodiscard]] std::string text(int col) const;
  // The text without a copy: valid until the statement steps, resets or is finalized.
  [[nodiscard]] std::string_view text_view(int col) const;
  [[nodiscard]] std::optional<std::int64_t> opt_i64(int col) const;
  [[nodiscard]] std::optional<std::string> opt_text(int col) const;

 private:
  sqlite3* m_db;
  sqlite3_stmt* m_stmt = nullptr;
};

// Statements prepared once per connection and kept until it closes: a scope's run would otherwise
// compile the same SQL every time, and a run that changes nothing is mostly that.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : m_db(db) {}
  // The statement for sql, reset and without bindings; prepared at first use (check ok()). Two
  // uses of one SQL text at once share it: a caller needing both prepares a Stmt of its own.
  Stmt& get(std::string_view sql);
  // Finalizes the statements that hold min_bytes or more: the writes of many rows at once, which
  // only a run that changes codes uses (it prepares them again). The small ones every run uses stay.
  void release(std::size_t min_bytes);

 private:
  // Looked up by the text itself, so that a std::string_view finds it without a copy.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  sqlite3* m_db;
  std::unordered_map<std::string, std::unique_ptr<Stmt>, Hash, std::equal_to<>> m_stmts;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(sqlite3* db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  [[nodiscard]] bool began() const { return m_began; }
  Result<void> commit();

 private:
  sqlite3* m_db;
  bool m_began = false;
  bool m_done = false;
};

Result<void> exec(sqlite3* db, const char* sql);

}  // namespace acmon::db::detail
