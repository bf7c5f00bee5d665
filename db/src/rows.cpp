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

}  // namespace acmon::db::detail
