// What the daemon's alert evaluation keeps from one evaluation to the next, so that the next one
// revisits only what can have changed: every code of a scope whose list is new (a run stored it),
// and elsewhere only the codes whose next change has come (a threshold crossed, a summary counting
// down), with the collector scopes, which are few. With 100,000 codes and 50,000 alerts firing, an
// evaluation that changes nothing costs next to nothing, and one that changes a few summaries
// writes those few.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "acmon/core/config.hpp"
#include "acmon/daemon/alerts.hpp"
#include "acmon/model/snapshot.hpp"

namespace acmon::daemon {

class AlertTracker {
 public:
  // What changed since the alerts the tracker holds.
  struct Changes {
    // New keys: the store sets their id and starts_at.
    std::vector<std::shared_ptr<model::AlertRecord>> started;
    // Same key, another summary or name: (held, new); the new one keeps the held one's id and start.
    std::vector<std::pair<model::AlertPtr, model::AlertPtr>> changed;
    // Keys no longer wanted.
    std::vector<model::AlertPtr> ended;
    [[nodiscard]] bool empty() const { return started.empty() && changed.empty() && ended.empty(); }
  };

  // Holds the firing alerts `stored` (as the store holds them, ids and starts set) as what the
  // rules raise for `state` under `cfg` at `now`, each with its code. False, holding nothing, when
  // they are not exactly that (then every evaluation is a full one until the next seed).
  bool seed(const model::Snapshot& state, std::shared_ptr<const config::Config> cfg, UnixTime now,
            const model::AlertList& stored);
  // Whether step() may be used: it holds the alerts of `list` under this configuration.
  [[nodiscard]] bool holds(const config::Config& cfg, const model::AlertList& list) const;
  // Forgets everything (a store that failed, a reload).
  void clear();

  // What the rules raise for `state` at `now` that differs from what is held; the tracker holds the
  // result from then on, so the caller must store it (and call commit) or clear().
  Changes step(const model::Snapshot& state, UnixTime now);
  // Once the store took `changes` (the started ones now have ids): the firing alerts, newest
  // first, made from `before` (the list held) and the changes.
  model::AlertList commit(const model::AlertList& before, const Changes& changes);

  // Codes held and codes with a change still to come (for tests).
  [[nodiscard]] std::size_t codes() const;
  [[nodiscard]] std::size_t pending() const;

 private:
  using Slots = std::array<model::AlertPtr, k_code_rules>;
  using Due = std::pair<UnixTime, std::uint32_t>;  // (next change, code index), a min-heap
  struct ListState {
    std::shared_ptr<const model::CodeList> list;
    std::vector<Slots> slots;  // by code index
    std::vector<Due> due;
  };

  // A list evaluated whole; `held` is what the scope's previous list raised (matched by key).
  ListState evaluate_list(const std::shared_ptr<const model::CodeList>& list, const CodeJudge& judge, UnixTime now,
                          const ListState* held, Changes& out) const;
  // Every code of ls.list evaluated at now: ls.due becomes the heap of their next changes, and
  // place(slot, alert) takes each alert raised; false from place stops it, and it returns false.
  template <typename Place>
  static bool evaluate_codes(ListState& ls, const CodeJudge& judge, UnixTime now, Place&& place);
  // The codes of a list that are due by now, evaluated again.
  void revisit(ListState& ls, const CodeJudge& judge, UnixTime now, Changes& out) const;

  std::shared_ptr<const config::Config> m_cfg;  // set while it holds anything
  const void* m_list = nullptr;                 // the AlertList identity of what is held
  std::map<std::string, ListState> m_lists;     // by scope key, as the snapshot's codes
  std::vector<model::AlertPtr> m_scope_alerts;
};

}  // namespace acmon::daemon
