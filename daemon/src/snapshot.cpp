// Service: the snapshot cache (what /metrics and alert evaluation read), readiness, database health.
#include "service_parts.hpp"

namespace acmon::daemon {

bool Service::ready() const {
  std::lock_guard lock(m_sched_mutex);
  if (!m_units_built) {
    return false;
  }
  return std::all_of(m_units.begin(), m_units.end(), [&](const auto& entry) {
    return entry.second->done_once && entry.second->finished <= m_evaluated_through;
  });
}

bool Service::database_ok() const {
  std::lock_guard lock(m_db_mutex);
  return m_file_ok && m_writes_ok;
}

void Service::note_database(const Result<void>& r, DbEvent event) {
  std::lock_guard lock(m_db_mutex);
  const bool was_ok = m_file_ok && m_writes_ok;
  if (event == DbEvent::file_check) {
    m_file_ok = r.has_value();
  } else if (!r) {
    m_writes_ok = false;
  } else if (event == DbEvent::run_stored) {
    m_writes_ok = true;
  }
  if (!r && r.error().message != m_db_error) {
    m_db_error = r.error().message;
    spdlog::error("{}", m_db_error);  // already names the database
  } else if (r && !was_ok && m_file_ok && m_writes_ok) {
    spdlog::info("database {}: writes succeed again", m_store->path());
    m_db_error.clear();
  }
}

std::shared_ptr<const model::Snapshot> Service::state() const {
  std::lock_guard lock(m_state_mutex);
  return m_state;
}

void Service::set_state(std::shared_ptr<const model::Snapshot> next) {
  std::lock_guard lock(m_state_mutex);
  m_state = std::move(next);
}

std::vector<model::ScopeStatus> Service::merged_scopes(const config::Config& cfg) const {
  std::vector<model::ScopeStatus> out;
  std::set<std::string> seen;
  for (const auto& s : m_stored_scopes) {
    if (!watched(cfg, s.scope)) {
      continue;
    }
    const auto key = model::scope_key(s.scope);
    seen.insert(key);
    auto it = m_scope_memory.find(key);
    out.push_back(it == m_scope_memory.end()
                      ? s
                      : overlay(s, it->second.unstored, it->second.pending, it->second.carried, it->second.last));
  }
  // Scopes the database has never taken a run of (a fresh database on a full disk).
  for (const auto& [key, m] : m_scope_memory) {
    if (seen.count(key) == 0 && m.pending > 0 && watched(cfg, m.last.scope)) {
      model::ScopeStatus base;
      base.scope = m.last.scope;
      out.push_back(overlay(base, m.unstored, m.pending, m.carried, m.last));
    }
  }
  std::sort(out.begin(), out.end(), [](const model::ScopeStatus& a, const model::ScopeStatus& b) {
    return std::tie(a.scope.collector, a.scope.account, a.scope.region, a.scope.order_id) <
           std::tie(b.scope.collector, b.scope.account, b.scope.region, b.scope.order_id);
  });
  return out;
}

Result<void> Service::load_state() {
  std::shared_ptr<Generation> gen;
  {
    std::lock_guard lock(m_sched_mutex);
    gen = m_gen;
  }
  auto next = std::make_shared<model::Snapshot>();
  std::lock_guard lock(m_store_mutex);
  auto codes = m_store->codes({}, m_clock.now());
  if (!codes) {
    return codes.error();
  }
  auto scopes = m_store->scopes();
  if (!scopes) {
    return scopes.error();
  }
  auto firing = m_store->alerts(false);
  if (!firing) {
    return firing.error();
  }
  // Only what the current configuration collects is exported and judged.
  std::map<std::string, std::vector<model::StoredCode>> grouped;
  for (auto& c : *codes) {
    const model::Scope s{c.collector, c.code.product, c.code.account, c.code.region, c.code.order_id};
    if (watched(gen->cfg, s)) {
      grouped[model::scope_key(s)].push_back(std::move(c));
    }
  }
  for (auto& [key, list] : grouped) {
    next->codes.emplace(key, std::make_shared<const model::CodeList>(std::move(list)));
  }
  std::lock_guard state_lock(m_state_mutex);
  m_stored_scopes = std::move(*scopes);
  next->scopes = merged_scopes(gen->cfg);
  next->alerts = std::move(*firing);
  if (!m_alerts_stored_view) {
    // The database lacks alerts that are shown from memory: keep showing them until evaluated.
    next->alerts = m_state->alerts;
  }
  m_state = next;
  return {};
}

Result<void> Service::load_scope(const ScopeOutcome& o) {
  std::shared_ptr<Generation> gen;
  {
    std::lock_guard lock(m_sched_mutex);
    gen = m_gen;
  }
  db::CodeFilter f;
  f.scope = o.scope;
  std::lock_guard lock(m_store_mutex);
  // A run the database did not take changed no stored code: the list in the state stands.
  std::optional<std::vector<model::StoredCode>> codes;
  if (o.ok) {
    auto read = m_store->codes(f, m_clock.now());
    if (!read) {
      return read.error();
    }
    codes = std::move(*read);
  }
  auto scopes = m_store->scopes();
  // Copy-on-write: the other scopes' lists are shared with the previous state.
  std::lock_guard state_lock(m_state_mutex);
  const auto key = model::scope_key(o.scope);
  if (!o.stored) {
    auto& m = m_scope_memory[key];
    m.last.scope = o.scope;
    m.last.last_run_at = m_clock.now();
    m.last.last_error = o.error;
    m.last.last_duration_seconds = o.seconds;
    if (!m.last.first_run_at) {
      m.last.first_run_at = m.last.last_run_at;
    }
    ++m.unstored;
    ++m.pending;
  } else if (auto it = m_scope_memory.find(key); it != m_scope_memory.end()) {
    // The database has a newer run than memory: what memory held is history now.
    it->second.carried = o.ok ? 0 : it->second.carried + it->second.pending;
    it->second.pending = 0;
  }
  if (scopes) {
    m_stored_scopes = std::move(*scopes);
  }
  auto next = std::make_shared<model::Snapshot>(*m_state);
  if (codes && watched(gen->cfg, o.scope)) {
    next->codes[key] = std::make_shared<const model::CodeList>(std::move(*codes));
  }
  next->scopes = merged_scopes(gen->cfg);
  m_state = next;
  if (!scopes) {
    return scopes.error();
  }
  return {};
}

std::string Service::metrics_text() const {
  std::string out;
  metrics::write_all(
      *state(), m_collectables, [&](std::string_view piece) { out.append(piece); }, m_clock.now());
  return out;
}

}  // namespace acmon::daemon
