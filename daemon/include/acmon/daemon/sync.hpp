// One collection pass: list every scope of the chosen collectors (concurrently, bounded) and
// write each complete listing, or the failure, to the store.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "acmon/collectors/collector.hpp"
#include "acmon/core/api.hpp"
#include "acmon/core/config.hpp"
#include "acmon/core/credentials.hpp"
#include "acmon/core/pace.hpp"
#include "acmon/daemon/organizations.hpp"
#include "acmon/db/store.hpp"

namespace acmon::daemon {

struct ScopeOutcome {
  model::Scope scope;
  bool ok = false;
  std::string error;
  db::WriteSummary written;
  int pages = 0;
  double seconds = 0;
  // A write to the database failed (the run is then a failure, whatever the listing was).
  std::string store_error;
  // false: the database took nothing of this run, not even the failure; only the daemon's memory
  // has it.
  bool stored = true;
};

// message, naming the database file when it does not already (SQLite's messages do not).
std::string naming_database(const db::Store& store, const std::string& message);

// "prod-ecs cn-hangzhou: ok, 120 codes (+2 new, 1 changed, 0 deleted), 3 pages, 0.41s"
std::string summary_line(const ScopeOutcome& o);

// Lists one scope and writes the outcome under store_mutex. With *stop set when the listing ends,
// nothing is written and the outcome says "abandoned". A listing the database cannot take is a
// failed run (recorded as one when the database takes that much); errors name the database.
ScopeOutcome sync_scope(collectors::Collector& collector, const model::Scope& scope, db::Store& store,
                        std::mutex& store_mutex, const Clock& clock, const std::atomic<bool>* stop = nullptr);

// Records a failed region discovery against the collector's "*" scope.
ScopeOutcome record_discovery_failure(const config::Collector& c, const Error& error, db::Store& store,
                                      std::mutex& store_mutex, const Clock& clock);
// The same against a given "*" scope (a member's region discovery, an organization's listing).
ScopeOutcome record_discovery_failure(const model::Scope& scope, const Error& error, db::Store& store,
                                      std::mutex& store_mutex, const Clock& clock);
// The "*" scope a collector's region discovery is recorded against.
model::Scope discovery_scope(const config::Collector& c);
// A region discovery that worked, once a failed one made this "*" scope: recorded as a run that
// succeeded, then at every discovery after, so that neither acmon_collector_up nor collector_failing
// holds on to the failure or takes the scope for stale (nothing else writes that scope). Nothing
// for a collector whose discovery never failed: it has no such scope.
std::optional<ScopeOutcome> record_discovery_recovery(const model::Scope& scope, db::Store& store,
                                                      std::mutex& store_mutex, const Clock& clock);
// An organization's listing of its members, recorded against its collector's scope
// {collector, account = organization, region "*"}: a failure, or an empty success.
ScopeOutcome record_member_listing(const config::Collector& c, const config::Organization& org,
                                   const std::optional<Error>& error, db::Store& store, std::mutex& store_mutex,
                                   const Clock& clock);

class Syncer {
 public:
  // Credential providers are made per account from the configuration.
  Syncer(const config::Config& cfg, db::Store& store, api::Client& client, const Clock& clock,
         const CredentialOptions& credential_options = {});

  // Runs the named collectors (all when empty), at most `parallel` scopes at a time (0: the
  // configuration's [daemon] concurrency); requests paced by each collector's rate_limit.
  std::vector<ScopeOutcome> run(const std::vector<std::string>& only, int parallel = 0);
  // The mutex that guards the store while this Syncer works.
  std::mutex& store_mutex() { return m_store_mutex; }
  // The members of each organization the last run listed (the previous ones where a listing failed).
  [[nodiscard]] const std::map<std::string, MemberListing>& members() const { return m_members; }

  const config::Config& m_cfg;
  db::Store& m_store;
  std::mutex m_store_mutex;
  api::Client& m_client;
  const Clock& m_clock;
  std::map<std::string, std::shared_ptr<CredentialProvider>> m_credentials;
  api::Pacer m_pacer;
  MemberCredentials m_member_credentials;
  std::map<std::string, MemberListing> m_members;
};

}  // namespace acmon::daemon
