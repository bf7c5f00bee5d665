// Service: the scheduler, bounded workers and what follows a run.
#include <optional>

#include "service_parts.hpp"

namespace acmon::daemon {

namespace {

// What the store's connection holds between uses (its page cache, its multi-row statements), given
// back once a run, an evaluation or pruning is over: an idle daemon has no use for it.
void release_store_memory(db::Store& store, std::mutex& store_mutex) {
  std::lock_guard lock(store_mutex);
  store.release_memory();
}

// The workers' threads end once no run is under way and none is due within this time.
constexpr milliseconds k_pool_linger{10000};

}  // namespace

milliseconds Service::next_delay(const Unit& u, bool ok) {
  const milliseconds interval(u.interval * 1000);
  if (ok) {
    return jitter(interval, 0.1);
  }
  // A failing scope backs off from 30s, doubling, but never waits longer than its interval.
  // (30s * 2^10 at most: the doubling stops there.)
  return jitter(backoff_ceiling(u.failures, milliseconds(30000), std::min(interval, milliseconds(30000LL << 10))), 0.1);
}

void Service::scheduler_loop() {
  auto next_eval = Steady::now() + m_options.evaluate_every;
  // The first prune soon after start (an upgrade from a daemon that never pruned has a backlog).
  auto next_prune = Steady::now() + std::min(m_options.prune_every, milliseconds(60000));
  // A bounded pool: at most `parallel` scope runs at a time; a slow one holds only its own worker.
  // It is there while runs are under way or soon due: when none is, its threads end, and with them
  // what each keeps for itself (the allocator's cache of freed blocks, OpenSSL's random generator,
  // the used pages of its stack). The next due run starts a new pool.
  std::optional<WorkerPool> pool;
  std::unique_lock lock(m_sched_mutex);
  while (!m_stop.load()) {
    const auto now = Steady::now();
    auto wake = std::min(next_eval, next_prune);
    auto next_due = Steady::time_point::max();
    for (auto& [key, u] : m_units) {
      if (u->running) {
        continue;
      }
      if (u->due <= now && m_running < std::max(1, m_options.parallel)) {
        u->running = true;
        ++m_running;
        if (!pool) {
          pool.emplace(m_options.parallel);
        }
        pool->post([this, unit = u] { run_unit(unit); });
      } else if (u->due > now) {
        wake = std::min(wake, u->due);
        next_due = std::min(next_due, u->due);
      }
    }
    if (pool && m_running == 0 && next_due - now > k_pool_linger) {
      lock.unlock();
      // Its last run is past its count (m_running) and about to return: joining waits for that.
      pool.reset();
      m_transport.close_idle();
      malloc_trim(0);  // the blocks the threads' caches held go back to the arenas: give them back
      lock.lock();
      continue;
    }
    if (now >= next_eval) {
      next_eval = now + m_options.evaluate_every;
      lock.unlock();
      (void)evaluate();  // time alone brings codes closer to expiry; it checks the database file too
      release_store_memory(*m_store, m_store_mutex);
      if (m_eval_was_full.exchange(false)) {
        malloc_trim(0);  // what it allocated for 100,000 codes goes back, as after a run
      }
      lock.lock();
      continue;
    }
    if (now >= next_prune) {
      lock.unlock();
      // A bounded slice: the scheduler is back within a quarter second, the store free between steps.
      auto p = prune_for(milliseconds(250));
      if (!p) {
        spdlog::error("pruning by retention: {}", p.error().message);
      }
      release_store_memory(*m_store, m_store_mutex);
      lock.lock();
      // A backlog goes on shortly, a slice at a time; otherwise at the next period.
      next_prune = Steady::now() + ((p && !p->done) ? milliseconds(1000) : m_options.prune_every);
      continue;
    }
    m_sched_cv.wait_until(lock, wake);
  }
  lock.unlock();
  if (pool) {
    pool->stop();  // runs under way finish (abandoned: m_stop is set); queued ones never start
  }
}

std::vector<ScopeOutcome> Service::run_unit(const std::shared_ptr<Unit>& u, bool evaluate_after) {
  // What this run uses, copied under the lock: a reload may change the unit at any moment after.
  std::optional<model::Scope> scope;
  std::shared_ptr<collectors::Collector> collector;
  bool members = false;
  {
    std::lock_guard lock(m_sched_mutex);
    scope = u->scope;
    members = !u->organization.empty();
    if (!members) {
      collector = u->gen->collectors.at(u->collector);
    }
  }
  std::vector<ScopeOutcome> outcomes;
  bool ok = true;
  if (members) {
    outcomes = run_members(u, ok);
  } else if (!scope) {
    auto scopes = collector->scopes();
    if (!scopes) {
      if (!m_stop.load()) {
        outcomes.push_back(
            record_discovery_failure(collector->config(), scopes.error(), *m_store, m_store_mutex, m_clock));
      }
      ok = false;
    } else {
      if (auto cleared =
              record_discovery_recovery(discovery_scope(collector->config()), *m_store, m_store_mutex, m_clock)) {
        outcomes.push_back(std::move(*cleared));
      }
      std::lock_guard lock(m_sched_mutex);
      // A reload may have removed or replaced the collector meanwhile: then this finding is stale.
      auto self = m_units.find(u->key);
      if (self != m_units.end() && self->second == u) {
        std::set<std::string> found;
        const auto& d = u->gen->cfg.daemon;
        for (const auto& s : *scopes) {
          if (!model::in_shard(s, d.shard_index, d.shard_total)) {
            continue;  // another replica's
          }
          const auto key = unit_key(u->collector, &s);
          found.insert(key);
          if (m_units.count(key) == 0) {
            auto nu = std::make_shared<Unit>();
            nu->key = key;
            nu->collector = u->collector;
            nu->scope = s;
            nu->gen = u->gen;
            nu->interval = u->interval;
            nu->due = Steady::now();
            m_units[key] = nu;
          }
        }
        for (auto it = m_units.begin(); it != m_units.end();) {
          const bool stale = it->second->collector == u->collector && it->second->scope && found.count(it->first) == 0;
          it = stale ? m_units.erase(it) : std::next(it);
        }
      }
    }
  } else {
    auto o = sync_scope(*collector, *scope, *m_store, m_store_mutex, m_clock, &m_stop);
    ok = o.ok;
    outcomes.push_back(std::move(o));
  }
  if (m_stop.load()) {
    std::lock_guard lock(m_sched_mutex);
    u->running = false;
    --m_running;
    return outcomes;
  }
  // Into the exported state before the run counts as finished: ready() relies on that order.
  after_run(outcomes);
  {
    std::lock_guard lock(m_sched_mutex);
    u->running = false;
    --m_running;
    u->failures = ok ? 0 : u->failures + 1;
    u->due = Steady::now() + next_delay(*u, ok);
    u->done_once = true;
    u->finished = ++m_finished_runs;
  }
  if (evaluate_after) {
    if (auto r = evaluate(); !r) {
      spdlog::error("alert evaluation: {}", r.error().message);
    }
  }
  // The answers' parser of this worker is made again by its next run: idle workers hold none.
  api::release_thread_parser();
  release_store_memory(*m_store, m_store_mutex);
  // A large listing leaves freed pages behind in the allocator's arenas: give them back.
  malloc_trim(0);
  m_sched_cv.notify_all();
  return outcomes;
}

void Service::after_run(const std::vector<ScopeOutcome>& outcomes) {
  for (const auto& o : outcomes) {
    if (o.ok) {
      spdlog::info("{}", summary_line(o));
    } else {
      spdlog::warn("{}", summary_line(o));
    }
    std::lock_guard lock(m_status_mutex);
    m_status = summary_line(o);
  }
  for (const auto& o : outcomes) {
    if (!o.store_error.empty()) {
      note_database(make_error(ErrorKind::db, o.store_error), DbEvent::write);
    } else {
      note_database({}, DbEvent::run_stored);
    }
    if (auto r = load_scope(o); !r) {
      spdlog::error("reading back {}: {}", o.scope.describe(), r.error().message);
    }
  }
}

}  // namespace acmon::daemon
