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

std::string values_rows(std::string_view row, int params, int n) {
  std::string out;
  out.reserve((row.size() + 16) * static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) {
    if (k > 0) {
      out += ',';
    }
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (row[i] != '?') {
        continue;
      }
      int number = 0;
      while (i + 1 < row.size() && row[i + 1] >= '0' && row[i + 1] <= '9') {
        number = number * 10 + (row[++i] - '0');
      }
      out += std::to_string(number + k * params);
    }
  }
  return out;
}

std::string codes_insert_sql(int n) {
  return "INSERT INTO codes(scope_id, code_id, product, account, region, order_id, name, description, "
         "limit_count, registered, deregistered, created_at, expires_at, api_status, state, first_seen, "
         "changed_at, deleted_at, fingerprint) VALUES" +
         values_rows("(:scope,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,:now,:now,NULL,?17)", k_upsert_params, n);
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
         values_rows("(:scope,?2,:run,:now,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)", k_history_params, n);
}

}  // namespace acmon::db::detail
