// Queries: current codes, one code's history, scope statuses, a scope's live ids.
#include "acmon/db/store.hpp"

#include "rows.hpp"
#include "sqlite.hpp"

namespace acmon::db {

using model::Code;
using model::CodeState;
using model::ScopeStatus;
using model::StoredCode;

using detail::read_code_fields;
using detail::sqlite_error;
using detail::Stmt;

Result<std::vector<StoredCode>> Store::codes(const CodeFilter& filter, UnixTime now) {
  std::string sql =
      "SELECT c.code_id, c.product, c.account, c.region, c.order_id, c.name, c.description, c.limit_count, "
      "c.registered, c.deregistered, c.created_at, c.expires_at, c.api_status, s.collector, c.first_seen, "
      "s.last_success_at, c.deleted_at, c.scope_id FROM codes c JOIN scopes s ON s.id = c.scope_id WHERE 1=1";
  if (!filter.include_deleted && filter.state != CodeState::deleted) {
    sql += " AND c.deleted_at IS NULL";
  }
  if (filter.state == CodeState::deleted) {
    sql += " AND c.deleted_at IS NOT NULL";
  }
  if (filter.product) {
    sql += " AND c.product = ?1";
  }
  if (filter.account) {
    sql += " AND c.account = ?2";
  }
  if (filter.scope) {
    sql += " AND s.collector = ?3 AND s.region = ?4 AND s.order_id = ?5 AND s.member = ?6";
  }
  sql += " ORDER BY c.product, c.account, c.region, c.order_id, c.code_id";
  Stmt q(m_db, sql);
  if (!q.ok()) {
    return sqlite_error(m_db, "query codes");
  }
  if (filter.product) {
    q.bind(1, std::string_view(config::to_string(*filter.product)));
  }
  if (filter.account) {
    q.bind(2, std::string_view(*filter.account));
  }
  if (filter.scope) {
    q.bind(3, std::string_view(filter.scope->collector))
        .bind(4, std::string_view(filter.scope->region))
        .bind(5, std::string_view(filter.scope->order_id))
        .bind(6, std::string_view(filter.scope->member()));
  }
  std::vector<StoredCode> out;
  std::vector<std::int64_t> scope_ids;  // of each code in out, for the forecasts
  if (auto r = q.each([&] {
        StoredCode sc;
        Code c;
        c.id = q.text(0);
        c.product = config::parse_product(q.text(1)).value_or(config::Product::smc);
        c.account = q.text(2);
        c.region = q.text(3);
        c.order_id = q.text(4);
        sc.code = read_code_fields(q, 5, c);
        sc.collector = q.text(13);
        sc.first_seen = q.i64(14);
        sc.last_seen = q.opt_i64(15).value_or(0);
        sc.deleted_at = q.opt_i64(16);
        sc.state = sc.deleted_at ? CodeState::deleted : model::derive_state(sc.code, now);
        if (filter.state && sc.state != *filter.state) {
          return;
        }
        out.push_back(std::move(sc));
        scope_ids.push_back(q.i64(17));
      });
      !r) {
    return r.error();
  }
  if (auto r = add_forecasts(out, scope_ids, filter, now); !r) {
    return r.error();
  }
  return out;
}

Result<std::vector<HistoryEntry>> Store::history(const std::string& code_id, std::optional<UnixTime> since) {
  Stmt q(m_db,
         "SELECT h.at, h.event, h.detail, h.name, h.description, h.limit_count, h.registered, h.deregistered, "
         "h.created_at, h.expires_at, h.api_status, s.collector, s.product, s.account, s.region, s.order_id "
         "FROM history h JOIN scopes s ON s.id = h.scope_id WHERE h.code_id = ?1 AND h.at >= ?2 ORDER BY h.at, h.id");
  q.bind(1, std::string_view(code_id)).bind(2, since.value_or(std::numeric_limits<std::int64_t>::min()));
  std::vector<HistoryEntry> out;
  if (auto r = q.each([&] {
        HistoryEntry e;
        e.at = q.i64(0);
        e.event = q.text(1);
        e.detail = q.text(2);
        Code c;
        c.id = code_id;
        c.product = config::parse_product(q.text(12)).value_or(config::Product::smc);
        c.account = q.text(13);
        c.region = q.text(14);
        c.order_id = q.text(15);
        e.snapshot = read_code_fields(q, 3, c);
        e.collector = q.text(11);
        out.push_back(std::move(e));
      });
      !r) {
    return r.error();
  }
  return out;
}

Result<std::vector<ScopeStatus>> Store::scopes() {
  Stmt q(m_db,
         "SELECT collector, product, account, region, order_id, last_run_at, last_success_at, last_ok, last_error, "
         "last_duration, codes, successes, failures, consecutive_failures, "
         "(SELECT min(started_at) FROM runs r WHERE r.scope_id = scopes.id), organization FROM scopes "
         "ORDER BY collector, member, region, order_id");
  std::vector<ScopeStatus> out;
  if (auto r = q.each([&] {
        ScopeStatus s;
        s.scope.collector = q.text(0);
        s.scope.product = config::parse_product(q.text(1)).value_or(config::Product::smc);
        s.scope.account = q.text(2);
        s.scope.region = q.text(3);
        s.scope.order_id = q.text(4);
        s.last_run_at = q.opt_i64(5);
        s.last_success_at = q.opt_i64(6);
        s.last_ok = q.i64(7) != 0;
        s.last_error = q.text(8);
        s.last_duration_seconds = q.f64(9);
        s.codes = static_cast<int>(q.i64(10));
        s.successes = q.i64(11);
        s.failures = q.i64(12);
        s.consecutive_failures = static_cast<int>(q.i64(13));
        s.first_run_at = q.opt_i64(14);
        s.scope.organization = q.text(15);
        out.push_back(std::move(s));
      });
      !r) {
    return r.error();
  }
  return out;
}

Result<void> Store::store_members(const std::string& organization, const std::vector<config::Member>& members,
                                  UnixTime now) {
  detail::Transaction tx(m_db);
  if (auto r = writable(tx); !r) {
    return r;
  }
  Stmt del(m_db, "DELETE FROM members WHERE organization=?1");
  del.bind(1, std::string_view(organization));
  if (auto r = del.run(); !r) {
    return r.error();
  }
  Stmt ins(m_db,
           "INSERT OR REPLACE INTO members(organization, account_id, display_name, status, folder_id, management, "
           "listed_at) VALUES(?1,?2,?3,?4,?5,?6,?7)");
  for (const auto& m : members) {
    ins.bind(1, std::string_view(organization))
        .bind(2, std::string_view(m.account_id))
        .bind(3, std::string_view(m.display_name))
        .bind(4, std::string_view(m.status))
        .bind(5, std::string_view(m.folder_id))
        .bind(6, std::int64_t{m.management ? 1 : 0})
        .bind(7, now);
    if (auto r = ins.run(); !r) {
      return r.error();
    }
  }
  return tx.commit();
}

Result<std::map<std::string, std::vector<config::Member>>> Store::members() {
  Stmt q(m_db,
         "SELECT organization, account_id, display_name, status, folder_id, management FROM members "
         "ORDER BY organization, account_id");
  std::map<std::string, std::vector<config::Member>> out;
  if (auto r = q.each([&] {
        out[q.text(0)].push_back({q.text(1), q.text(2), q.text(3), q.text(4), q.i64(5) != 0});
      });
      !r) {
    return r.error();
  }
  return out;
}

}  // namespace acmon::db
