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
// n copies of a row of VALUES, comma-separated, the parameters of copy k (from 0) renumbered from
// k * params: values_rows("(?1,?2,?2)", 2, 2) is "(?1,?2,?2),(?3,?4,?4)". One statement that writes
// many rows saves SQLite the work of starting and ending one per row. A named parameter (":now") is
// left as it is: one value for every row, bound once.
std::string values_rows(std::string_view row, int params, int n);

// The statements that write n codes rows (an upsert) and n history rows, and their parameters per row:
// codes: code_id, product, account, region, order_id, the code fields (bind_code_fields), state,
// fingerprint; history: code_id, event, detail, the code fields (row k's from k * params + 2, the
// gaps left by the shared ones unused). What every row shares is bound once, by name: :scope (the
// scope id), :now (first_seen, changed_at, and history's at) and :run (history's run id).
constexpr int k_upsert_params = 17;
constexpr int k_history_params = 14;
std::string codes_upsert_sql(int n);
// The same without the upsert: for codes that have no row yet.
std::string codes_insert_sql(int n);
std::string history_insert_sql(int n);

}  // namespace acmon::db::detail
