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

#include "acmon/core/config.hpp"
#include "acmon/core/crypto.hpp"
#include "acmon/core/signing.hpp"
#include "acmon/core/time.hpp"

namespace acmon::sim {

using nlohmann::json;

FaultSpec fault_from_json(const json& j) {
  if (!j.is_object()) {
    throw std::invalid_argument("a fault must be a JSON object");
  }
  static const std::unordered_set<std::string> k_kinds{
      "throttle",  "error500", "error503", "delay",   "malformed", "truncated", "drop",       "error",
      "lie_total", "reset",    "short",    "html502", "empty200",  "change",    "empty_page", "hostile"};
  FaultSpec f;
  f.kind = j.value("kind", "");
  if (k_kinds.count(f.kind) == 0) {
    throw std::invalid_argument("unknown fault kind '" + f.kind + "'");
  }
  f.action = j.value("action", "*");
  f.after = j.value("after", 0);
  f.times = j.value("times", 1);
  f.probability = j.value("probability", 0.0);
  f.seed = j.value("seed", std::uint64_t{1});
  f.delay_ms = j.value("delay_ms", 0);
  f.code = j.value("code", "");
  f.status = j.value("status", 0);
  if (f.after < 0 || f.times < 0 || f.probability < 0 || f.probability > 1 || f.delay_ms < 0) {
    throw std::invalid_argument("fault numbers out of range");
  }
  if (f.kind == "error" && (f.code.empty() || f.status < 400 || f.status > 599)) {
    throw std::invalid_argument("a fault of kind error needs code and a status of 400..599");
  }
  f.shape = j.value("shape", "");
  if (f.kind == "hostile" && f.shape != "deep" && f.shape != "wide" && f.shape != "long" && f.shape != "gzip") {
    throw std::invalid_argument("a fault of kind hostile needs a shape: deep, wide, long or gzip");
  }
  if (f.kind == "change") {
    f.add = j.value("add", json::array());
    for (const auto& id : j.value("remove", json::array())) {
      f.remove.push_back(id.is_string() ? id.get<std::string>() : id.dump());
    }
    if (!f.add.is_array() || (f.add.empty() && f.remove.empty())) {
      throw std::invalid_argument("a fault of kind change needs records to add or ids to remove");
    }
  }
  return f;
}

namespace {

const std::map<std::string, std::pair<std::string, std::string>>& actions() {
  // action -> (product, Version)
  using config::Product;
  auto of = [](Product p) { return std::pair<std::string, std::string>(config::to_string(p), config::api_version(p)); };
  static const std::map<std::string, std::pair<std::string, std::string>> k_actions{
      {"ListAccessTokens", of(Product::smc)},
      {"CreateAccessToken", of(Product::smc)},
      {"DescribeActivations", of(Product::ecs)},
      {"DescribeRegions", of(Product::ecs)},
      {"DescribeActivationCodes", of(Product::polardb)},
  };
  return k_actions;
}

const char* id_field(const std::string& product) {
  if (product == "smc") {
    return "AccessTokenId";
  }
  if (product == "ecs") {
    return "ActivationId";
  }
  return "Id";
}

std::string id_of(const std::string& product, const json& record) {
  const json& v = record.at(id_field(product));
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string scope_key(const std::string& product, const json& record) {
  std::string key = record.value("_account", "");
  if (product == "ecs") {
    key += "|" + record.value("_region", "");
  } else if (product == "polardb") {
    key += "|" + record.value("_order", "");
  }
  return key;
}

json strip_private(const json& record) {
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

Reply api_error(int status, const std::string& code, const std::string& message, const std::string& request_id) {
  Reply r;
  r.status = status;
  r.body = {{"RequestId", request_id},
            {"HostId", "sim.aliyuncs.com"},
            {"Code", code},
            {"Message", message},
            {"Recommend", "https://api.aliyun.com/troubleshoot?q=" + code}};
  return r;
}

std::optional<long long> to_int(const std::string& s) {
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

void parse_form(std::string_view text, std::map<std::string, std::string>& out) {
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

}  // namespace

struct Simulator::Impl {
  Options options;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::string host;

  mutable std::shared_mutex data_mutex;
  std::map<std::string, std::pair<std::string, std::string>> accounts;  // id -> (secret, token)
  std::vector<std::pair<std::string, bool>> regions;                    // RegionId, supports activations
  std::set<std::string> orders;                                         // "account|order"
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

  void load(const json& data) {
    if (!data.is_object()) {
      throw std::invalid_argument("simulator data must be a JSON object");
    }
    for (const auto& a : data.value("accounts", json::array())) {
      const std::string id = a.value("access_key_id", "");
      const std::string secret = a.value("access_key_secret", "");
      if (id.empty() || secret.empty()) {
        throw std::invalid_argument("every account needs access_key_id and access_key_secret");
      }
      accounts[id] = {secret, a.value("security_token", "")};
    }
    if (data.contains("regions")) {
      for (const auto& r : data["regions"]) {
        regions.emplace_back(r.at("RegionId").get<std::string>(), r.value("supported", true));
      }
    } else {
      for (const char* r : {"cn-hangzhou", "cn-beijing", "cn-shanghai"}) {
        regions.emplace_back(r, true);
      }
      for (const char* r : {"cn-qingdao", "ap-southeast-1", "eu-central-1"}) {
        regions.emplace_back(r, false);
      }
    }
    for (const auto& o : data.value("orders", json::array())) {
      orders.insert(o.at("_account").get<std::string>() + "|" + o.at("AliyunOrderId").get<std::string>());
    }
    for (const char* product : {"smc", "ecs", "polardb"}) {
      for (const auto& rec : data.value(product, json::array())) {
        upsert(product, rec);
      }
    }
    for (const auto& f : data.value("faults", json::array())) {
      faults.emplace_back(fault_from_json(f));
    }
  }

  void check_record(const std::string& product, const json& rec) const {
    if (!rec.is_object() || !rec.contains(id_field(product)) || !rec.contains("_account")) {
      throw std::invalid_argument(std::string("a ") + product + " record needs " + id_field(product) + " and _account");
    }
    if (product == "ecs" && !rec.contains("_region")) {
      throw std::invalid_argument("an ecs record needs _region");
    }
    if (product == "polardb" && !rec.contains("_order")) {
      throw std::invalid_argument("a polardb record needs _order");
    }
  }

  void upsert(const std::string& product, const json& rec) {
    check_record(product, rec);
    std::unique_lock lock(data_mutex);
    if (product == "polardb") {
      orders.insert(rec["_account"].get<std::string>() + "|" + rec["_order"].get<std::string>());
    }
    const std::string id = id_of(product, rec);
    const std::string scope = scope_key(product, rec);
    auto& ids = owner[product];
    if (auto it = ids.find(id); it != ids.end() && it->second != scope) {
      erase_locked(product, id);
    }
    auto& list = codes[product][scope];
    if (auto it = list.index.find(id); it != list.index.end()) {
      list.items[it->second] = rec;
      return;
    }
    list.index.emplace(id, list.items.size());
    list.items.push_back(rec);
    ids[id] = scope;
  }

  json* find(const std::string& product, const std::string& id) {
    auto& ids = owner[product];
    auto it = ids.find(id);
    if (it == ids.end()) {
      return nullptr;
    }
    auto& list = codes[product][it->second];
    return &list.items[list.index.at(id)];
  }

  bool erase_locked(const std::string& product, const std::string& id) {
    auto& ids = owner[product];
    auto it = ids.find(id);
    if (it == ids.end()) {
      return false;
    }
    auto& list = codes[product][it->second];
    const std::size_t pos = list.index.at(id);
    list.items.erase(list.items.begin() + static_cast<std::ptrdiff_t>(pos));
    list.index.erase(id);
    for (auto& [other, p] : list.index) {
      if (p > pos) {
        --p;
      }
    }
    ids.erase(it);
    return true;
  }

  bool remove(const std::string& product, const std::string& id) {
    std::unique_lock lock(data_mutex);
    return erase_locked(product, id);
  }

  bool patch(const std::string& product, const std::string& id, const json& fields) {
    std::unique_lock lock(data_mutex);
    json* rec = find(product, id);
    if (rec == nullptr) {
      return false;
    }
    for (const auto& [k, v] : fields.items()) {
      if (v.is_null()) {
        rec->erase(k);
      } else {
        (*rec)[k] = v;
      }
    }
    return true;
  }

  // A scope's records in listing order (caller holds data_mutex).
  const std::vector<json>& scope_items(const std::string& product, const std::string& scope) {
    static const std::vector<json> k_empty;
    // find(), not operator[]: readers hold only a shared lock and must not insert.
    auto p = codes.find(product);
    if (p == codes.end()) {
      return k_empty;
    }
    auto it = p->second.find(scope);
    return it == p->second.end() ? k_empty : it->second.items;
  }

  json stats() const {
    std::lock_guard lock(stats_mutex);
    return {{"requests", requests},
            {"auth_failures", auth_failures},
            {"faults_fired", faults_fired},
            {"by_action", requests_by_action}};
  }

  static std::string request_id() {
    std::string h = crypto::random_hex(16);
    for (auto& c : h) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
           h.substr(20, 12);
  }

  bool nonce_used(const std::string& nonce) {
    std::lock_guard lock(nonce_mutex);
    if (!nonces.insert(nonce).second) {
      return true;
    }
    nonce_order.push_back(nonce);
    if (nonce_order.size() > 500000) {
      nonces.erase(nonce_order.front());
      nonce_order.pop_front();
    }
    return false;
  }

  struct Auth {
    bool ok = false;
    Reply error;
    std::string account;
    std::string action;
    std::string version;
  };

  std::optional<Reply> check_time_and_nonce(const std::string& when, const std::string& nonce, const std::string& rid) {
    auto t = parse_rfc3339(when);
    if (!t) {
      return api_error(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.",
                       rid);
    }
    if (options.check_timestamp) {
      const auto now = SystemClock().now();
      if (*t < now - 900 || *t > now + 900) {
        return api_error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", rid);
      }
    }
    if (nonce.empty()) {
      return api_error(400, "MissingSignatureNonce", "SignatureNonce is mandatory for this action.", rid);
    }
    if (nonce_used(nonce)) {
      return api_error(400, "SignatureNonceUsed", "Specified signature nonce was used already.", rid);
    }
    return std::nullopt;
  }

  Auth authenticate(const httplib::Request& req, const std::map<std::string, std::string>& query,
                    const std::map<std::string, std::string>& params, const std::string& rid) {
    Auth a;
    const std::string authz = req.get_header_value("Authorization");
    if (authz.rfind("ACS3-HMAC-SHA256 ", 0) == 0) {
      std::map<std::string, std::string> parts;
      std::string_view rest = std::string_view(authz).substr(17);
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view part = rest.substr(0, comma);
        while (!part.empty() && part.front() == ' ') {
          part.remove_prefix(1);
        }
        const auto eq = part.find('=');
        if (eq != std::string_view::npos) {
          parts[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
        }
        if (comma == std::string_view::npos) {
          break;
        }
        rest.remove_prefix(comma + 1);
      }
      const std::string key_id = parts["Credential"];
      const std::string signed_names = parts["SignedHeaders"];
      const std::string signature = parts["Signature"];
      if (key_id.empty() || signed_names.empty() || signature.empty()) {
        a.error =
            api_error(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.", rid);
        return a;
      }
      std::map<std::string, std::string> signed_headers;
      std::string_view names = signed_names;
      while (!names.empty()) {
        const auto semi = names.find(';');
        const std::string name(names.substr(0, semi));
        signed_headers[name] = req.get_header_value(name);
        if (semi == std::string_view::npos) {
          break;
        }
        names.remove_prefix(semi + 1);
      }
      for (const char* required :
           {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}) {
        if (signed_headers.count(required) == 0 || signed_headers[required].empty()) {
          a.error = api_error(400, "IncompleteSignature",
                              std::string("The request signature does not sign the header ") + required + ".", rid);
          return a;
        }
      }
      auto acct = accounts.find(key_id);
      if (acct == accounts.end()) {
        a.error = api_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.", rid);
        return a;
      }
      if (auto bad = check_time_and_nonce(signed_headers["x-acs-date"], signed_headers["x-acs-signature-nonce"], rid)) {
        a.error = *bad;
        return a;
      }
      const std::string body_hash = crypto::sha256_hex(req.body);
      std::string hashed = signed_headers["x-acs-content-sha256"];
      const signing::Params canon_query(query.begin(), query.end());
      const std::string canonical = signing::v3_canonical_request(
          req.method, req.path, signing::canonical_query(canon_query), signed_headers, hashed);
      if (!crypto::equal_ct(hashed, body_hash) ||
          !crypto::equal_ct(signing::v3_signature(acct->second.first, canonical), signature)) {
        a.error =
            api_error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", rid);
        return a;
      }
      if (!acct->second.second.empty() && req.get_header_value("x-acs-security-token") != acct->second.second) {
        a.error = api_error(400, "InvalidSecurityToken.Mismatch", "Specified security token is not valid.", rid);
        return a;
      }
      a.account = key_id;
      a.action = signed_headers["x-acs-action"];
      a.version = signed_headers["x-acs-version"];
      a.ok = true;
      return a;
    }
    auto sig = params.find("Signature");
    if (sig == params.end()) {
      a.error = api_error(400, "MissingSignature", "Signature is mandatory for this action.", rid);
      return a;
    }
    auto get = [&](const char* k) {
      auto it = params.find(k);
      return it == params.end() ? std::string() : it->second;
    };
    if (get("AccessKeyId").empty()) {
      a.error = api_error(400, "MissingAccessKeyId", "AccessKeyId is mandatory for this action.", rid);
      return a;
    }
    if (get("SignatureMethod") != "HMAC-SHA1" || get("SignatureVersion") != "1.0") {
      a.error =
          api_error(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.", rid);
      return a;
    }
    auto acct = accounts.find(get("AccessKeyId"));
    if (acct == accounts.end()) {
      a.error = api_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.", rid);
      return a;
    }
    if (auto bad = check_time_and_nonce(get("Timestamp"), get("SignatureNonce"), rid)) {
      a.error = *bad;
      return a;
    }
    signing::Params signed_params(params.begin(), params.end());
    signed_params.erase("Signature");
    const std::string expected =
        signing::v1_signature(acct->second.first, signing::v1_string_to_sign(req.method, signed_params));
    if (!crypto::equal_ct(expected, sig->second)) {
      a.error =
          api_error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", rid);
      return a;
    }
    if (!acct->second.second.empty() && get("SecurityToken") != acct->second.second) {
      a.error = api_error(400, "InvalidSecurityToken.Mismatch", "Specified security token is not valid.", rid);
      return a;
    }
    a.account = get("AccessKeyId");
    a.action = get("Action");
    a.version = get("Version");
    a.ok = true;
    return a;
  }

  // ---- the operations ------------------------------------------------------------------

  using Params = std::map<std::string, std::string>;

  static std::string param(const Params& p, const char* k) {
    auto it = p.find(k);
    return it == p.end() ? std::string() : it->second;
  }

  Reply list_access_tokens(const std::string& account, const Params& p, const std::string& rid) {
    long long page = 1;
    long long size = 20;
    if (auto s = param(p, "PageNumber"); !s.empty()) {
      auto v = to_int(s);
      if (!v || *v < 1) {
        return api_error(400, "InvalidParam.PageNumber", "The specified parameter is invalid.", rid);
      }
      page = *v;
    }
    if (auto s = param(p, "PageSize"); !s.empty()) {
      auto v = to_int(s);
      if (!v || (*v != 10 && *v != 20 && *v != 50)) {
        return api_error(400, "InvalidParam.PageSize", "The specified parameter is invalid.", rid);
      }
      size = *v;
    }
    std::shared_lock lock(data_mutex);
    const auto& list = scope_items("smc", account);
    const std::string name = param(p, "Name");
    const std::string status = param(p, "Status");
    std::vector<const json*> matching;
    matching.reserve(list.size());
    for (const auto& rec : list) {
      if ((!name.empty() && rec.value("Name", "") != name) || (!status.empty() && rec.value("Status", "") != status)) {
        continue;
      }
      matching.push_back(&rec);
    }
    Reply r;
    json items = page_of(matching.size(), static_cast<std::size_t>((page - 1) * size), static_cast<std::size_t>(size),
                         [&](std::size_t i) -> const json& { return *matching[i]; });
    r.body = {{"RequestId", rid},
              {"AccessTokens", std::move(items)},
              {"TotalCount", matching.size()},
              {"PageSize", size},
              {"PageNumber", page}};
    return r;
  }

  Reply create_access_token(const std::string& account, const Params& p, const std::string& rid) {
    long long count = 100;
    long long ttl = 30;
    if (auto s = param(p, "Count"); !s.empty()) {
      auto v = to_int(s);
      if (!v || *v < 1 || *v > 1000) {
        return api_error(400, "InvalidParam.Count", "The specified parameter Count is invalid.", rid);
      }
      count = *v;
    }
    if (auto s = param(p, "TimeToLiveInDays"); !s.empty()) {
      auto v = to_int(s);
      if (!v || *v < 1 || *v > 90) {
        return api_error(400, "InvalidParam.TimeToLiveInDays", "The specified parameter TimeToLiveInDays is invalid.",
                         rid);
      }
      ttl = *v;
    }
    const std::string id = "at-sim" + crypto::random_hex(8);
    const std::string code = crypto::random_hex(14);
    json rec = {{"_account", account},
                {"AccessTokenId", id},
                {"TimeToLiveInDays", std::to_string(ttl)},
                {"Count", std::to_string(count)},
                {"RegisteredCount", "0"},
                {"CreationTime", format_rfc3339(SystemClock().now())},
                {"Status", "unactivated"},
                {"Name", param(p, "Name")},
                {"Description", param(p, "Description")}};
    upsert("smc", rec);
    Reply r;
    r.body = {{"RequestId", rid}, {"AccessTokenCode", code}, {"AccessTokenId", id}};
    return r;
  }

  static std::string make_next_token(std::size_t offset, const std::string& scope) {
    return "AAAA" + std::to_string(offset) + "." + crypto::sha256_hex(scope + std::to_string(offset)).substr(0, 12);
  }

  static std::optional<std::size_t> read_next_token(const std::string& token, const std::string& scope) {
    if (token.rfind("AAAA", 0) != 0) {
      return std::nullopt;
    }
    const auto dot = token.find('.');
    if (dot == std::string::npos) {
      return std::nullopt;
    }
    auto offset = to_int(token.substr(4, dot - 4));
    if (!offset || make_next_token(static_cast<std::size_t>(*offset), scope) != token) {
      return std::nullopt;
    }
    return static_cast<std::size_t>(*offset);
  }

  Reply describe_activations(const std::string& account, const Params& p, const std::string& rid) {
    const std::string region = param(p, "RegionId");
    if (region.empty()) {
      return api_error(400, "MissingRegionId", "RegionId is mandatory for this action.", rid);
    }
    auto reg = std::find_if(regions.begin(), regions.end(), [&](const auto& r) { return r.first == region; });
    if (reg == regions.end()) {
      return api_error(400, "InvalidRegionId.NotFound", "The specified RegionId does not exist.", rid);
    }
    if (!reg->second) {
      return api_error(400, "RegionId.ApiNotSupported", "The api is not supported in this region.", rid);
    }
    const bool token_mode = p.count("MaxResults") != 0 || p.count("NextToken") != 0;
    std::size_t begin = 0;
    std::size_t size = 10;
    long long page = 1;
    const std::string scope = account + "|" + region;
    if (token_mode) {
      if (auto s = param(p, "MaxResults"); !s.empty()) {
        auto v = to_int(s);
        if (!v || *v < 1 || *v > 50) {
          return api_error(400, "InvalidParameter.MaxResults", "The specified parameter MaxResults is not valid.", rid);
        }
        size = static_cast<std::size_t>(*v);
      }
      if (auto s = param(p, "NextToken"); !s.empty()) {
        auto off = read_next_token(s, scope);
        if (!off) {
          return api_error(400, "InvalidParameter.NextToken", "The specified parameter NextToken is not valid.", rid);
        }
        begin = *off;
      }
    } else {
      if (auto s = param(p, "PageNumber"); !s.empty()) {
        auto v = to_int(s);
        if (!v || *v < 1) {
          return api_error(400, "InvalidParam.PageNumber", "The specified parameter is invalid.", rid);
        }
        page = *v;
      }
      if (auto s = param(p, "PageSize"); !s.empty()) {
        auto v = to_int(s);
        if (!v || *v < 1 || *v > 50) {
          return api_error(400, "InvalidParam.PageSize", "The specified parameter is invalid.", rid);
        }
        size = static_cast<std::size_t>(*v);
      }
      begin = static_cast<std::size_t>(page - 1) * size;
    }
    std::shared_lock lock(data_mutex);
    const auto& list = scope_items("ecs", scope);
    json items = page_of(list.size(), begin, size, [&](std::size_t i) -> const json& { return list[i]; });
    Reply r;
    // As in the document's own sample, numbers come back as strings.
    r.body = {{"RequestId", rid}, {"ActivationList", std::move(items)}};
    if (token_mode) {
      r.body["NextToken"] = begin + size < list.size() ? make_next_token(begin + size, scope) : std::string();
      r.body["TotalCount"] = "0";  // "not meaningful" when paging by token
    } else {
      r.body["TotalCount"] = std::to_string(list.size());
      r.body["PageSize"] = std::to_string(size);
      r.body["PageNumber"] = std::to_string(page);
    }
    return r;
  }

  Reply describe_regions(const std::string& rid) {
    json list = json::array();
    for (const auto& [id, supported] : regions) {
      list.push_back({{"RegionId", id}, {"RegionEndpoint", "ecs." + id + ".aliyuncs.com"}, {"LocalName", id}});
    }
    Reply r;
    r.body = {{"RequestId", rid}, {"Regions", {{"Region", std::move(list)}}}};
    return r;
  }

  Reply describe_activation_codes(const std::string& account, const Params& p, const std::string& rid) {
    const std::string order = param(p, "AliyunOrderId");
    if (order.empty()) {
      return api_error(400, "MissingAliyunOrderId", "AliyunOrderId is mandatory for this action.", rid);
    }
    long long page = 1;
    long long size = 30;
    if (auto s = param(p, "PageNumber"); !s.empty()) {
      auto v = to_int(s);
      if (!v || *v < 1) {
        return api_error(400, "InvalidParam.PageNumber", "The specified parameter is invalid.", rid);
      }
      page = *v;
    }
    if (auto s = param(p, "PageSize"); !s.empty()) {
      auto v = to_int(s);
      if (!v || *v < 1 || *v > 100) {
        return api_error(400, "InvalidParam.PageSize", "The specified parameter is invalid.", rid);
      }
      size = *v;
    }
    std::shared_lock lock(data_mutex);
    const std::string scope = account + "|" + order;
    if (orders.count(scope) == 0) {
      return api_error(404, "InvalidAliyunOrderId.NotFound", "The specified AliyunOrderId does not exist.", rid);
    }
    const auto& list = scope_items("polardb", scope);
    json items = page_of(list.size(), static_cast<std::size_t>((page - 1) * size), static_cast<std::size_t>(size),
                         [&](std::size_t i) -> const json& { return list[i]; });
    Reply r;
    r.body = {{"RequestId", rid},
              {"Items", items},
              {"PageNumber", page},
              {"PageRecordCount", items.size()},
              {"TotalRecordCount", list.size()}};
    return r;
  }

  // ---- dispatch ------------------------------------------------------------------------

  Reply handle_api(const httplib::Request& req) {
    const std::string rid = request_id();
    Params query;
    Params params;
    if (const auto q = req.target.find('?'); q != std::string::npos) {
      parse_form(std::string_view(req.target).substr(q + 1), query);
    }
    params = query;
    if (req.get_header_value("Content-Type").find("application/x-www-form-urlencoded") != std::string::npos) {
      parse_form(req.body, params);
    }
    Auth auth = authenticate(req, query, params, rid);
    {
      std::lock_guard lock(stats_mutex);
      ++requests;
      if (!auth.ok) {
        ++auth_failures;
      } else {
        ++requests_by_action[auth.action];
      }
    }
    if (!auth.ok) {
      return auth.error;
    }
    auto act = actions().find(auth.action);
    if (act == actions().end()) {
      return api_error(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.",
                       rid);
    }
    if (auth.version != act->second.second) {
      return api_error(400, "InvalidVersion", "Specified parameter Version is not valid.", rid);
    }
    std::optional<Fault> fired;
    {
      std::lock_guard lock(fault_mutex);
      for (auto& f : faults) {
        if (f.hits(auth.action)) {
          fired = f;
          break;
        }
      }
    }
    if (fired) {
      std::lock_guard lock(stats_mutex);
      ++faults_fired;
    }
    if (fired) {
      const auto& k = fired->spec.kind;
      if (k == "throttle") {
        return api_error(400, "Throttling.User", "Request was denied due to user flow control.", rid);
      }
      if (k == "error500") {
        return api_error(500, "InternalError", "An error occurred while processing your request. Please try again.",
                         rid);
      }
      if (k == "error503") {
        return api_error(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.",
                         rid);
      }
      if (k == "error") {
        return api_error(fired->spec.status, fired->spec.code, "Injected error.", rid);
      }
      if (k == "delay") {
        std::this_thread::sleep_for(std::chrono::milliseconds(fired->spec.delay_ms));
      }
      if (k == "reset") {
        Reply r;  // the request was read and its nonce used; the connection closes with no answer
        r.reset = true;
        return r;
      }
      if (k == "html502") {
        Reply r;
        r.status = 502;
        r.raw =
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
            "</body></html>";
        r.content_type = "text/html";
        return r;
      }
      if (k == "change") {
        apply_change(actions().at(auth.action).first, fired->spec);
      }
      if (k == "hostile") {
        return hostile(fired->spec.shape, rid);
      }
    }
    Reply r;
    if (auth.action == "ListAccessTokens") {
      r = list_access_tokens(auth.account, params, rid);
    } else if (auth.action == "CreateAccessToken") {
      r = create_access_token(auth.account, params, rid);
    } else if (auth.action == "DescribeActivations") {
      r = describe_activations(auth.account, params, rid);
    } else if (auth.action == "DescribeRegions") {
      r = describe_regions(rid);
    } else {
      r = describe_activation_codes(auth.account, params, rid);
    }
    if (fired && r.status == 200) {
      const auto& k = fired->spec.kind;
      if (k == "malformed") {
        const std::string full = r.body.dump();
        r.raw = full.substr(0, full.size() / 2) + "<html>";
      } else if (k == "truncated") {
        r.raw = r.body.dump();
        r.cut = static_cast<int>(r.raw.size() / 2);
      } else if (k == "drop") {
        r.raw = r.body.dump();
        r.cut = 0;
      } else if (k == "short") {
        // A complete HTTP answer whose JSON stops half-way (a proxy's cut-short body).
        const std::string full = r.body.dump();
        r.raw = full.substr(0, full.size() / 2);
      } else if (k == "empty200") {
        r.raw = " ";
        r.content_type = "text/plain";
      } else if (k == "empty_page") {
        // An empty page that still promises more: a client must not take it as the end.
        for (const char* f : {"ActivationList", "AccessTokens", "Items"}) {
          if (r.body.contains(f)) {
            r.body[f] = json::array();
          }
        }
        if (r.body.contains("NextToken")) {
          // The token leads back to the items this page left out.
          const std::string sent = param(params, "NextToken");
          r.body["NextToken"] =
              sent.empty() ? make_next_token(0, auth.account + "|" + param(params, "RegionId")) : sent;
        }
      } else if (k == "lie_total") {
        // A total that promises more than the list holds: a client must not page forever.
        for (const char* f : {"TotalCount", "TotalRecordCount"}) {
          if (r.body.contains(f) && r.body[f].is_number()) {
            r.body[f] = r.body[f].get<long long>() + 1000;
          }
        }
      }
    }
    return r;
  }

  // Answers built to hurt a client: a value nested a million deep, an array of seven million
  // numbers, a 12 MB string (each in an otherwise valid page), or a gzip body that inflates to 256 MiB.
  static Reply hostile(const std::string& shape, const std::string& rid) {
    Reply r;
    const std::string head =
        R"({"RequestId":")" + rid +
        R"(","TotalCount":1,"TotalRecordCount":1,"NextToken":"","AccessTokens":[{"AccessTokenId":"at-h","Id":1,"ActivationId":"act-h","Count":)";
    const std::string tail = R"(}],"Items":[],"ActivationList":[]})";
    if (shape == "deep") {
      constexpr std::size_t depth = 1000000;
      r.raw = head + std::string(depth, '[') + std::string(depth, ']') + tail;
    } else if (shape == "wide") {
      constexpr std::size_t n = 7000000;
      std::string arr = "[0";
      arr.reserve(2 * n + 2);
      for (std::size_t i = 1; i < n; ++i) {
        arr += ",0";
      }
      r.raw = head + arr + "]" + tail;
    } else if (shape == "long") {
      r.raw = head + R"("1","Name":")" + std::string(12u << 20, 'n') + "\"" + tail;
    } else {
      r.raw = gzip_bomb();
      r.content_type = "application/octet-stream";  // so that the server does not compress it again
      r.gzip = true;
    }
    return r;
  }

  static const std::string& gzip_bomb() {
    static const std::string body = [] {
      z_stream z{};
      deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
      const std::string zeros(std::size_t{1} << 20, ' ');
      std::string out;
      std::vector<unsigned char> buf(1 << 16);
      for (int chunk = 0; chunk < 256; ++chunk) {
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
        z.avail_in = static_cast<uInt>(zeros.size());
        const int flush = chunk == 255 ? Z_FINISH : Z_NO_FLUSH;
        do {
          z.next_out = buf.data();
          z.avail_out = static_cast<uInt>(buf.size());
          deflate(&z, flush);
          out.append(reinterpret_cast<const char*>(buf.data()), buf.size() - z.avail_out);
        } while (z.avail_out == 0);
      }
      deflateEnd(&z);
      return out;
    }();
    return body;
  }

  // Applies a change fault's edits to the data of one product (between two pages of a listing).
  void apply_change(const std::string& product, const FaultSpec& spec) {
    for (const auto& id : spec.remove) {
      remove(product, id);
    }
    for (const auto& rec : spec.add) {
      upsert(product, rec);
    }
  }

  // Closes the server side of the connection a request came on, so the client reads no byte at
  // all, as when a front end closes an idle keep-alive connection the client was about to reuse.
  // The socket is found by its peer address (httplib does not hand it to handlers).
  static void reset_connection(const httplib::Request& req) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
      int fd = -1;
      try {
        fd = std::stoi(entry.path().filename().string());
      } catch (const std::exception&) {
        continue;
      }
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
        continue;
      }
      char host[NI_MAXHOST];
      char port[NI_MAXSERV];
      if (getnameinfo(reinterpret_cast<sockaddr*>(&peer), len, host, sizeof host, port, sizeof port,
                      NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        continue;
      }
      if (req.remote_addr == host && std::to_string(req.remote_port) == port) {
        ::shutdown(fd, SHUT_RDWR);
        return;
      }
    }
  }

  static void send(const Reply& r, httplib::Response& res) {
    res.status = r.status;
    auto body = std::make_shared<std::string>(r.raw.empty() ? r.body.dump() : r.raw);
    if (r.cut >= 0) {
      const auto cut = static_cast<std::size_t>(r.cut);
      res.set_content_provider(body->size(), "application/json;charset=utf-8",
                               [body, cut](size_t offset, size_t /*length*/, httplib::DataSink& sink) {
                                 if (offset == 0 && cut > 0) {
                                   sink.write(body->data(), cut);
                                 }
                                 return false;  // abort: the connection is closed mid-body
                               });
      return;
    }
    if (r.gzip) {
      res.set_header("Content-Encoding", "gzip");
    }
    res.set_content(*body, r.content_type);
  }

  void routes() {
    auto api = [this](const httplib::Request& req, httplib::Response& res) {
      Reply r;
      try {
        r = handle_api(req);
      } catch (const std::exception& e) {
        r = api_error(500, "InternalError", std::string("simulator: ") + e.what(), request_id());
      }
      if (r.reset) {
        reset_connection(req);
      }
      send(r, res);
    };
    server.Get("/", api);
    server.Post("/", api);
    server.Get("/_sim/health",
               [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
    server.Get("/_sim/stats", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(stats().dump(), "application/json");
    });
    auto control = [](httplib::Response& res, const std::function<void()>& fn) {
      try {
        fn();
        res.set_content("{\"ok\":true}", "application/json");
      } catch (const std::exception& e) {
        res.status = 400;
        res.set_content(json{{"error", e.what()}}.dump(), "application/json");
      }
    };
    server.Post("/_sim/faults", [this, control](const httplib::Request& req, httplib::Response& res) {
      control(res, [&] { set_faults(json::parse(req.body)); });
    });
    server.Delete("/_sim/faults", [this, control](const httplib::Request&, httplib::Response& res) {
      control(res, [&] { set_faults(json::array()); });
    });
    server.Post(R"(/_sim/codes/(smc|ecs|polardb))",
                [this, control](const httplib::Request& req, httplib::Response& res) {
                  control(res, [&] {
                    json body = json::parse(req.body);
                    if (body.is_array()) {
                      for (const auto& rec : body) {
                        upsert(req.matches[1], rec);
                      }
                    } else {
                      upsert(req.matches[1], body);
                    }
                  });
                });
    server.Patch(R"(/_sim/codes/(smc|ecs|polardb)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      try {
        if (!patch(req.matches[1], signing::percent_decode(req.matches[2].str()), json::parse(req.body))) {
          res.status = 404;
        }
      } catch (const std::exception& e) {
        res.status = 400;
        res.set_content(json{{"error", e.what()}}.dump(), "application/json");
      }
    });
    server.Delete(R"(/_sim/codes/(smc|ecs|polardb)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!remove(req.matches[1], signing::percent_decode(req.matches[2].str()))) {
        res.status = 404;
      }
    });
  }

  void set_faults(const json& list) {
    if (!list.is_array()) {
      throw std::invalid_argument("faults must be a JSON array");
    }
    std::vector<Fault> fresh;
    for (const auto& f : list) {
      fresh.emplace_back(fault_from_json(f));
    }
    std::lock_guard lock(fault_mutex);
    faults = std::move(fresh);
  }
};

Simulator::Simulator(const json& data, Options options) : m_impl(std::make_unique<Impl>(data, options)) {
  m_impl->routes();
}

Simulator::~Simulator() {
  stop();
}

int Simulator::start(const std::string& host, int port) {
  auto& s = m_impl->server;
  const int threads = m_impl->options.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(100000);
  s.set_keep_alive_timeout(2);  // also bounds how long stop() waits for idle connections
  s.set_payload_max_length(8 * 1024 * 1024);
  if (port == 0) {
    m_impl->port = s.bind_to_any_port(host);
  } else {
    m_impl->port = s.bind_to_port(host, port) ? port : -1;
  }
  if (m_impl->port <= 0) {
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port));
  }
  m_impl->host = host;
  m_impl->thread = std::thread([this] { m_impl->server.listen_after_bind(); });
  while (!m_impl->server.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return m_impl->port;
}

void Simulator::stop() {
  if (m_impl && m_impl->thread.joinable()) {
    m_impl->server.stop();
    m_impl->thread.join();
  }
}

std::string Simulator::base_url() const {
  return "http://" + m_impl->host + ":" + std::to_string(m_impl->port);
}

void Simulator::set_faults(const json& faults) {
  m_impl->set_faults(faults);
}
void Simulator::add_fault(const FaultSpec& fault) {
  std::lock_guard lock(m_impl->fault_mutex);
  m_impl->faults.emplace_back(fault);
}
void Simulator::upsert(const std::string& product, const json& record) {
  m_impl->upsert(product, record);
}
bool Simulator::remove(const std::string& product, const std::string& id) {
  return m_impl->remove(product, id);
}
bool Simulator::patch(const std::string& product, const std::string& id, const json& fields) {
  return m_impl->patch(product, id, fields);
}
json Simulator::stats() const {
  return m_impl->stats();
}

}  // namespace acmon::sim
