// Exhaustion forecasts: each code's recent history of `registered`, read in one query, projected
// to its limit (model/forecast.hpp).
#include <string>
#include <string_view>
#include <unordered_map>

#include "acmon/db/store.hpp"
#include "acmon/model/forecast.hpp"
#include "sqlite.hpp"

namespace acmon::db {

using detail::sqlite_error;
using detail::Stmt;

Result<void> Store::add_forecasts(std::vector<model::StoredCode>& codes, const std::vector<std::int64_t>& scope_ids,
                                  const CodeFilter& filter, UnixTime now) {
  // The codes that can still run out: active, with a limit not yet reached. By scope and id, as a
  // history row names its code: an id is unique only within its scope, and one collector lists
  // many scopes (regions, orders, an organization's members), so the same id in two of them is two
  // codes with a history each.
  std::unordered_map<std::string, std::size_t> candidates;
  auto key_of = [](std::string& key, std::int64_t scope_id, std::string_view id) {
    key = std::to_string(scope_id);
    key += '\x1f';
    key += id;
  };
  std::string key;
  for (std::size_t i = 0; i < codes.size() && i < scope_ids.size(); ++i) {
    const auto& s = codes[i];
    const auto& c = s.code;
    if (s.state == model::CodeState::active && c.limit && *c.limit > 0 && c.registered && *c.registered < *c.limit) {
      key_of(key, scope_ids[i], c.id);
      candidates.emplace(key, i);
    }
  }
  if (candidates.empty()) {
    return {};
  }
  std::string sql =
      "SELECT h.scope_id, h.code_id, h.at, h.registered FROM history h JOIN scopes s ON s.id = h.scope_id "
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
  if (auto r = q.each([&] {
        key_of(key, q.i64(0), q.text_view(1));
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
