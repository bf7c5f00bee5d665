#include "acmon/daemon/alert_tracker.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace acmon::daemon {

using model::AlertPtr;
using model::AlertRecord;

namespace {

// The same summary (a counting one counts to or from the same moment) and name.
bool same_text(const AlertRecord& a, const AlertRecord& b) {
  return a.summary == b.summary && a.span_at == b.span_at && a.name == b.name;
}

// The held alert with the summary and name it has now: the same alert (id and start kept).
AlertPtr successor(const AlertPtr& held, AlertRecord now) {
  now.id = held->id;
  now.starts_at = held->starts_at;
  now.ends_at.reset();
  return std::make_shared<const AlertRecord>(std::move(now));
}

constexpr auto k_sooner_first = std::greater<>{};  // the due heaps are min-heaps of (time, index)

}  // namespace

template <typename Place>
bool AlertTracker::evaluate_codes(ListState& ls, const CodeJudge& judge, UnixTime now, Place&& place) {
  ls.slots.resize(ls.list->size());
  for (std::size_t i = 0; i < ls.list->size(); ++i) {
    const auto c = ls.list->at(i);
    const auto t = judge.thresholds(c);
    if (!t) {
      continue;
    }
    std::optional<AlertRecord> fresh[k_code_rules];
    if (const UnixTime until = code_alerts(c, *t, now, fresh); until != k_never) {
      ls.due.emplace_back(until, static_cast<std::uint32_t>(i));
    }
    for (std::size_t r = 0; r < ls.slots[i].size(); ++r) {
      if (fresh[r] && !place(ls.slots[i][r], std::move(*fresh[r]))) {
        return false;
      }
    }
  }
  std::make_heap(ls.due.begin(), ls.due.end(), k_sooner_first);
  return true;
}

AlertTracker::ListState AlertTracker::evaluate_list(const std::shared_ptr<const model::CodeList>& list,
                                                    const CodeJudge& judge, UnixTime now, const ListState* held,
                                                    Changes& out) const {
  ListState ls;
  ls.list = list;
  std::unordered_map<std::string, AlertPtr> before;
  if (held != nullptr) {
    for (const auto& slots : held->slots) {
      for (const auto& a : slots) {
        if (a) {
          before.emplace(a->key(), a);
        }
      }
    }
  }
  std::unordered_set<std::string> seen;
  evaluate_codes(ls, judge, now, [&](AlertPtr& slot, AlertRecord fresh) {
    std::string key = fresh.key();
    if (!seen.insert(key).second) {
      return true;  // a key repeated in the list: the first code's alert stands, as the store keeps it
    }
    auto it = before.find(key);
    if (it != before.end()) {
      AlertPtr h = std::move(it->second);
      before.erase(it);
      if (same_text(*h, fresh)) {
        slot = std::move(h);
      } else {
        slot = successor(h, std::move(fresh));
        out.changed.emplace_back(std::move(h), slot);
      }
    } else {
      auto s = std::make_shared<AlertRecord>(std::move(fresh));
      out.started.push_back(s);
      slot = std::move(s);
    }
    return true;
  });
  for (auto& [key, a] : before) {
    out.ended.push_back(std::move(a));
  }
  return ls;
}

void AlertTracker::revisit(ListState& ls, const CodeJudge& judge, UnixTime now, Changes& out) const {
  while (!ls.due.empty() && ls.due.front().first <= now) {
    std::pop_heap(ls.due.begin(), ls.due.end(), k_sooner_first);
    const std::uint32_t i = ls.due.back().second;
    ls.due.pop_back();
    const auto c = ls.list->at(i);
    const auto t = judge.thresholds(c);
    std::optional<AlertRecord> fresh[k_code_rules];
    const UnixTime until = t ? code_alerts(c, *t, now, fresh) : k_never;
    auto& slots = ls.slots[i];
    for (std::size_t r = 0; r < slots.size(); ++r) {
      auto& held = slots[r];
      if (!fresh[r]) {
        if (held) {
          out.ended.push_back(std::move(held));
          held.reset();
        }
        continue;
      }
      // The same code and rule: the same alert when the severity is the same (the other labels are
      // the code's, unchanged with its list).
      if (held && held->severity == fresh[r]->severity) {
        if (!same_text(*held, *fresh[r])) {
          auto next = successor(held, std::move(*fresh[r]));
          out.changed.emplace_back(std::move(held), next);
          held = std::move(next);
        }
        continue;
      }
      if (held) {
        out.ended.push_back(std::move(held));
      }
      auto s = std::make_shared<AlertRecord>(std::move(*fresh[r]));
      out.started.push_back(s);
      held = std::move(s);
    }
    // A change to come is always after now: this code is not popped again in this loop.
    if (until != k_never) {
      ls.due.emplace_back(until, i);
      std::push_heap(ls.due.begin(), ls.due.end(), k_sooner_first);
    }
  }
}

bool AlertTracker::seed(const model::Snapshot& state, std::shared_ptr<const config::Config> cfg, UnixTime now,
                        const model::AlertList& stored) {
  clear();
  std::unordered_map<std::string, AlertPtr> by_key;
  by_key.reserve(stored.size());
  for (auto it = stored.begin(); it != stored.end(); ++it) {
    if (!by_key.emplace(it->key(), it.ptr()).second) {
      return false;
    }
  }
  // Takes the stored alert of the key the rules raise; false when there is none, or it reads otherwise.
  auto take = [&](const AlertRecord& fresh, AlertPtr& into) {
    auto it = by_key.find(fresh.key());
    if (it == by_key.end() || !it->second || !same_text(*it->second, fresh)) {
      return false;
    }
    into = std::move(it->second);
    return true;
  };
  const CodeJudge judge(*cfg);
  std::size_t taken = 0;
  for (const auto& [key, list] : state.codes) {
    ListState ls;
    ls.list = list;
    if (!evaluate_codes(ls, judge, now, [&](AlertPtr& slot, const AlertRecord& fresh) {
          ++taken;
          return take(fresh, slot);
        })) {
      clear();
      return false;
    }
    m_lists.emplace(key, std::move(ls));
  }
  std::vector<AlertRecord> scopes;
  scope_alerts(state.scopes, *cfg, now, scopes);
  for (const auto& a : scopes) {
    if (!take(a, m_scope_alerts.emplace_back())) {
      clear();
      return false;
    }
    ++taken;
  }
  if (taken != stored.size()) {
    clear();
    return false;
  }
  m_cfg = std::move(cfg);
  m_list = stored.identity();
  return true;
}

bool AlertTracker::holds(const config::Config& cfg, const model::AlertList& list) const {
  return m_cfg && m_cfg.get() == &cfg && m_list == list.identity();
}

void AlertTracker::clear() {
  m_cfg.reset();
  m_list = nullptr;
  m_lists.clear();
  m_scope_alerts.clear();
}

AlertTracker::Changes AlertTracker::step(const model::Snapshot& state, UnixTime now) {
  Changes out;
  const CodeJudge judge(*m_cfg);
  for (auto it = m_lists.begin(); it != m_lists.end();) {
    if (state.codes.count(it->first) != 0) {
      ++it;
      continue;
    }
    for (auto& slots : it->second.slots) {  // a scope no longer in the state: its alerts end
      for (auto& a : slots) {
        if (a) {
          out.ended.push_back(std::move(a));
        }
      }
    }
    it = m_lists.erase(it);
  }
  for (const auto& [key, list] : state.codes) {
    auto it = m_lists.find(key);
    if (it == m_lists.end()) {
      m_lists.emplace(key, evaluate_list(list, judge, now, nullptr, out));
    } else if (it->second.list != list) {
      auto replaced = evaluate_list(list, judge, now, &it->second, out);
      it->second = std::move(replaced);
    } else {
      revisit(it->second, judge, now, out);
    }
  }
  // The collector scopes, every time: a handful, and their summaries count up.
  std::vector<AlertRecord> fresh;
  scope_alerts(state.scopes, *m_cfg, now, fresh);
  std::unordered_map<std::string, AlertPtr> before;
  for (auto& a : m_scope_alerts) {
    before.emplace(a->key(), std::move(a));
  }
  m_scope_alerts.clear();
  std::unordered_set<std::string> seen;
  for (auto& f : fresh) {
    std::string key = f.key();
    if (!seen.insert(key).second) {
      continue;  // a repeated key: the first stands
    }
    auto it = before.find(key);
    if (it == before.end()) {
      auto s = std::make_shared<AlertRecord>(std::move(f));
      out.started.push_back(s);
      m_scope_alerts.push_back(std::move(s));
      continue;
    }
    AlertPtr h = std::move(it->second);
    before.erase(it);
    if (same_text(*h, f)) {
      m_scope_alerts.push_back(std::move(h));
    } else {
      auto next = successor(h, std::move(f));
      out.changed.emplace_back(std::move(h), next);
      m_scope_alerts.push_back(std::move(next));
    }
  }
  for (auto& [key, a] : before) {
    out.ended.push_back(std::move(a));
  }
  return out;
}

model::AlertList AlertTracker::commit(const model::AlertList& before, const Changes& changes) {
  using model::AlertList;
  std::unordered_map<const AlertRecord*, AlertPtr> replaced;  // held -> its successor, or none (ended)
  replaced.reserve(changes.changed.size() + changes.ended.size());
  for (const auto& [held, next] : changes.changed) {
    replaced.emplace(held.get(), next);
  }
  for (const auto& a : changes.ended) {
    replaced.emplace(a.get(), nullptr);
  }
  AlertList::Chunks out;
  AlertList::Chunk pending;  // records for a chunk of their own, made up of new and changed ones
  auto flush = [&] {
    if (!pending.empty()) {
      out.push_back(std::make_shared<const AlertList::Chunk>(std::move(pending)));
      pending = {};
    }
  };
  auto add = [&](const AlertPtr& a) {
    pending.push_back(a);
    if (pending.size() >= AlertList::k_chunk) {
      flush();
    }
  };
  // Newest first, as the store reads them: the started ones (all at now, the newest ids) lead.
  std::vector<AlertPtr> started(changes.started.begin(), changes.started.end());
  std::sort(started.begin(), started.end(), [](const AlertPtr& a, const AlertPtr& b) {
    return a->starts_at != b->starts_at ? a->starts_at > b->starts_at : a->id > b->id;
  });
  for (const auto& a : started) {
    add(a);
  }
  // A chunk none of the changes touches is shared as it is, unless it is small (then it joins its
  // neighbours, so that the small chunks of new alerts do not pile up); a touched one is made again.
  for (const auto& chunk : before.chunks()) {
    const bool touched = !replaced.empty() && std::any_of(chunk->begin(), chunk->end(), [&](const AlertPtr& a) {
      return replaced.count(a.get()) != 0;
    });
    if (!touched && chunk->size() >= AlertList::k_chunk / 2) {
      flush();
      out.push_back(chunk);
      continue;
    }
    for (const auto& a : *chunk) {
      auto it = replaced.find(a.get());
      if (it == replaced.end()) {
        add(a);
      } else if (it->second) {
        add(it->second);
      }
    }
  }
  flush();
  AlertList list(std::move(out));
  m_list = list.identity();
  return list;
}

std::size_t AlertTracker::codes() const {
  std::size_t n = 0;
  for (const auto& [key, ls] : m_lists) {
    n += ls.slots.size();
  }
  return n;
}

std::size_t AlertTracker::pending() const {
  std::size_t n = 0;
  for (const auto& [key, ls] : m_lists) {
    n += ls.due.size();
  }
  return n;
}

}  // namespace acmon::daemon
