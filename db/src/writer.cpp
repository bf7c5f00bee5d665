// The snapshot writer: one transaction per scope run, history rows only for changes; pruning in
// bounded steps.
#include "acmon/db/store.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "batch.hpp"
#include "compare.hpp"
#include "rows.hpp"
#include "sqlite.hpp"

namespace acmon::db {

using model::Code;
using model::Scope;

using detail::Compared;
using detail::compared;
using detail::exec;
using detail::listing_digest;
using detail::read_code_fields;
using detail::sqlite_error;
using detail::Stmt;
using detail::Transaction;

namespace {

// What an unchanged poll compares: a hash of the stored fields, the stored state, deletion.
// listed: the new listing holds it (a live code it lacks is written as deleted).
struct Current {
  std::int64_t fingerprint = 0;
  std::string state;
  bool deleted = false;
  bool listed = false;
};

std::string opt_str(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) : "none";
}

// The history event and detail for a code that changed; empty event when nothing did.
std::pair<std::string, std::string> describe_change(const Code& old_code, const std::string& old_state,
                                                    const Code& now_code, const std::string& new_state) {
  std::vector<std::string> parts;
  std::string event;
  auto note = [&](const std::string& e, const std::string& d) {
    if (event.empty()) {
      event = e;
    }
    parts.push_back(d);
  };
  if (new_state == "expired" && old_state != "expired") {
    note("expired", "expired");
  }
  if (old_code.api_status != now_code.api_status) {
    if (now_code.api_status == "disabled") {
      note("disabled", "disabled");
    } else if (old_code.api_status == "disabled") {
      note("enabled", "enabled");
    } else {
      note("changed", "status " + old_code.api_status.value_or("none") + " -> " + now_code.api_status.value_or("none"));
    }
  }
  if (old_code.registered != now_code.registered) {
    if (old_code.registered && now_code.registered && *now_code.registered > *old_code.registered) {
      note("used", "used +" + std::to_string(*now_code.registered - *old_code.registered));
    } else {
      note("changed", "registered " + opt_str(old_code.registered) + " -> " + opt_str(now_code.registered));
    }
  }
  if (old_code.limit != now_code.limit) {
    note("changed", "limit " + opt_str(old_code.limit) + " -> " + opt_str(now_code.limit));
  }
  if (old_code.deregistered != now_code.deregistered) {
    note("changed", "deregistered " + opt_str(old_code.deregistered) + " -> " + opt_str(now_code.deregistered));
  }
  if (old_code.name != now_code.name) {
    note("changed", "name '" + old_code.name + "' -> '" + now_code.name + "'");
  }
  if (old_code.description != now_code.description) {
    note("changed", "description changed");
  }
  if (old_code.expires_at != now_code.expires_at || old_code.created_at != now_code.created_at) {
    note("changed", "times changed");
  }
  if (event.empty() && old_state != new_state) {
    note("changed", "state " + old_state + " -> " + new_state);
  }
  std::string detail;
  for (const auto& p : parts) {
    detail += (detail.empty() ? "" : ", ") + p;
  }
  return {event, detail};
}

// The order to write a listing in: by id. Each codes row and each history row is keyed by it
// (the codes table by scope and id, its index and history's by id): rows written in key order
// append to the end of those B-trees, or at least land beside the one before, where ids in the
// cloud's order (random, for most) land anywhere, each on a page of its own, and split pages
// half full. 100,000 new codes with random ids are written in 0.31 s so, against 0.66 s. Listed twice, an id
// keeps its listing order (the later is written over the earlier). A listing in id order already
// (the simulator's) is only checked.
std::vector<std::size_t> write_order(const std::vector<Code>& codes) {
  std::vector<std::size_t> order(codes.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  auto by_id = [&](std::size_t a, std::size_t b) { return codes[a].id < codes[b].id; };
  if (std::is_sorted(order.begin(), order.end(), by_id)) {
    return order;
  }
  // Sorted as (id, position) pairs side by side: fewer trips to the codes themselves.
  std::vector<std::pair<std::string_view, std::size_t>> keyed;
  keyed.reserve(codes.size());
  for (std::size_t i = 0; i < codes.size(); ++i) {
    keyed.emplace_back(codes[i].id, i);
  }
  std::sort(keyed.begin(), keyed.end());
  for (std::size_t i = 0; i < keyed.size(); ++i) {
    order[i] = keyed[i].second;
  }
  return order;
}

}  // namespace

Result<std::optional<Store::StoredScope>> Store::find_scope(const Scope& scope) {
  Stmt& find =
      m_stmts->get("SELECT id, codes FROM scopes WHERE collector=?1 AND region=?2 AND order_id=?3 AND member=?4");
  find.bind(1, std::string_view(scope.collector))
      .bind(2, std::string_view(scope.region))
      .bind(3, std::string_view(scope.order_id))
      .bind(4, std::string_view(scope.member()));
  auto row = find.step();
  if (!row) {
    return row.error();
  }
  std::optional<StoredScope> found;
  if (*row) {
    found = StoredScope{find.i64(0), find.i64(1)};
  }
  find.reset();  // done with: the scope table may be written next
  return found;
}

Result<std::int64_t> Store::scope_id(const Scope& scope) {
  auto found = find_scope(scope);
  if (!found) {
    return found.error();
  }
  if (*found) {
    const auto id = (*found)->id;
    // The collector may have been pointed at another account or product: keep the scope current.
    Stmt& upd = m_stmts->get("UPDATE scopes SET product=?2, account=?3, organization=?4 WHERE id=?1");
    upd.bind(1, id)
        .bind(2, std::string_view(config::to_string(scope.product)))
        .bind(3, std::string_view(scope.account))
        .bind(4, std::string_view(scope.organization));
    if (auto r = upd.run(); !r) {
      return r.error();
    }
    return id;
  }
  Stmt& ins = m_stmts->get(
      "INSERT INTO scopes(collector, product, account, region, order_id, organization, member) "
      "VALUES(?1,?2,?3,?4,?5,?6,?7)");
  ins.bind(1, std::string_view(scope.collector))
      .bind(2, std::string_view(config::to_string(scope.product)))
      .bind(3, std::string_view(scope.account))
      .bind(4, std::string_view(scope.region))
      .bind(5, std::string_view(scope.order_id))
      .bind(6, std::string_view(scope.organization))
      .bind(7, std::string_view(scope.member()));
  if (auto r = ins.run(); !r) {
    return r.error();
  }
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(m_db));
}

Result<void> Store::writable(const detail::Transaction& tx) const {
  if (m_read_only) {
    return make_error(ErrorKind::db, "database " + m_path + " was opened read-only: nothing is written to it");
  }
  if (auto r = check_file(); !r) {
    return r.error();
  }
  if (!tx.began()) {
    return sqlite_error(m_db, "cannot begin a transaction");
  }
  return {};
}

Result<WriteSummary> Store::record_success(const Scope& scope, const std::vector<Code>& codes, const RunInfo& run,
                                           UnixTime now) {
  bound_wal();
  // Every row a run writes refers to its scope, found or made in the same transaction, and the
  // run deletes nothing: SQLite's check of each reference (a lookup for every codes row and every
  // history row) would be a tenth of the write. Set outside the transaction (SQLite ignores the
  // pragma inside one), on again whatever the outcome.
  // The page cache, for the run only, holds 64 MiB: a run of 100,000 new codes (about 30 MiB of
  // pages) fits, so no dirty page is written to the log before the commit and again at it. Between
  // runs it goes back to SQLite's 2 MiB and gives its pages back: a daemon reading its snapshot
  // would otherwise keep tens of MiB of pages it has no use for.
  if (auto r = exec(m_db, "PRAGMA foreign_keys=OFF; PRAGMA cache_size=-65536"); !r) {
    return r.error();
  }
  // A keyed hash that fails throws (it never makes a value up); the transaction is rolled back.
  Result<WriteSummary> written = make_error(ErrorKind::db, "not written");
  try {
    written = write_success(scope, codes, run, now);
  } catch (const std::exception& e) {
    written = make_error(ErrorKind::db, e.what());
  }
  auto on = exec(m_db, "PRAGMA foreign_keys=ON; PRAGMA cache_size=-2000");
  sqlite3_db_release_memory(m_db);
  if (!on && written) {
    return on.error();
  }
  return written;
}

Result<WriteSummary> Store::write_success(const Scope& scope, const std::vector<Code>& codes, const RunInfo& run,
                                          UnixTime now) {
  Transaction tx(m_db);
  if (auto r = writable(tx); !r) {
    return r.error();
  }
  auto sid = scope_id(scope);
  if (!sid) {
    return sid.error();
  }
  // The digest first: an unchanged listing is then a run alone, without a fingerprint computed.
  const detail::ListingDigest digests = listing_digest(*m_hashes, codes, now);
  const std::uint64_t digest = digests.full;
  {
    auto unchanged = unchanged_run(*sid, digest, codes, run);
    if (!unchanged) {
      return unchanged.error();
    }
    if (*unchanged) {
      if (auto r = tx.commit(); !r) {
        m_written.erase(*sid);
        return r.error();
      }
      return **unchanged;
    }
  }
  const std::vector<Compared> keys = compared(*m_hashes, codes, now);
  WriteSummary sum;
  sum.codes = static_cast<int>(codes.size());

  Stmt& ins_run = m_stmts->get(
      "INSERT INTO runs(scope_id, started_at, finished_at, duration, ok, pages, codes) "
      "VALUES(?1,?2,?3,?4,1,?5,?6)");
  ins_run.bind(1, *sid).bind(2, run.started_at).bind(3, run.finished_at).bind(4, run.duration_seconds);
  ins_run.bind(5, static_cast<std::int64_t>(run.pages)).bind(6, static_cast<std::int64_t>(codes.size()));
  if (auto r = ins_run.run(); !r) {
    return r.error();
  }
  sum.run_id = sqlite3_last_insert_rowid(m_db);

  std::unordered_map<std::string, Current> current;
  {
    Stmt& count = m_stmts->get("SELECT count(*) FROM codes WHERE scope_id=?1");
    count.bind(1, *sid);
    if (auto r = count.step(); r && *r) {
      current.reserve(static_cast<std::size_t>(count.i64(0)));
    }
    count.reset();
  }
  {
    Stmt& sel = m_stmts->get("SELECT code_id, fingerprint, state, deleted_at IS NOT NULL FROM codes WHERE scope_id=?1");
    sel.bind(1, *sid);
    if (auto r = sel.each([&] {
          current.emplace(sel.text(0), Current{sel.i64(1), sel.text(2), sel.i64(3) != 0});
        });
        !r) {
      return r.error();
    }
  }
  // The full stored row, read only for codes that changed or went away.
  Stmt& full = m_stmts->get(
      "SELECT name, description, limit_count, registered, deregistered, created_at, expires_at, api_status "
      "FROM codes WHERE scope_id=?1 AND code_id=?2");
  Code base;
  base.product = scope.product;
  base.account = scope.account;
  base.region = scope.region;
  base.order_id = scope.order_id;
  auto stored = [&](const std::string& id) -> Result<Code> {
    full.reset();
    full.bind(1, *sid).bind(2, std::string_view(id));
    auto row = full.step();
    if (!row) {
      return row.error();
    }
    Code c = base;
    c.id = id;
    c = read_code_fields(full, 0, std::move(c));
    full.reset();
    return c;
  };

  detail::RowWriter rows(m_db, *m_stmts, *sid, sum.run_id, now);
  for (const std::size_t i : write_order(codes)) {
    const Code& c = codes[i];
    const std::string_view state = keys[i].state;
    const std::int64_t fp = keys[i].fingerprint;
    // A scope's first listing has nothing stored: no id to hash and look for.
    auto it = current.empty() ? current.end() : current.find(c.id);
    if (it != current.end()) {
      it->second.listed = true;
    }
    std::string event;
    std::string detail;
    if (it == current.end()) {
      event = "created";
      ++sum.created;
    } else if (it->second.deleted) {
      event = "restored";
      detail = "listed again";
      ++sum.created;
    } else {
      if (it->second.fingerprint == fp && it->second.state == state) {
        continue;  // unchanged: no row written
      }
      auto old = stored(c.id);
      if (!old) {
        return old.error();
      }
      std::tie(event, detail) = describe_change(*old, it->second.state, c, std::string(state));
      if (event.empty()) {
        // The same values under another fingerprint (a row written under another key, or edited):
        // the fingerprint is put right, so that the next run need not read the row again.
        Stmt& heal = m_stmts->get(detail::k_set_fingerprint_sql);
        heal.bind(1, *sid).bind(2, std::string_view(c.id)).bind(3, fp);
        if (auto r = heal.run(); !r) {
          return r.error();
        }
        continue;
      }
      ++sum.changed;
    }
    if (auto r = rows.add({&c, state, fp, std::move(event), std::move(detail)}, it == current.end()); !r) {
      return r.error();
    }
  }
  if (auto r = rows.flush(); !r) {
    return r.error();
  }

  Stmt& del =
      m_stmts->get("UPDATE codes SET deleted_at=?3, state='deleted', changed_at=?3 WHERE scope_id=?1 AND code_id=?2");
  for (const auto& [id, cur] : current) {
    if (cur.deleted || cur.listed) {
      continue;
    }
    auto old = stored(id);
    if (!old) {
      return old.error();
    }
    del.reset();
    del.bind(1, *sid).bind(2, std::string_view(id)).bind(3, now);
    if (auto r = del.run(); !r) {
      return r.error();
    }
    if (auto r = rows.history_only({&*old, {}, 0, "deleted", "no longer listed"}); !r) {
      return r.error();
    }
    ++sum.deleted;
  }
  sum.history_rows = rows.history_rows();

  Stmt& upd_run = m_stmts->get("UPDATE runs SET changes=?2 WHERE id=?1");
  const std::int64_t changes = std::int64_t{sum.created} + sum.changed + sum.deleted;
  upd_run.bind(1, sum.run_id).bind(2, changes);
  Stmt& upd_scope = m_stmts->get(
      "UPDATE scopes SET last_run_at=?2, last_success_at=?2, last_ok=1, last_error=NULL, "
      "last_duration=?3, codes=?4, successes=successes+1, consecutive_failures=0 WHERE id=?1");
  upd_scope.bind(1, *sid).bind(2, run.finished_at).bind(3, run.duration_seconds);
  upd_scope.bind(4, static_cast<std::int64_t>(codes.size()));
  if (auto r = upd_run.run(); !r) {
    return r.error();
  }
  if (auto r = upd_scope.run(); !r) {
    return r.error();
  }
  if (auto r = tx.commit(); !r) {
    m_written.erase(*sid);
    return r.error();
  }
  m_written[*sid] = {digest, digests.ids, sum.run_id};
  return sum;
}

Result<std::optional<WriteSummary>> Store::unchanged_run(std::int64_t scope_id, std::uint64_t digest,
                                                         const std::vector<Code>& codes, const RunInfo& run) {
  auto it = m_written.find(scope_id);
  if (it == m_written.end() || it->second.digest != digest) {
    return std::optional<WriteSummary>();
  }
  // Another writer (an `acmon sync` beside the daemon, a restore) would have added a run since.
  auto ours = newest_run_is(scope_id, it->second.run_id);
  if (!ours) {
    return ours.error();
  }
  if (!*ours) {
    m_written.erase(it);
    return std::optional<WriteSummary>();
  }
  WriteSummary sum;
  sum.codes = static_cast<int>(codes.size());
  Stmt& ins_run = m_stmts->get(
      "INSERT INTO runs(scope_id, started_at, finished_at, duration, ok, pages, codes, changes) "
      "VALUES(?1,?2,?3,?4,1,?5,?6,0)");
  ins_run.bind(1, scope_id).bind(2, run.started_at).bind(3, run.finished_at).bind(4, run.duration_seconds);
  ins_run.bind(5, static_cast<std::int64_t>(run.pages)).bind(6, static_cast<std::int64_t>(codes.size()));
  if (auto r = ins_run.run(); !r) {
    return r.error();
  }
  sum.run_id = sqlite3_last_insert_rowid(m_db);
  Stmt& upd_scope = m_stmts->get(
      "UPDATE scopes SET last_run_at=?2, last_success_at=?2, last_ok=1, last_error=NULL, "
      "last_duration=?3, codes=?4, successes=successes+1, consecutive_failures=0 WHERE id=?1");
  upd_scope.bind(1, scope_id).bind(2, run.finished_at).bind(3, run.duration_seconds);
  upd_scope.bind(4, static_cast<std::int64_t>(codes.size()));
  if (auto r = upd_scope.run(); !r) {
    return r.error();
  }
  it->second.run_id = sum.run_id;
  return std::optional<WriteSummary>(sum);
}

Result<bool> Store::newest_run_is(std::int64_t scope_id, std::int64_t run_id) {
  Stmt& newest = m_stmts->get("SELECT max(id) FROM runs WHERE scope_id=?1");
  newest.bind(1, scope_id);
  auto row = newest.step();
  if (!row) {
    return row.error();
  }
  const bool same = *row && newest.i64(0) == run_id;
  newest.reset();
  return same;
}

Result<std::size_t> Store::scope_codes(const Scope& scope) {
  auto found = find_scope(scope);
  if (!found) {
    return found.error();
  }
  return static_cast<std::size_t>(*found ? std::max<std::int64_t>((*found)->codes, 0) : 0);
}

Result<std::vector<std::string>> Store::live_missing(const Scope& scope, const std::vector<Code>& listed) {
  auto found = find_scope(scope);
  if (!found) {
    return found.error();
  }
  if (!*found) {
    return std::vector<std::string>();  // never stored: nothing is live
  }
  const std::int64_t sid = (*found)->id;
  // The listing's ids digest only when this Store wrote the scope before: nothing to compare else.
  if (auto it = m_written.find(sid); it != m_written.end()) {
    bool same_ids = false;
    try {
      same_ids = it->second.ids_digest == detail::ids_digest(*m_hashes, listed);
    } catch (const std::exception& e) {
      return make_error(ErrorKind::db, e.what());
    }
    auto ours = same_ids ? newest_run_is(sid, it->second.run_id) : Result<bool>(false);
    if (!ours) {
      return ours.error();
    }
    if (*ours) {
      return std::vector<std::string>();
    }
  }
  std::unordered_set<std::string_view> ids;
  ids.reserve(listed.size());
  for (const auto& c : listed) {
    ids.insert(c.id);
  }
  std::vector<std::string> missing;
  Stmt& live = m_stmts->get("SELECT code_id FROM codes WHERE scope_id=?1 AND deleted_at IS NULL");
  live.bind(1, sid);
  if (auto r = live.each([&] {
        if (const auto id = live.text_view(0); ids.count(id) == 0) {
          missing.emplace_back(id);
        }
      });
      !r) {
    return r.error();
  }
  return missing;
}

Result<std::int64_t> Store::record_failure(const Scope& scope, const std::string& error, const RunInfo& run) {
  Transaction tx(m_db);
  if (auto r = writable(tx); !r) {
    return r.error();
  }
  auto sid = scope_id(scope);
  if (!sid) {
    return sid.error();
  }
  Stmt ins(
      m_db,
      "INSERT INTO runs(scope_id, started_at, finished_at, duration, ok, error, pages) VALUES(?1,?2,?3,?4,0,?5,?6)");
  ins.bind(1, *sid).bind(2, run.started_at).bind(3, run.finished_at).bind(4, run.duration_seconds);
  ins.bind(5, std::string_view(error)).bind(6, static_cast<std::int64_t>(run.pages));
  if (auto r = ins.run(); !r) {
    return r.error();
  }
  const auto run_id = static_cast<std::int64_t>(sqlite3_last_insert_rowid(m_db));
  Stmt upd(m_db,
           "UPDATE scopes SET last_run_at=?2, last_ok=0, last_error=?3, last_duration=?4, failures=failures+1, "
           "consecutive_failures=consecutive_failures+1 WHERE id=?1");
  upd.bind(1, *sid).bind(2, run.finished_at).bind(3, std::string_view(error)).bind(4, run.duration_seconds);
  if (auto r = upd.run(); !r) {
    return r.error();
  }
  if (auto r = tx.commit(); !r) {
    return r.error();
  }
  return run_id;
}

Result<std::int64_t> Store::prune(UnixTime before) {
  Transaction tx(m_db);
  if (auto r = writable(tx); !r) {
    return r.error();
  }
  std::int64_t removed = 0;
  // History rows and deleted codes past retention go; the newest run of each scope stays.
  for (const char* sql : {"DELETE FROM history WHERE at < ?1", "DELETE FROM codes WHERE deleted_at < ?1",
                          "DELETE FROM alerts WHERE ends_at < ?1",
                          "DELETE FROM runs WHERE finished_at < ?1 AND id NOT IN (SELECT max(id) FROM runs GROUP BY "
                          "scope_id)"}) {
    Stmt s(m_db, sql);
    s.bind(1, before);
    if (auto r = s.run(); !r) {
      return r.error();
    }
    removed += sqlite3_changes(m_db);
  }
  if (auto r = tx.commit(); !r) {
    return r.error();
  }
  return removed;
}

Result<PruneStep> Store::prune_step(UnixTime before, int limit) {
  Transaction tx(m_db);
  if (auto r = writable(tx); !r) {
    return r.error();
  }
  PruneStep step;
  step.done = true;
  // What prune() removes, a few rows at a time; each inner SELECT walks an index
  // (history_at, codes by scope, alerts_ended, runs_finished and runs_scope for the newest run).
  for (const char* sql : {
           "DELETE FROM history WHERE id IN (SELECT id FROM history WHERE at < ?1 LIMIT ?2)",
           "DELETE FROM codes WHERE (scope_id, code_id) IN "
           "(SELECT scope_id, code_id FROM codes WHERE deleted_at < ?1 LIMIT ?2)",
           "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE ends_at < ?1 LIMIT ?2)",
           "DELETE FROM runs WHERE id IN (SELECT r.id FROM runs r WHERE r.finished_at < ?1 AND "
           "r.id < (SELECT max(n.id) FROM runs n WHERE n.scope_id = r.scope_id) LIMIT ?2)",
       }) {
    Stmt s(m_db, sql);
    if (!s.ok()) {
      return sqlite_error(m_db, "prepare prune");
    }
    s.bind(1, before).bind(2, static_cast<std::int64_t>(limit));
    if (auto r = s.run(); !r) {
      return r.error();
    }
    const auto n = sqlite3_changes(m_db);
    step.removed += n;
    step.done = step.done && n < limit;
  }
  if (auto r = tx.commit(); !r) {
    return r.error();
  }
  return step;
}

}  // namespace acmon::db
