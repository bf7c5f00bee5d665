#include "sqlite.hpp"

namespace acmon::db::detail {

Error sqlite_error(sqlite3* db, const std::string& what) {
  return make_error(ErrorKind::db, what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

Stmt::Stmt(sqlite3* db, std::string_view sql) : m_db(db) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &m_stmt, nullptr) !=
      SQLITE_OK) {
    m_stmt = nullptr;
  }
}

Stmt::~Stmt() {
  sqlite3_finalize(m_stmt);
}

std::size_t Stmt::memory() const {
  return m_stmt == nullptr ? 0 : static_cast<std::size_t>(sqlite3_stmt_status(m_stmt, SQLITE_STMTSTATUS_MEMUSED, 0));
}

Stmt& Stmt::reset() {
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
  return *this;
}

Stmt& Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(m_stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_ref(int i, std::string_view v) {
  sqlite3_bind_text(m_stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  return *this;
}
Stmt& Stmt::bind_ref(int i, const std::optional<std::string>& v) {
  return v ? bind_ref(i, std::string_view(*v)) : bind_null(i);
}
Stmt& Stmt::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(m_stmt, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, double v) {
  sqlite3_bind_double(m_stmt, i, v);
  return *this;
}
Stmt& Stmt::bind(const char* name, std::int64_t v) {
  if (const int i = sqlite3_bind_parameter_index(m_stmt, name); i > 0) {
    bind(i, v);
  }
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(m_stmt, i);
  return *this;
}
Stmt& Stmt::bind(int i, const std::optional<std::int64_t>& v) {
  return v ? bind(i, *v) : bind_null(i);
}
Stmt& Stmt::bind(int i, const std::optional<std::string>& v) {
  return v ? bind(i, std::string_view(*v)) : bind_null(i);
}

Result<bool> Stmt::step() {
  const int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return sqlite_error(m_db, "SQLite step");
}

Result<void> Stmt::run() {
  auto r = step();
  sqlite3_reset(m_stmt);
  if (!r) {
    return r.error();
  }
  return {};
}

bool Stmt::is_null(int col) const {
  return sqlite3_column_type(m_stmt, col) == SQLITE_NULL;
}
std::int64_t Stmt::i64(int col) const {
  return sqlite3_column_int64(m_stmt, col);
}
double Stmt::f64(int col) const {
  return sqlite3_column_double(m_stmt, col);
}
std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(m_stmt, col);
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p),
                                    static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)));
}
std::string_view Stmt::text_view(int col) const {
  const auto* p = sqlite3_column_text(m_stmt, col);
  return p == nullptr ? std::string_view()
                      : std::string_view(reinterpret_cast<const char*>(p),
                                         static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)));
}
std::optional<std::int64_t> Stmt::opt_i64(int col) const {
  return is_null(col) ? std::nullopt : std::optional<std::int64_t>(i64(col));
}
std::optional<std::string> Stmt::opt_text(int col) const {
  return is_null(col) ? std::nullopt : std::optional<std::string>(text(col));
}

Stmt& StmtCache::get(std::string_view sql) {
  auto it = m_stmts.find(sql);
  if (it == m_stmts.end()) {
    it = m_stmts.emplace(std::string(sql), std::make_unique<Stmt>(m_db, sql)).first;
  } else if (!it->second->ok()) {
    it->second = std::make_unique<Stmt>(m_db, sql);  // a failure is not kept: the next use tries again
  } else {
    it->second->reset();
  }
  return *it->second;
}

void StmtCache::release(std::size_t min_bytes) {
  for (auto it = m_stmts.begin(); it != m_stmts.end();) {
    it = it->second->memory() >= min_bytes ? m_stmts.erase(it) : std::next(it);
  }
}

Result<void> exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return make_error(ErrorKind::db, msg);
  }
  return {};
}

Transaction::Transaction(sqlite3* db) : m_db(db) {
  m_began = exec(db, "BEGIN IMMEDIATE").has_value();
}

Transaction::~Transaction() {
  if (m_began && !m_done) {
    (void)exec(m_db, "ROLLBACK");
  }
}

Result<void> Transaction::commit() {
  auto r = exec(m_db, "COMMIT");
  if (r) {
    m_done = true;
  }
  return r;
}

}  // namespace acmon::db::detail
