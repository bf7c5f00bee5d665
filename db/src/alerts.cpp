// The alert store: reconciling firing alerts with the desired ones, and what each receiver is owed.
#include "acmon/db/store.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "sqlite.hpp"

namespace acmon::db {

using model::AlertRecord;

using detail::Stmt;
using detail::Transaction;

namespace {

constexpr const char* k_alert_columns =
    "id, rule, severity, product, account, region, order_id, code_id, collector, name, summary, starts_at, ends_at, "
    "span_at";

AlertRecord read_alert(const Stmt& q, int first) {
  AlertRecord a;
  a.id = q.i64(first);
  a.rule = q.text(first + 1);
  a.severity = q.text(first + 2);
  a.product = q.text(first + 3);
  a.account = q.text(first + 4);
  a.region = q.text(first + 5);
  a.order_id = q.text(first + 6);
  a.code_id = q.text(first + 7);
  a.collector = q.text(first + 8);
  a.name = q.text(first + 9);
  a.summary = q.text(first + 10);
  a.starts_at = q.i64(first + 11);
  a.ends_at = q.opt_i64(first + 12);
  a.span_at = q.opt_i64(first + 13);
  return a;
}

}  // namespace

Result<AlertChanges> Store::reconcile_alerts(std::vector<AlertRecord> desired, UnixTime now) {
  return reconcile_firing(desired, now);
}

Result<AlertChanges> Store::reconcile_firing(std::vector<AlertRecord>& alerts, UnixTime now) {
  Transaction tx(m_db);
  if (auto r = writable(tx); !r) {
    return r.error();
  }
  // The firing ones by key, not as whole records (with 50,000 alerts they were some 30 MB).
  struct Entry {
    std::int64_t id = 0;
    UnixTime starts_at = 0;
    std::string summary;
    std::optional<UnixTime> span_at;
    std::string name;
    bool wanted = false;
  };
  std::unordered_map<std::string, Entry> keys;
  std::unordered_set<std::string> started_keys;
  {
    Stmt q(m_db, "SELECT id, key, summary, name, starts_at, span_at FROM alerts WHERE ends_at IS NULL");
    if (auto r = q.each([&] {
          keys.emplace(q.text(1), Entry{q.i64(0), q.i64(4), q.text(2), q.opt_i64(5), q.text(3)});
        });
        !r) {
      return r.error();
    }
  }
  AlertChanges changes;
  Stmt ins(m_db,
           "INSERT INTO alerts(key, rule, severity, product, account, region, order_id, code_id, collector, name, "
           "summary, starts_at, span_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
  Stmt upd(m_db, "UPDATE alerts SET summary=?2, name=?3, span_at=?4 WHERE id=?1");
  Stmt end(m_db, "UPDATE alerts SET ends_at=?2 WHERE id=?1");
  // Each desired alert's stored id and start, set once the transaction holds (id 0: a repeated key).
  std::vector<std::pair<std::int64_t, UnixTime>> stored(alerts.size());
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    const auto& d = alerts[i];
    std::string key = d.key();
    if (started_keys.count(key) != 0) {
      continue;
    }
    auto it = keys.find(key);
    if (it != keys.end()) {
      if (it->second.wanted) {
        continue;
      }
      it->second.wanted = true;
      stored[i] = {it->second.id, it->second.starts_at};
      if (it->second.summary != d.summary || it->second.span_at != d.span_at || it->second.name != d.name) {
        upd.reset();
        upd.bind(1, it->second.id).bind(2, std::string_view(d.summary)).bind(3, std::string_view(d.name));
        upd.bind(4, d.span_at);
        if (auto r = upd.run(); !r) {
          return r.error();
        }
      }
      continue;
    }
    ins.reset();
    ins.bind(1, std::string_view(key)).bind(2, std::string_view(d.rule)).bind(3, std::string_view(d.severity));
    ins.bind(4, std::string_view(d.product)).bind(5, std::string_view(d.account)).bind(6, std::string_view(d.region));
    ins.bind(7, std::string_view(d.order_id)).bind(8, std::string_view(d.code_id));
    ins.bind(9, std::string_view(d.collector)).bind(10, std::string_view(d.name));
    ins.bind(11, std::string_view(d.summary)).bind(12, now);
    ins.bind(13, d.span_at);
    if (auto r = ins.run(); !r) {
      return r.error();
    }
    AlertRecord started = d;
    started.id = sqlite3_last_insert_rowid(m_db);
    started.starts_at = now;
    started.ends_at.reset();
    stored[i] = {started.id, now};
    changes.started.push_back(std::move(started));
    started_keys.insert(std::move(key));
  }
  Stmt one(m_db, std::string("SELECT ") + k_alert_columns + " FROM alerts WHERE id=?1");
  for (auto& [key, e] : keys) {
    if (e.wanted) {
      continue;
    }
    end.reset();
    end.bind(1, e.id).bind(2, now);
    if (auto r = end.run(); !r) {
      return r.error();
    }
    one.reset();
    one.bind(1, e.id);
    if (auto r = one.each([&] { changes.resolved.push_back(read_alert(one, 0)); }); !r) {
      return r.error();
    }
  }
  if (auto r = tx.commit(); !r) {
    return r.error();
  }
  keys = {};
  started_keys = {};
  // What alerts(false) reads back: the same records, repeated keys dropped, newest first.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    if (stored[i].first == 0) {
      continue;
    }
    if (kept != i) {
      alerts[kept] = std::move(alerts[i]);
    }
    alerts[kept].id = stored[i].first;
    alerts[kept].starts_at = stored[i].second;
    alerts[kept].ends_at.reset();
    ++kept;
  }
  alerts.erase(alerts.begin() + static_cast<std::ptrdiff_t>(kept), alerts.end());
  std::sort(alerts.begin(), alerts.end(), [](const AlertRecord& a, const AlertRecord& b) {
    return a.starts_at != b.starts_at ? a.starts_at > b.starts_at : a.id > b.id;
  });
  return changes;
}

Result<AlertChanges> Store::apply_alert_changes(const std::vector<AlertRecord*>& start,
                                                const std::vector<const AlertRecord*>& update,
                                                const std::vector<const AlertRecord*>& end, UnixTime now) {
  Transaction tx(m_db);
  if (auto r = writable(tx); !r) {
    return r.error();
  }
  auto diverged = [](const AlertRecord& a, const char* what) {
    return make_error(ErrorKind::db, "alert " + a.rule + " " + a.severity + " " +
                                         (a.is_code_alert() ? a.code_id : a.collector) + " " + what +
                                         " in the database; the alerts are reconciled in full");
  };
  AlertChanges changes;
  Stmt ended(m_db, "UPDATE alerts SET ends_at=?2 WHERE id=?1 AND ends_at IS NULL");
  for (const auto* a : end) {
    ended.reset();
    ended.bind(1, a->id).bind(2, now);
    if (auto r = ended.run(); !r) {
      return r.error();
    }
    if (sqlite3_changes(m_db) != 1) {
      return diverged(*a, "is not firing");
    }
    AlertRecord resolved = *a;
    resolved.ends_at = now;
    changes.resolved.push_back(std::move(resolved));
  }
  Stmt upd(m_db, "UPDATE alerts SET summary=?2, name=?3, span_at=?4 WHERE id=?1 AND ends_at IS NULL");
  for (const auto* a : update) {
    upd.reset();
    upd.bind(1, a->id).bind(2, std::string_view(a->summary)).bind(3, std::string_view(a->name));
    upd.bind(4, a->span_at);
    if (auto r = upd.run(); !r) {
      return r.error();
    }
    if (sqlite3_changes(m_db) != 1) {
      return diverged(*a, "is not firing");
    }
  }
  Stmt firing(m_db, "SELECT 1 FROM alerts WHERE key=?1 AND ends_at IS NULL");
  Stmt ins(m_db,
           "INSERT INTO alerts(key, rule, severity, product, account, region, order_id, code_id, collector, name, "
           "summary, starts_at, span_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
  std::vector<std::int64_t> ids;
  ids.reserve(start.size());
  for (const auto* d : start) {
    const std::string key = d->key();
    firing.reset();
    firing.bind(1, std::string_view(key));
    bool already = false;
    if (auto r = firing.each([&] { already = true; }); !r) {
      return r.error();
    }
    if (already) {
      return diverged(*d, "is firing already");
    }
    ins.reset();
    ins.bind(1, std::string_view(key)).bind(2, std::string_view(d->rule)).bind(3, std::string_view(d->severity));
    ins.bind(4, std::string_view(d->product))
        .bind(5, std::string_view(d->account))
        .bind(6, std::string_view(d->region));
    ins.bind(7, std::string_view(d->order_id)).bind(8, std::string_view(d->code_id));
    ins.bind(9, std::string_view(d->collector)).bind(10, std::string_view(d->name));
    ins.bind(11, std::string_view(d->summary)).bind(12, now);
    ins.bind(13, d->span_at);
    if (auto r = ins.run(); !r) {
      return r.error();
    }
    ids.push_back(sqlite3_last_insert_rowid(m_db));
  }
  if (auto r = tx.commit(); !r) {
    return r.error();
  }
  // Only now, with the transaction done: on failure the records are as they were given.
  for (std::size_t i = 0; i < start.size(); ++i) {
    start[i]->id = ids[i];
    start[i]->starts_at = now;
    start[i]->ends_at.reset();
    changes.started.push_back(*start[i]);
  }
  return changes;
}

Result<std::vector<AlertRecord>> Store::alerts(bool include_resolved, UnixTime since) {
  std::string sql = std::string("SELECT ") + k_alert_columns + " FROM alerts WHERE ends_at IS NULL";
  if (include_resolved) {
    sql += " OR ends_at >= ?1";
  }
  sql += " ORDER BY starts_at DESC, id DESC";
  Stmt q(m_db, sql);
  if (include_resolved) {
    q.bind(1, since);
  }
  std::vector<AlertRecord> out;
  {
    Stmt n(m_db, "SELECT count(*) FROM alerts WHERE ends_at IS NULL" +
                     std::string(include_resolved ? " OR ends_at >= ?1" : ""));
    if (include_resolved) {
      n.bind(1, since);
    }
    if (auto r = n.each([&] { out.reserve(static_cast<std::size_t>(n.i64(0))); }); !r) {
      return r.error();
    }
  }
  if (auto r = q.each([&] { out.push_back(read_alert(q, 0)); }); !r) {
    return r.error();
  }
  return out;
}

Result<std::vector<PendingNotification>> Store::pending_notifications(const std::string& target, UnixTime resend_before,
                                                                      UnixTime not_before, UnixTime sent_after) {
  Stmt q(m_db, std::string("SELECT ") +
                   "a.id, a.rule, a.severity, a.product, a.account, a.region, a.order_id, a.code_id, a.collector, "
                   "a.name, a.summary, a.starts_at, a.ends_at, a.span_at FROM alerts a LEFT JOIN notifications n "
                   "ON n.alert_id = a.id AND n.target = ?1 WHERE "
                   "(a.ends_at IS NULL AND (n.firing_sent_at IS NULL OR n.firing_sent_at < ?2 OR "
                   "n.firing_sent_at > ?4)) OR "
                   // The cutoff is for a receiver that never heard of the alert: one told that it
                   // fired is owed the resolution however long it was unreachable.
                   "(a.ends_at IS NOT NULL AND n.resolved_sent_at IS NULL AND "
                   "(a.ends_at >= ?3 OR n.firing_sent_at IS NOT NULL)) "
                   "ORDER BY a.id");
  q.bind(1, std::string_view(target)).bind(2, resend_before).bind(3, not_before).bind(4, sent_after);
  std::vector<PendingNotification> out;
  if (auto r = q.each([&] {
        PendingNotification p;
        p.alert = read_alert(q, 0);
        p.resolved = p.alert.ends_at.has_value();
        out.push_back(std::move(p));
      });
      !r) {
    return r.error();
  }
  return out;
}

Result<void> Store::mark_notified(const std::string& target, const std::vector<PendingNotification>& sent,
                                  UnixTime now) {
  Transaction tx(m_db);
  if (auto r = writable(tx); !r) {
    return r.error();
  }
  Stmt firing(m_db,
              "INSERT INTO notifications(target, alert_id, firing_sent_at) VALUES(?1,?2,?3) "
              "ON CONFLICT(target, alert_id) DO UPDATE SET firing_sent_at=excluded.firing_sent_at");
  Stmt resolved(m_db,
                "INSERT INTO notifications(target, alert_id, resolved_sent_at) VALUES(?1,?2,?3) "
                "ON CONFLICT(target, alert_id) DO UPDATE SET resolved_sent_at=excluded.resolved_sent_at");
  for (const auto& p : sent) {
    Stmt& s = p.resolved ? resolved : firing;
    s.reset();
    s.bind(1, std::string_view(target)).bind(2, p.alert.id).bind(3, now);
    if (auto r = s.run(); !r) {
      return r.error();
    }
  }
  return tx.commit();
}

}  // namespace acmon::db
