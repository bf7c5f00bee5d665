// Private: the codes rows and history rows of one scope run, written many to a statement.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acmon/core/time.hpp"
#include "acmon/model/code.hpp"
#include "sqlite.hpp"

namespace acmon::db::detail {

// A code to write: its history event, and for a listed code its state and fingerprint.
struct PendingRow {
  const model::Code* code;
  std::string_view state;
  std::int64_t fingerprint;
  std::string event;
  std::string detail;
};

// Rows are queued and written k_batch at a time, one statement for each table; what is left at
// the end in power-of-two pieces, so that the connection keeps a handful of these statements
// rather than one for every size. A code with no row yet is inserted, which SQLite does with less
// work than an upsert; the others are upserted. The codes queued must outlive the writer.
class RowWriter {
 public:
  static constexpr int k_batch = 128;

  RowWriter(sqlite3* db, StmtCache& stmts, std::int64_t scope_id, std::int64_t run_id, UnixTime now);
  // Queues a row (new: the code has no row in codes, deleted or not); writes a full batch.
  Result<void> add(PendingRow row, bool is_new);
  // Writes every row queued.
  Result<void> flush();
  // Writes one history row only (a code gone from the listing, its codes row updated apart).
  Result<void> history_only(const PendingRow& row);
  // History rows written so far.
  [[nodiscard]] int history_rows() const { return m_history_rows; }

 private:
  Result<void> flush(std::vector<PendingRow>& rows, bool is_new);
  Result<void> write(const std::vector<PendingRow>& rows, std::size_t from, int n, bool is_new);
  void bind_codes_row(Stmt& st, int first, const PendingRow& row) const;
  void bind_history_row(Stmt& st, int first, const PendingRow& row) const;
  // The statement writing n rows; those of a full batch are looked up once per writer.
  Stmt& codes_stmt(int n, bool is_new);
  Stmt& history_stmt(int n);

  sqlite3* m_db;
  StmtCache& m_stmts;
  std::int64_t m_scope_id;
  std::int64_t m_run_id;
  UnixTime m_now;
  std::vector<PendingRow> m_new;
  std::vector<PendingRow> m_known;
  Stmt* m_batch_insert = nullptr;
  Stmt* m_batch_upsert = nullptr;
  Stmt* m_batch_history = nullptr;
  int m_history_rows = 0;
};

}  // namespace acmon::db::detail
