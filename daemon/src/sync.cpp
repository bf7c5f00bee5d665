#include "acmon/daemon/sync.hpp"

#include "acmon/daemon/worker_pool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>

namespace acmon::daemon {

std::string naming_database(const db::Store& store, const std::string& message) {
  return message.find(store.path()) != std::string::npos ? message : "database " + store.path() + ": " + message;
}

std::string summary_line(const ScopeOutcome& o) {
  std::string where = o.scope.collector;
  if (!o.scope.organization.empty()) {
    where += " account " + o.scope.account;
  }
  if (!o.scope.region.empty()) {
    where += " " + o.scope.region;
  }
  if (!o.scope.order_id.empty()) {
    where += " " + o.scope.order_id;
  }
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2fs", o.seconds);
  if (!o.ok) {
    return o.scope.describe() + ": FAILED after " + std::to_string(o.pages) + " page(s), " + secs + ": " + o.error;
  }
  return where + ": ok, " + std::to_string(o.written.codes) + " codes (" + std::to_string(o.written.created) +
         " new, " + std::to_string(o.written.changed) + " changed, " + std::to_string(o.written.deleted) +
         " deleted), " + std::to_string(o.pages) + " page(s), " + secs;
}

namespace {

std::map<std::string, std::shared_ptr<CredentialProvider>> account_credentials(const config::Config& cfg,
                                                                               const CredentialOptions& o) {
  std::map<std::string, std::shared_ptr<CredentialProvider>> out;
  for (const auto& a : cfg.accounts) {
    out.emplace(a.name, make_credential_provider(a, o));
  }
  return out;
}

}  // namespace

Syncer::Syncer(const config::Config& cfg, db::Store& store, api::Client& client, const Clock& clock,
               const CredentialOptions& credential_options)
    : m_cfg(cfg),
      m_store(store),
      m_client(client),
      m_clock(clock),
      m_credentials(account_credentials(cfg, credential_options)),
      m_member_credentials(cfg, m_credentials, credential_options) {}

ScopeOutcome sync_scope(collectors::Collector& collector, const model::Scope& scope, db::Store& store,
                        std::mutex& store_mutex, const Clock& clock, const std::atomic<bool>* stop) {
  ScopeOutcome out;
  out.scope = scope;
  const auto t0 = std::chrono::steady_clock::now();
  db::RunInfo run;
  run.started_at = clock.now();
  int pages = 0;
  // The codes the store holds as live: one that a listing lacks is written as deleted only when
  // two consecutive complete passes of it lack it (Collector::list).
  std::size_t expected = 0;
  {
    std::lock_guard lock(store_mutex);
    auto count = store.scope_codes(scope);
    if (!count) {
      out.error = "the stored codes could not be read: " + count.error().message;
      return out;
    }
    expected = *count;
  }
  auto missing = [&](const std::vector<model::Code>& listed) {
    std::lock_guard lock(store_mutex);
    return store.live_missing(scope, listed);
  };
  auto listing = collector.list(scope, &pages, missing, expected);
  run.finished_at = clock.now();
  out.seconds = run.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.pages = run.pages = pages;
  if (stop != nullptr && stop->load()) {
    out.error = "abandoned: acmon is stopping";
    return out;
  }
  std::lock_guard lock(store_mutex);
  if (!listing) {
    out.error = listing.error().describe();
    auto r = store.record_failure(scope, out.error, run);
    if (!r) {
      out.store_error = naming_database(store, r.error().message);
      out.stored = false;
      out.error += "; and the failure could not be recorded: " + out.store_error;
    }
    return out;
  }
  auto written = store.record_success(scope, listing->codes, run, clock.now());
  if (!written) {
    // A failed run like any other: counted, alerted on, and recorded when the database still
    // takes one small row (a full disk often does; a deleted or replaced file never).
    out.store_error = naming_database(store, written.error().message);
    out.error = "listing read but not stored: " + out.store_error;
    if (auto r = store.record_failure(scope, out.error, run); !r) {
      out.stored = false;
    }
    return out;
  }
  out.ok = true;
  out.written = *written;
  return out;
}

ScopeOutcome record_discovery_failure(const config::Collector& c, const Error& error, db::Store& store,
                                      std::mutex& store_mutex, const Clock& clock) {
  return record_discovery_failure(discovery_scope(c), error, store, store_mutex, clock);
}

namespace {

// A listing of regions or of members that worked, recorded against its "*" scope as a run with no
// codes.
ScopeOutcome record_empty_success(const model::Scope& scope, const char* what, db::Store& store,
                                  std::mutex& store_mutex, const Clock& clock) {
  ScopeOutcome o;
  o.scope = scope;
  db::RunInfo run;
  run.started_at = run.finished_at = clock.now();
  std::lock_guard lock(store_mutex);
  auto r = store.record_success(scope, {}, run, clock.now());
  if (!r) {
    o.store_error = naming_database(store, r.error().message);
    o.error = std::string("the listing of the ") + what + " could not be recorded: " + o.store_error;
    o.stored = false;
    return o;
  }
  o.ok = true;
  o.written = *r;
  return o;
}

}  // namespace

model::Scope discovery_scope(const config::Collector& c) {
  return model::Scope{c.name, c.product, c.account, "*", ""};
}

std::optional<ScopeOutcome> record_discovery_recovery(const model::Scope& scope, db::Store& store,
                                                      std::mutex& store_mutex, const Clock& clock) {
  {
    std::lock_guard lock(store_mutex);
    auto scopes = store.scopes();
    if (!scopes) {
      return std::nullopt;  // unread now: the next discovery that works asks again
    }
    const auto key = model::scope_key(scope);
    const bool known = std::any_of(scopes->begin(), scopes->end(),
                                   [&](const model::ScopeStatus& s) { return model::scope_key(s.scope) == key; });
    if (!known) {
      return std::nullopt;
    }
  }
  return record_empty_success(scope, "regions", store, store_mutex, clock);
}

ScopeOutcome record_member_listing(const config::Collector& c, const config::Organization& org,
                                   const std::optional<Error>& error, db::Store& store, std::mutex& store_mutex,
                                   const Clock& clock) {
  const model::Scope scope{c.name, c.product, org.name, "*", "", org.name};
  if (error) {
    return record_discovery_failure(scope, *error, store, store_mutex, clock);
  }
  return record_empty_success(scope, "members", store, store_mutex, clock);
}

ScopeOutcome record_discovery_failure(const model::Scope& scope, const Error& error, db::Store& store,
                                      std::mutex& store_mutex, const Clock& clock) {
  ScopeOutcome o;
  o.scope = scope;
  o.error = error.describe();
  db::RunInfo run;
  run.started_at = run.finished_at = clock.now();
  std::lock_guard lock(store_mutex);
  if (auto r = store.record_failure(o.scope, o.error, run); !r) {
    o.store_error = naming_database(store, r.error().message);
    o.stored = false;
    o.error += "; and the failure could not be recorded: " + o.store_error;
  }
  return o;
}

std::vector<ScopeOutcome> Syncer::run(const std::vector<std::string>& only, int parallel) {
  // Phase 1: the scopes of every chosen collector (ecs discovery makes one call each).
  std::vector<std::unique_ptr<collectors::Collector>> chosen;
  struct Task {
    collectors::Collector* collector;
    model::Scope scope;
  };
  std::vector<Task> tasks;
  std::vector<ScopeOutcome> star_outcomes;                // of region discoveries and member listings ("*" scopes)
  std::vector<std::shared_ptr<CredentialProvider>> held;  // member credentials the collectors use
  auto add = [&](const config::Collector& c, CredentialProvider& cred, const model::Scope* discovery,
                 const std::string& organization) {
    chosen.push_back(std::make_unique<collectors::Collector>(c, m_client, cred, &m_pacer, organization));
    auto scopes = chosen.back()->scopes();
    if (!scopes) {
      // Recorded against the "*" scope, so it shows as a failing collector.
      star_outcomes.push_back(
          discovery == nullptr ? record_discovery_failure(c, scopes.error(), m_store, m_store_mutex, m_clock)
                               : record_discovery_failure(*discovery, scopes.error(), m_store, m_store_mutex, m_clock));
      return;
    }
    if (auto cleared = record_discovery_recovery(discovery == nullptr ? discovery_scope(c) : *discovery, m_store,
                                                 m_store_mutex, m_clock)) {
      star_outcomes.push_back(std::move(*cleared));
    }
    for (auto& s : *scopes) {
      if (model::in_shard(s, m_cfg.daemon.shard_index, m_cfg.daemon.shard_total)) {
        tasks.push_back({chosen.back().get(), std::move(s)});
      }
    }
  };
  for (const auto& c : m_cfg.collectors) {
    if (!only.empty() && std::find(only.begin(), only.end(), c.name) == only.end()) {
      continue;
    }
    const config::Organization* org = m_cfg.organization_of(c);
    if (org == nullptr) {
      add(c, *m_credentials.at(c.account), nullptr, "");
      continue;
    }
    // An organization: its members listed once per run, then the collector once per member.
    if (m_members.count(org->name) == 0) {
      m_members[org->name] =
          list_members(*org, m_client, *m_credentials.at(org->account), m_store, m_store_mutex, m_clock, &m_pacer);
    }
    const auto& listing = m_members.at(org->name);
    star_outcomes.push_back(record_member_listing(c, *org, listing.error, m_store, m_store_mutex, m_clock));
    if (listing.error) {
      continue;  // the members stay as last listed; nothing of theirs is listed or deleted now
    }
    for (const auto& m : listing.members) {
      config::Collector per_member = c;
      per_member.account = m.account_id;
      held.push_back(m_member_credentials.get(*org, m));
      const model::Scope discovery{c.name, c.product, m.account_id, "*", "", org->name};
      add(per_member, *held.back(), &discovery, org->name);
    }
  }
  // Phase 2: every scope, at most `parallel` at a time.
  std::vector<ScopeOutcome> outcomes(tasks.size());
  if (parallel <= 0) {
    parallel = m_cfg.daemon.concurrency;
  }
  WorkerPool pool(static_cast<int>(
      std::min<std::size_t>(static_cast<std::size_t>(std::max(1, parallel)), std::max<std::size_t>(1, tasks.size()))));
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    pool.post(
        [&, i] { outcomes[i] = sync_scope(*tasks[i].collector, tasks[i].scope, m_store, m_store_mutex, m_clock); });
  }
  pool.wait();
  outcomes.insert(outcomes.end(), star_outcomes.begin(), star_outcomes.end());
  return outcomes;
}

}  // namespace acmon::daemon
