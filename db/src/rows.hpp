// Private: the columns of a code as the codes and history tables hold them, in one order.
#pragma once

#include <string>
#include <string_view>

#include "acmon/model/code.hpp"
#include "sqlite.hpp"

namespace acmon::db::detail {

// Binds name, description, limit, registered, deregistered, created_at, expires_at, api_status
// to parameters first.. first+7, without copying the text: c must not change until s is reset.
void bind_code_fields(Stmt& s, int first, const model::Code& c);
// Reads the same columns from first.. into c, which holds the identity fields already.
model::Code read_code_fields(const Stmt& s, int first, model::Code c);
// n copies of a row of VALUES, comma-separated: values_rows("(?,?,NULL)", 2) is
// "(?,?,NULL),(?,?,NULL)". One statement that writes many rows saves SQLite the work of starting and
// ending one per row. The parameters are anonymous ("?"), numbered by SQLite in order, so that row k
// (from 0) has k * params + 1 .. k * params + params. Not "?NNN" nor ":name": SQLite looks each of
// those up in a list of every parameter named so far when it prepares the statement, which for a
// statement of 2,000 parameters costs eight times the rest of the preparation (about 7 ms against 0.8),
// and these statements are prepared again for each run (StmtCache drops the large ones between runs).
std::string values_rows(std::string_view row, int n);

// The statements that write n codes rows (an upsert) and n history rows, and their parameters per
// row k, from k * params + 1:
// codes: scope id, code_id, product, account, region, order_id, the code fields (bind_code_fields),
// state, first_seen, changed_at, fingerprint; history: scope id, code_id, run id, at, event, detail,
// the code fields.
constexpr int k_upsert_params = 18;
constexpr int k_history_params = 14;
std::string codes_upsert_sql(int n);
// The same without the upsert: for codes that have no row yet.
std::string codes_insert_sql(int n);
std::string history_insert_sql(int n);
// Puts a code's fingerprint right: ?1 scope id, ?2 code id, ?3 fingerprint.
constexpr const char* k_set_fingerprint_sql = "UPDATE codes SET fingerprint=?3 WHERE scope_id=?1 AND code_id=?2";

}  // namespace acmon::db::detail
