// A run's codes rows and history rows, written many to a statement (batch.hpp says how).
#include "batch.hpp"

#include "rows.hpp"

namespace acmon::db::detail {

RowWriter::RowWriter(sqlite3* db, StmtCache& stmts, std::int64_t scope_id, std::int64_t run_id, UnixTime now)
    : m_db(db), m_stmts(stmts), m_scope_id(scope_id), m_run_id(run_id), m_now(now) {}

Result<void> RowWriter::add(PendingRow row, bool is_new) {
  auto& rows = is_new ? m_new : m_known;
  if (rows.capacity() == 0) {
    rows.reserve(k_batch);
  }
  rows.push_back(std::move(row));
  if (rows.size() < static_cast<std::size_t>(k_batch)) {
    return {};
  }
  return flush(rows, is_new);
}

Result<void> RowWriter::flush() {
  if (auto r = flush(m_new, true); !r) {
    return r.error();
  }
  return flush(m_known, false);
}

Result<void> RowWriter::flush(std::vector<PendingRow>& rows, bool is_new) {
  for (std::size_t from = 0; from < rows.size();) {
    int n = k_batch;
    while (static_cast<std::size_t>(n) > rows.size() - from) {
      n /= 2;
    }
    if (auto r = write(rows, from, n, is_new); !r) {
      return r.error();
    }
    from += static_cast<std::size_t>(n);
  }
  rows.clear();
  return {};
}

Stmt& RowWriter::codes_stmt(int n, bool is_new) {
  if (n != k_batch) {
    return m_stmts.get(is_new ? codes_insert_sql(n) : codes_upsert_sql(n));
  }
  // Fetched once: looking the long text of a full batch up again for each batch costs.
  Stmt*& batch = is_new ? m_batch_insert : m_batch_upsert;
  if (batch == nullptr || !batch->ok()) {
    static const std::string k_insert = codes_insert_sql(k_batch);
    static const std::string k_upsert = codes_upsert_sql(k_batch);
    batch = &m_stmts.get(is_new ? k_insert : k_upsert);
  }
  return *batch;
}

Stmt& RowWriter::history_stmt(int n) {
  if (n != k_batch) {
    return m_stmts.get(history_insert_sql(n));
  }
  if (m_batch_history == nullptr || !m_batch_history->ok()) {
    static const std::string k_history = history_insert_sql(k_batch);
    m_batch_history = &m_stmts.get(k_history);
  }
  return *m_batch_history;
}

void RowWriter::bind_codes_row(Stmt& st, int first, const PendingRow& row) const {
  const model::Code& c = *row.code;
  st.bind(first + 1, m_scope_id).bind_ref(first + 2, c.id);
  st.bind_ref(first + 3, std::string_view(config::to_string(c.product)));
  st.bind_ref(first + 4, c.account).bind_ref(first + 5, c.region).bind_ref(first + 6, c.order_id);
  bind_code_fields(st, first + 7, c);
  st.bind_ref(first + 15, row.state).bind(first + 16, m_now).bind(first + 17, m_now).bind(first + 18, row.fingerprint);
}

void RowWriter::bind_history_row(Stmt& st, int first, const PendingRow& row) const {
  st.bind(first + 1, m_scope_id).bind_ref(first + 2, row.code->id).bind(first + 3, m_run_id).bind(first + 4, m_now);
  st.bind_ref(first + 5, row.event).bind_ref(first + 6, row.detail);
  bind_code_fields(st, first + 7, *row.code);
}

Result<void> RowWriter::write(const std::vector<PendingRow>& rows, std::size_t from, int n, bool is_new) {
  Stmt& codes = codes_stmt(n, is_new);
  Stmt& history = history_stmt(n);
  if (!codes.ok() || !history.ok()) {
    return sqlite_error(m_db, "prepare");
  }
  // Every parameter is bound again for each batch: the statements need no clearing between them.
  for (int k = 0; k < n; ++k) {
    const PendingRow& row = rows[from + static_cast<std::size_t>(k)];
    bind_codes_row(codes, k * k_upsert_params, row);
    bind_history_row(history, k * k_history_params, row);
  }
  if (auto r = codes.run(); !r) {
    if (!is_new || sqlite3_extended_errcode(m_db) != SQLITE_CONSTRAINT_PRIMARYKEY) {
      return r.error();
    }
    // An id listed twice (the statement undid its rows): the upsert writes both, the later over
    // the earlier, as it does for a code stored before.
    Stmt& upsert = codes_stmt(n, false);
    for (int k = 0; k < n; ++k) {
      bind_codes_row(upsert, k * k_upsert_params, rows[from + static_cast<std::size_t>(k)]);
    }
    if (auto again = upsert.run(); !again) {
      return again.error();
    }
  }
  if (auto r = history.run(); !r) {
    return r.error();
  }
  m_history_rows += n;
  return {};
}

Result<void> RowWriter::history_only(const PendingRow& row) {
  Stmt& history = history_stmt(1);
  bind_history_row(history, 0, row);
  if (auto r = history.run(); !r) {
    return r.error();
  }
  ++m_history_rows;
  return {};
}

}  // namespace acmon::db::detail
