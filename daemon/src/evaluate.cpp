// Service: alert evaluation against the snapshot, and pruning in bounded steps.
#include "service_parts.hpp"

namespace acmon::daemon {

Result<db::AlertChanges> Service::evaluate() {
  std::shared_ptr<Generation> gen;
  std::uint64_t through = 0;
  {
    std::lock_guard lock(m_sched_mutex);
    gen = m_gen;
    through = m_finished_runs;  // runs finished by now are in the state read below
  }
  {
    Result<void> file;
    {
      std::lock_guard lock(m_store_mutex);
      file = m_store->check_file();
    }
    note_database(file, DbEvent::file_check);
  }
  std::lock_guard eval_lock(m_eval_mutex);
  auto evaluated = [&] {
    std::lock_guard lock(m_sched_mutex);
    m_evaluated_through = std::max(m_evaluated_through, through);
  };
  const UnixTime now = m_clock.now();
  const auto current = state();
  auto desired = evaluate_alerts(*current, gen->cfg, now);
  // Most evaluations change nothing: then the database is not touched at all. (The maps are gone
  // before it is: with 50,000 alerts they hold some 15 MB.)
  const bool unchanged = [&] {
    std::map<std::string, std::string> want;
    for (const auto& d : desired) {
      want.emplace(d.key(), d.summary + '\x1f' + d.name);
    }
    std::map<std::string, std::string> have;
    for (const auto& a : current->alerts) {
      have.emplace(a.key(), a.summary + '\x1f' + a.name);
    }
    return want == have;
  }();
  if (unchanged && m_alerts_stored) {
    evaluated();
    return db::AlertChanges{};
  }
  Result<db::AlertChanges> changes = db::AlertChanges{};
  Result<std::vector<model::AlertRecord>> firing = std::vector<model::AlertRecord>{};
  {
    std::lock_guard lock(m_store_mutex);
    changes = m_store->reconcile_alerts(desired, now);
    if (changes) {
      firing = m_store->alerts(false);
    }
  }
  if (!changes || !firing) {
    const auto error = make_error(
        ErrorKind::db, naming_database(*m_store, !changes ? changes.error().message : firing.error().message));
    // The database cannot take them: /metrics shows them all the same (continuing alerts keep
    // their start), and the next evaluation tries the database again.
    std::map<std::string, model::AlertRecord> had;
    for (const auto& a : current->alerts) {
      had.emplace(a.key(), a);
    }
    std::map<std::string, model::AlertRecord> shown;
    for (const auto& d : desired) {
      auto it = had.find(d.key());
      model::AlertRecord a = it != had.end() ? it->second : d;
      if (it == had.end()) {
        a.starts_at = now;
      }
      a.summary = d.summary;
      a.name = d.name;
      shown.emplace(d.key(), std::move(a));
    }
    {
      std::lock_guard lock(m_state_mutex);
      auto next = std::make_shared<model::Snapshot>(*m_state);
      next->alerts.clear();
      for (auto& [key, a] : shown) {
        next->alerts.push_back(std::move(a));
      }
      m_state = next;
      m_alerts_stored_view = false;
    }
    m_alerts_stored = false;
    note_database(error, DbEvent::write);
    evaluated();
    return error;
  }
  m_alerts_stored = true;
  {
    std::lock_guard lock(m_state_mutex);
    auto next = std::make_shared<model::Snapshot>(*m_state);
    next->alerts = std::move(*firing);
    m_state = next;
    m_alerts_stored_view = true;
  }
  evaluated();
  for (const auto& a : changes->started) {
    spdlog::warn("alert {} {} firing: {}", a.rule, a.severity, a.is_code_alert() ? a.code_id : a.collector);
  }
  for (const auto& a : changes->resolved) {
    spdlog::info("alert {} {} resolved: {}", a.rule, a.severity, a.is_code_alert() ? a.code_id : a.collector);
  }
  if (!changes->started.empty() || !changes->resolved.empty()) {
    std::lock_guard lock(m_notify_mutex);
    m_notify_pending = true;
    m_notify_cv.notify_all();
  }
  return changes;
}

Result<db::PruneStep> Service::prune_for(milliseconds budget) {
  std::int64_t retention = 0;
  {
    std::lock_guard lock(m_sched_mutex);
    retention = m_gen->cfg.daemon.retention;
  }
  const UnixTime before = m_clock.now() - retention;
  const auto deadline = Steady::now() + budget;
  db::PruneStep total;
  while (!m_stop.load()) {
    Result<db::PruneStep> step = db::PruneStep{};
    {
      std::lock_guard lock(m_store_mutex);
      step = m_store->prune_step(before, std::max(1, m_options.prune_batch));
    }
    if (!step) {
      const auto error = make_error(ErrorKind::db, naming_database(*m_store, step.error().message));
      note_database(error, DbEvent::write);
      return error;
    }
    total.removed += step->removed;
    if (step->done) {
      total.done = true;
      break;
    }
    if (Steady::now() >= deadline) {
      break;
    }
    std::this_thread::yield();  // a run waiting to write gets the store between steps
  }
  if (total.removed > 0) {
    spdlog::info("pruned {} row(s) of history, runs and resolved alerts older than {} (retention {}){}", total.removed,
                 format_rfc3339(before), format_span(retention), total.done ? "" : "; more to come");
  }
  return total;
}

Result<std::int64_t> Service::prune() {
  std::int64_t removed = 0;
  while (true) {
    auto p = prune_for(milliseconds(1000));
    if (!p) {
      return p.error();
    }
    removed += p->removed;
    if (p->done || m_stop.load()) {
      return removed;
    }
  }
}

}  // namespace acmon::daemon
