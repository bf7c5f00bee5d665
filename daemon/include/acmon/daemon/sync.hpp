// One collection pass: list every scope of the chosen collectors (concurrently, bounded) and
// write each complete listing, or the failure, to the store.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "acmon/collectors/collector.hpp"
#include "acmon/core/api.hpp"
#include "acmon/core/config.hpp"
#include "acmon/core/credentials.hpp"
#include "acmon/db/store.hpp"

namespace acmon::daemon {

struct ScopeOutcome {
  collectors::Scope scope;
  bool ok = false;
  std::string error;
  db::WriteSummary written;
  int pages = 0;
  double seconds = 0;
};

// "prod-ecs cn-hangzhou: ok, 120 codes (+2 new, 1 changed, 0 deleted), 3 pages, 0.41s"
std::string summary_line(const ScopeOutcome& o);

class Syncer {
 public:
  // Credential providers are made per account from the configuration.
  Syncer(const config::Config& cfg, db::Store& store, api::Client& client, const Clock& clock,
         const CredentialOptions& credential_options = {});

  // Runs the named collectors (all when empty), at most `parallel` scopes at a time.
  std::vector<ScopeOutcome> run(const std::vector<std::string>& only, int parallel = 4);
  // Runs one collector's scopes; used by the scheduler too.
  std::vector<ScopeOutcome> run_collector(const config::Collector& c, int parallel = 4);

 private:
  ScopeOutcome run_scope(collectors::Collector& collector, const collectors::Scope& scope);

  const config::Config& m_cfg;
  db::Store& m_store;
  std::mutex m_store_mutex;
  api::Client& m_client;
  const Clock& m_clock;
  std::map<std::string, std::unique_ptr<CredentialProvider>> m_credentials;
};

// The unified code record of SPEC.md, as JSON, keys in SPEC.md's order.
nlohmann::ordered_json code_json(const db::StoredCode& c);

}  // namespace acmon::daemon
