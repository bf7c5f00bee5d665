// Service: alert evaluation against the snapshot, and pruning in bounded steps.
#include "service_parts.hpp"

namespace acmon::daemon {

namespace {

using Alerts = std::vector<const model::AlertRecord*>;

// Each distinct key's first alert, as (hash of the key, index), in the order of the hashes.
std::vector<std::pair<std::size_t, std::size_t>> first_of_each_key(const Alerts& alerts) {
  std::vector<std::pair<std::size_t, std::size_t>> order;
  order.reserve(alerts.size());
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    order.emplace_back(std::hash<std::string>{}(alerts[i]->key()), i);
  }
  std::sort(order.begin(), order.end());
  std::vector<std::pair<std::size_t, std::size_t>> out;
  out.reserve(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    bool repeated = false;
    for (std::size_t j = i; j > 0 && order[j - 1].first == order[i].first && !repeated; --j) {
      repeated = alerts[order[j - 1].second]->key() == alerts[order[i].second]->key();
    }
    if (!repeated) {
      out.push_back(order[i]);
    }
  }
  return out;
}

// Whether the alerts are the same (by key, the first of a repeated one; summary and name), without
// maps of them all: with 50,000 alerts those held some 25 MB while the evaluated alerts were alive.
bool same_alerts(const std::vector<model::AlertRecord>& desired, const model::AlertList& held) {
  Alerts a;
  a.reserve(desired.size());
  for (const auto& d : desired) {
    a.push_back(&d);
  }
  Alerts b;
  b.reserve(held.size());
  for (const auto& h : held) {
    b.push_back(&h);
  }
  const auto fa = first_of_each_key(a);
  const auto fb = first_of_each_key(b);
  if (fa.size() != fb.size()) {
    return false;
  }
  for (const auto& [hash, i] : fa) {
    const auto key = a[i]->key();
    bool found = false;
    for (auto it = std::lower_bound(fb.begin(), fb.end(), std::make_pair(hash, std::size_t{0}));
         it != fb.end() && it->first == hash && !found; ++it) {
      const auto& other = *b[it->second];
      if (other.key() == key) {
        if (other.summary != a[i]->summary || other.span_at != a[i]->span_at || other.name != a[i]->name) {
          return false;
        }
        found = true;
      }
    }
    if (!found) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<void> Service::evaluate() {
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
      if (file) {
        // What runs wrote since goes into the database file here, off their path. A failure
        // (another connection checkpointing) leaves it for the next time.
        (void)m_store->checkpoint();
      }
    }
    note_database(file, DbEvent::file_check);
  }
  std::lock_guard eval_lock(m_eval_mutex);
  auto evaluated = [&] {
    std::lock_guard lock(m_sched_mutex);
    m_evaluated_through = std::max(m_evaluated_through, through);
  };
  auto log_and_notify = [&](const db::AlertChanges& changes) {
    for (const auto& a : changes.started) {
      spdlog::warn("alert {} {} firing: {}", a.rule, a.severity, a.is_code_alert() ? a.code_id : a.collector);
    }
    for (const auto& a : changes.resolved) {
      spdlog::info("alert {} {} resolved: {}", a.rule, a.severity, a.is_code_alert() ? a.code_id : a.collector);
    }
    if (!changes.started.empty() || !changes.resolved.empty()) {
      std::lock_guard lock(m_notify_mutex);
      m_notify_pending = true;
      m_notify_cv.notify_all();
    }
  };
  const UnixTime now = m_clock.now();
  auto current = state();
  const std::shared_ptr<const config::Config> cfg(gen, &gen->cfg);
  if (m_alerts_stored && m_tracker.holds(*cfg, current->alerts)) {
    // What the last evaluation left: only new code lists, codes due for a change and the scopes are
    // evaluated, and only what changed is written.
    const auto began = Steady::now();
    auto step = m_tracker.step(*current, now);
    const auto stepped = Steady::now();
    if (step.empty()) {
      evaluated();
      return {};
    }
    std::vector<model::AlertRecord*> start;
    start.reserve(step.started.size());
    for (const auto& a : step.started) {
      start.push_back(a.get());
    }
    std::vector<const model::AlertRecord*> update;
    update.reserve(step.changed.size());
    for (const auto& [held, next] : step.changed) {
      update.push_back(next.get());
    }
    std::vector<const model::AlertRecord*> end;
    end.reserve(step.ended.size());
    for (const auto& a : step.ended) {
      end.push_back(a.get());
    }
    Result<db::AlertChanges> applied = db::AlertChanges{};
    {
      std::lock_guard lock(m_store_mutex);
      applied = m_store->apply_alert_changes(start, update, end, now);
    }
    if (applied) {
      auto firing = m_tracker.commit(current->alerts, step);
      current.reset();
      {
        std::lock_guard lock(m_state_mutex);
        auto next = std::make_shared<model::Snapshot>(*m_state);
        next->alerts = std::move(firing);
        m_state = next;
        m_alerts_stored_view = true;
      }
      evaluated();
      spdlog::debug("alerts evaluated: {} started, {} changed, {} ended; rules {} us, store and snapshot {} us",
                    step.started.size(), step.changed.size(), step.ended.size(),
                    std::chrono::duration_cast<std::chrono::microseconds>(stepped - began).count(),
                    std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - stepped).count());
      log_and_notify(*applied);
      return {};
    }
    // The database is not what the tracker knew, or did not take the changes: the full
    // evaluation below puts it right (or keeps the alerts in memory).
    spdlog::debug("alert changes not applied ({}); evaluating in full", applied.error().message);
  }
  m_tracker.clear();
  m_eval_was_full = true;
  auto desired = evaluate_alerts(*current, gen->cfg, now);
  // Most evaluations change nothing: then the database is not touched at all.
  if (m_alerts_stored && same_alerts(desired, current->alerts)) {
    desired.clear();
    (void)m_tracker.seed(*current, cfg, now, current->alerts);
    evaluated();
    return {};
  }
  Result<db::AlertChanges> changes = db::AlertChanges{};
  {
    std::lock_guard lock(m_store_mutex);
    // On success `desired` becomes the firing alerts as the database holds them: no read-back.
    changes = m_store->reconcile_firing(desired, now);
  }
  if (!changes) {
    const auto error = make_error(ErrorKind::db, naming_database(*m_store, changes.error().message));
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
      a.span_at = d.span_at;
      a.name = d.name;
      shown.emplace(d.key(), std::move(a));
    }
    {
      std::lock_guard lock(m_state_mutex);
      auto next = std::make_shared<model::Snapshot>(*m_state);
      std::vector<model::AlertRecord> kept;
      kept.reserve(shown.size());
      for (auto& [key, a] : shown) {
        kept.push_back(std::move(a));
      }
      next->alerts = std::move(kept);
      m_state = next;
      m_alerts_stored_view = false;
    }
    m_alerts_stored = false;
    note_database(error, DbEvent::write);
    evaluated();
    return error;
  }
  m_alerts_stored = true;
  model::AlertList firing(std::move(desired));
  (void)m_tracker.seed(*current, cfg, now, firing);
  current.reset();  // the old alerts go with the snapshot they belong to
  {
    std::lock_guard lock(m_state_mutex);
    auto next = std::make_shared<model::Snapshot>(*m_state);
    next->alerts = std::move(firing);
    m_state = next;
    m_alerts_stored_view = true;
  }
  evaluated();
  log_and_notify(*changes);
  return {};
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
