// Private: the columns of a code as the codes and history tables hold them, in one order.
#pragma once

#include "acmon/model/code.hpp"
#include "sqlite.hpp"

namespace acmon::db::detail {

// Binds name, description, limit, registered, deregistered, created_at, expires_at, api_status
// to parameters first.. first+7, without copying the text: c must not change until s is reset.
void bind_code_fields(Stmt& s, int first, const model::Code& c);
// Reads the same columns from first.. into c, which holds the identity fields already.
model::Code read_code_fields(const Stmt& s, int first, model::Code c);

}  // namespace acmon::db::detail
