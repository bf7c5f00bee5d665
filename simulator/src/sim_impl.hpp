// Private to the simulator's files: Simulator::Impl and the helpers they share.
#pragma once

#include "acmon/sim/simulator.hpp"

#include <httplib.h>

#include <netdb.h>
#include <sys/socket.h>
#include <zlib.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <variant>

#include "acmon/core/config.hpp"
#include "acmon/core/crypto.hpp"
#include "acmon/core/signing.hpp"
#include "acmon/core/time.hpp"

namespace acmon::sim {

using nlohmann::json;

inline const std::map<std::string, std::pair<std::string, std::string>>& actions() {
  // action -> (product, Version)
  using config::Product;
  auto of = [](Product p) { return std::pair<std::string, std::string>(config::to_string(p), config::api_version(p)); };
  static const std::map<std::string, std::pair<std::string, std::string>> k_actions{
      {"ListAccessTokens", of(Product::smc)},
      {"CreateAccessToken", of(Product::smc)},
      {"DescribeActivations", of(Product::ecs)},
      {"DescribeRegions", of(Product::ecs)},
      {"DescribeActivationCodes", of(Product::polardb)},
      {"AssumeRole", {"sts", "2015-04-01"}},
      {"AssumeRoleWithOIDC", {"sts", "2015-04-01"}},
      {"ListAccounts", {"resourcemanager", "2020-03-31"}},
      {"GetResourceDirectory", {"resourcemanager", "2020-03-31"}},
  };
  return k_actions;
}

inline const char* id_field(const std::string& product) {
  if (product == "smc") {
    return "AccessTokenId";
  }
  if (product == "ecs") {
    return "ActivationId";
  }
  return "Id";
}

inline std::string id_of(const std::string& product, const json& record) {
  const json& v = record.at(id_field(product));
  return v.is_string() ? v.get<std::string>() : v.dump();
}

inline std::string scope_key(const std::string& product, const json& record) {
  std::string key = record.value("_account", "");
  if (product == "ecs") {
    key += "|" + record.value("_region", "");
  } else if (product == "polardb") {
    key += "|" + record.value("_order", "");
  }
  return key;
}

inline json strip_private(const json& record) {
  json out = json::object();
  for (const auto& [k, v] : record.items()) {
    if (k.empty() || k[0] != '_') {
      out[k] = v;
    }
  }
  return out;
}

// Items [begin, begin + size) of a listing of count records, as the API sends them.
template <typename At>
json page_of(std::size_t count, std::size_t begin, std::size_t size, At at) {
  json items = json::array();
  for (std::size_t i = begin; i < count && i < begin + size; ++i) {
    items.push_back(strip_private(at(i)));
  }
  return items;
}

struct Fault {
  FaultSpec spec;
  int seen = 0;
  int fired = 0;
  std::mt19937_64 rng;
  explicit Fault(FaultSpec s) : spec(std::move(s)), rng(spec.seed) {}

  bool hits(const std::string& action) {
    if (spec.action != "*" && spec.action != action) {
      return false;
    }
    if (spec.probability > 0) {
      std::uniform_real_distribution<double> d(0.0, 1.0);
      const bool hit = d(rng) < spec.probability;
      fired += hit ? 1 : 0;
      return hit;
    }
    const int index = seen++;
    if (index < spec.after) {
      return false;
    }
    if (spec.times != 0 && fired >= spec.times) {
      return false;
    }
    ++fired;
    return true;
  }
};

struct Reply {
  int status = 200;
  json body;
  std::string raw;     // when set, sent verbatim instead of body
  int cut = -1;        // >= 0: close the connection after this many bytes
  bool reset = false;  // close the connection before sending a single byte
  bool gzip = false;   // raw is gzip-encoded
  std::string content_type = "application/json;charset=utf-8";
};

inline Reply api_error(int status, const std::string& code, const std::string& message, const std::string& request_id) {
  Reply r;
  r.status = status;
  r.body = {{"RequestId", request_id},
            {"HostId", "sim.aliyuncs.com"},
            {"Code", code},
            {"Message", message},
            {"Recommend", "https://api.aliyun.com/troubleshoot?q=" + code}};
  return r;
}

inline std::optional<long long> to_int(const std::string& s) {
  if (s.empty() || s.size() > 12) {
    return std::nullopt;
  }
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + (c - '0');
  }
  return v;
}

inline void parse_form(std::string_view text, std::map<std::string, std::string>& out) {
  while (!text.empty()) {
    const auto amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      out[signing::percent_decode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? std::string() : signing::percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) {
      break;
    }
    text.remove_prefix(amp + 1);
  }
}

struct Simulator::Impl {
  Options options;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::string host;

  mutable std::shared_mutex data_mutex;
  std::map<std::string, std::pair<std::string, std::string>> accounts;  // id -> (secret, token)
  // ---- identities and STS (sts.cpp) -----------------------------------------------------
  // An AccessKey's account (16-digit id) and whether it is the account's root key; records and
  // orders owned by a key of an account with an id belong to that id. Fixed after load.
  struct KeyInfo {
    std::string account_id;
    bool root = false;
  };
  std::map<std::string, KeyInfo> key_info;
  struct Role {
    std::string arn;
    std::vector<std::string> trust;  // account ids ("*": any) and OIDC provider ARNs
    std::string external_id;         // required when set
    long long max_duration = 3600;
  };
  std::map<std::string, Role> roles;  // lower-case ARN -> role
  struct OidcProvider {
    std::string issuer;
    std::vector<std::string> audiences;
  };
  std::map<std::string, OidcProvider> oidc_providers;  // ARN -> provider
  std::string metadata_role;                           // the ECS instance's role ARN, if any
  bool metadata_hardened = true;                       // GETs need a session token
  std::string credentials_uri_role;                    // the role GET /_sim/credentials-uri hands out
  struct StsKey {
    std::string secret;
    std::string token;
    std::string owner;  // records it lists: the role's account id
    std::string account_id;
    UnixTime expires = 0;
  };
  mutable std::mutex sts_mutex;
  std::unordered_map<std::string, StsKey> sts_keys;
  std::map<std::string, UnixTime> metadata_tokens;
  long long sts_expire_after = 0;  // > 0: every credential issued from now on lives this many seconds
  std::uint64_t sts_issued = 0;
  std::vector<std::string> oidc_tokens_seen;  // jti (else sub) of each accepted OIDC token

  void load_identities(const json& data);
  // The Resource Directory (directory.cpp).
  struct Directory {
    std::string id;
    std::string management;  // the management account's id; empty: no directory
    std::string management_name;
    std::vector<json> members;  // ListAccounts items, in order
  };
  mutable std::mutex directory_mutex;
  Directory directory;
  void load_directory(const json& data);
  void set_members_locked(const json& members);
  // One member in ListAccounts' shape, from the control route's ({account_id, display_name?, ...}).
  json member_item_locked(const json& member) const;
  // A change fault on ListAccounts: spec.remove are account ids, spec.add members as the control
  // route takes them.
  void change_members(const FaultSpec& spec);
  Reply directory_call(const std::string& action, const std::string& account,
                       const std::map<std::string, std::string>& p, const std::string& rid);
  void directory_routes();
  // (secret, token) of an AccessKey, STS keys included.
  std::optional<std::pair<std::string, std::string>> key_secret(const std::string& id) const;
  // Whose records a key lists.
  std::string owner_of(const std::string& key_id) const;
  // A record's _account (a key id or an account id) as the owner its scope is filed under.
  std::string canonical_account(const std::string& account) const;
  std::optional<Reply> sts_expired(const std::string& key_id, const std::string& rid) const;
  json issue_credentials(const Role& role, long long duration);
  Reply assume_role(const std::string& key_id, const std::map<std::string, std::string>& p, const std::string& rid);
  Reply assume_role_with_oidc(const std::map<std::string, std::string>& p, const std::string& rid);
  json sts_stats() const;
  void sts_routes();
  std::vector<std::pair<std::string, bool>> regions;  // RegionId, supports activations
  std::set<std::string> orders;                       // "account|order"
  struct ScopeList {
    std::vector<json> items;                             // in listing order
    std::unordered_map<std::string, std::size_t> index;  // id -> position in items
  };
  std::map<std::string, std::map<std::string, ScopeList>> codes;              // product -> scope -> records
  std::map<std::string, std::unordered_map<std::string, std::string>> owner;  // product -> id -> scope
  std::atomic<std::uint64_t> next_token{1};

  std::mutex fault_mutex;
  std::vector<Fault> faults;

  std::mutex nonce_mutex;
  std::unordered_set<std::string> nonces;
  std::deque<std::string> nonce_order;

  mutable std::mutex stats_mutex;
  std::map<std::string, std::uint64_t> requests_by_action;
  std::uint64_t requests = 0;
  std::uint64_t auth_failures = 0;
  std::uint64_t faults_fired = 0;

  explicit Impl(const json& data, Options o) : options(o) { load(data); }

  void load(const json& data);

  void check_record(const std::string& product, const json& rec) const;

  void upsert(const std::string& product, const json& rec);

  json* find(const std::string& product, const std::string& id);

  bool erase_locked(const std::string& product, const std::string& id);

  bool remove(const std::string& product, const std::string& id);

  bool patch(const std::string& product, const std::string& id, const json& fields);

  // A scope's records in listing order (caller holds data_mutex).
  const std::vector<json>& scope_items(const std::string& product, const std::string& scope);

  json stats() const;

  static std::string request_id();

  bool nonce_used(const std::string& nonce);

  struct Auth {
    bool ok = false;
    Reply error;
    std::string account;
    std::string action;
    std::string version;
  };

  std::optional<Reply> check_time_and_nonce(const std::string& when, const std::string& nonce, const std::string& rid);

  Auth authenticate(const httplib::Request& req, const std::map<std::string, std::string>& query,
                    const std::map<std::string, std::string>& params, const std::string& rid);

  // ---- the operations ------------------------------------------------------------------

  using Params = std::map<std::string, std::string>;

  static std::string param(const Params& p, const char* k);
  struct Paging {
    long long page = 1;
    long long size = 0;
  };
  // PageNumber (from 1) and PageSize (default_size when absent; size_ok decides the valid ones),
  // or the error the API answers for an invalid one.
  static std::variant<Paging, Reply> read_paging(const Params& p, long long default_size, bool (*size_ok)(long long),
                                                 const std::string& rid);

  Reply list_access_tokens(const std::string& account, const Params& p, const std::string& rid);

  Reply create_access_token(const std::string& account, const Params& p, const std::string& rid);

  static std::string make_next_token(std::size_t offset, const std::string& scope);

  static std::optional<std::size_t> read_next_token(const std::string& token, const std::string& scope);

  Reply describe_activations(const std::string& account, const Params& p, const std::string& rid);

  Reply describe_regions(const std::string& rid);

  Reply describe_activation_codes(const std::string& account, const Params& p, const std::string& rid);

  // ---- dispatch ------------------------------------------------------------------------

  Reply handle_api(const httplib::Request& req);

  // Answers built to hurt a client: a value nested a million deep, an array of seven million
  // numbers, a 12 MB string (each in an otherwise valid page), or a gzip body that inflates to 256 MiB.
  static Reply hostile(const std::string& shape, const std::string& rid);

  static const std::string& gzip_bomb();

  // Applies a change fault's edits to the data of one product (between two pages of a listing).
  void apply_change(const std::string& product, const FaultSpec& spec);

  // Closes the server side of the connection a request came on, so the client reads no byte at
  // all, as when a front end closes an idle keep-alive connection the client was about to reuse.
  // The socket is found by its peer address (httplib does not hand it to handlers).
  static void reset_connection(const httplib::Request& req);

  static void send(const Reply& r, httplib::Response& res);

  void routes();

  void set_faults(const json& list);
};

}  // namespace acmon::sim
