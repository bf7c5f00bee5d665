#include "rows.hpp"

namespace acmon::db::detail {

using model::Code;

void bind_code_fields(Stmt& s, int first, const Code& c) {
  s.bind_ref(first, std::string_view(c.name))
      .bind_ref(first + 1, std::string_view(c.description))
      .bind(first + 2, c.limit)
      .bind(first + 3, c.registered)
      .bind(first + 4, c.deregistered)
      .bind(first + 5, c.created_at)
      .bind(first + 6, c.expires_at)
      .bind_ref(first + 7, c.api_status);
}

Code read_code_fields(const Stmt& s, int first, Code c) {
  c.name = s.text(first);
  c.description = s.text(first + 1);
  c.limit = s.opt_i64(first + 2);
  c.registered = s.opt_i64(first + 3);
  c.deregistered = s.opt_i64(first + 4);
  c.created_at = s.opt_i64(first + 5);
  c.expires_at = s.opt_i64(first + 6);
  c.api_status = s.opt_text(first + 7);
  return c;
}

std::string values_rows(std::string_view row, int n) {
  std::string out;
  out.reserve((row.size() + 1) * static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) {
    if (k > 0) {
      out += ',';
    }
    out += row;
  }
  return out;
}

std::string codes_insert_sql(int n) {
  return "INSERT INTO codes(scope_id, code_id, product, account, region, order_id, name, description, "
         "limit_count, registered, deregistered, created_at, expires_at, api_status, state, first_seen, "
         "changed_at, deleted_at, fingerprint) VALUES" +
         values_rows("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,?)", n);
}

std::string codes_upsert_sql(int n) {
  return codes_insert_sql(n) +
         " ON CONFLICT(scope_id, code_id) DO UPDATE SET name=excluded.name, description=excluded.description, "
         "limit_count=excluded.limit_count, registered=excluded.registered, "
         "deregistered=excluded.deregistered, created_at=excluded.created_at, expires_at=excluded.expires_at, "
         "api_status=excluded.api_status, state=excluded.state, changed_at=excluded.changed_at, "
         "deleted_at=NULL, product=excluded.product, account=excluded.account, fingerprint=excluded.fingerprint";
}

std::string history_insert_sql(int n) {
  return "INSERT INTO history(scope_id, code_id, run_id, at, event, detail, name, description, limit_count, "
         "registered, deregistered, created_at, expires_at, api_status) VALUES" +
         values_rows("(?,?,?,?,?,?,?,?,?,?,?,?,?,?)", n);
}

}  // namespace acmon::db::detail
