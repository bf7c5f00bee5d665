// Exhaustion forecasts: each code's recent history of `registered`, read in one query, projected
// to its limit (model/forecast.hpp).
#include <unordered_map>

#include "acmon/db/store.hpp"
#include "acmon/model/forecast.hpp"
#include "sqlite.hpp"

namespace acmon::db {

using detail::sqlite_error;
using detail::Stmt;

Result<void> Store::add_forecasts(std::vector<model::StoredCode>& codes, const CodeFilter& filter, UnixTime now) {
  // The codes that can still run out: active, with a limit not yet reached. By collector and id,
  // which is what a history row names (through its scope).
  std::unordered_map<std::string, std::size_t> candidates;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const auto& s = codes[i];
    const auto& c = s.code;
    if (s.state == model::CodeState::active && c.limit && *c.limit > 0 && c.registered && *c.registered < *c.limit) {
      candidates.emplace(s.collector + '\x1f' + c.id, i);
    }
  }
  if (candidates.empty()) {
    return {};
  }
  std::string sql =
      "SELECT s.collector, h.code_id, h.at, h.registered FROM history h JOIN scopes s ON s.id = h.scope_id "
      "WHERE h.at >= ?1 AND h.registered IS NOT NULL";
  if (filter.scope) {
    sql += " AND s.collector = ?2 AND s.region = ?3 AND s.order_id = ?4 AND s.member = ?5";
  }
  sql += " ORDER BY h.scope_id, h.code_id, h.at";
  Stmt q(m_db, sql);
  if (!q.ok()) {
    return sqlite_error(m_db, "query history for forecasts");
  }
  q.bind(1, now - model::k_forecast_window);
  if (filter.scope) {
    q.bind(2, std::string_view(filter.scope->collector))
        .bind(3, std::string_view(filter.scope->region))
        .bind(4, std::string_view(filter.scope->order_id))
        .bind(5, std::string_view(filter.scope->member()));
  }
  std::unordered_map<std::size_t, std::vector<model::UsagePoint>> points;
  std::string key;
  if (auto r = q.each([&] {
        key = q.text(0);
        key += '\x1f';
        key += q.text(1);
        if (auto it = candidates.find(key); it != candidates.end()) {
          points[it->second].push_back({q.i64(2), q.i64(3)});
        }
      });
      !r) {
    return r.error();
  }
  for (auto& [i, p] : points) {
    auto& s = codes[i];
    // The current value as of the last listing that held it: a code whose use stopped slows down.
    if (s.last_seen > p.back().at) {
      p.push_back({s.last_seen, *s.code.registered});
    }
    s.exhaustion_forecast = model::exhaustion_forecast(p, *s.code.limit);
  }
  return {};
}

}  // namespace acmon::db
