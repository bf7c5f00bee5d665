#include "acmon/core/config.hpp"

#include <sys/stat.h>
#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "acmon/core/text.hpp"
#include "acmon/core/time.hpp"

namespace acmon::config {

const char* to_string(Product p) {
  switch (p) {
    case Product::smc: return "smc";
    case Product::ecs: return "ecs";
    case Product::polardb: return "polardb";
  }
  return "?";
}

const char* api_version(Product p) {
  switch (p) {
    case Product::smc: return "2019-06-01";
    case Product::ecs: return "2014-05-26";
    case Product::polardb: return "2017-08-01";
  }
  return "?";
}

std::optional<Product> parse_product(std::string_view s) {
  if (s == "smc") {
    return Product::smc;
  }
  if (s == "ecs") {
    return Product::ecs;
  }
  if (s == "polardb") {
    return Product::polardb;
  }
  return std::nullopt;
}

Thresholds ThresholdOverrides::apply(const Thresholds& base) const {
  Thresholds t = base;
  t.expiry_warning = expiry_warning.value_or(t.expiry_warning);
  t.expiry_critical = expiry_critical.value_or(t.expiry_critical);
  t.usage_warning = usage_warning.value_or(t.usage_warning);
  t.usage_critical = usage_critical.value_or(t.usage_critical);
  return t;
}

const Account* Config::find_account(std::string_view name) const {
  auto it = std::find_if(accounts.begin(), accounts.end(), [&](const Account& a) { return a.name == name; });
  return it == accounts.end() ? nullptr : &*it;
}

const Collector* Config::find_collector(std::string_view name) const {
  auto it = std::find_if(collectors.begin(), collectors.end(), [&](const Collector& c) { return c.name == name; });
  return it == collectors.end() ? nullptr : &*it;
}

namespace {
// A configuration error is one line of at most this many bytes, whatever the file holds.
constexpr std::size_t k_max_message = 600;
}  // namespace

ConfigError::ConfigError(std::string file, int line, std::string key, const std::string& what)
    : std::runtime_error(cap_text(file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " +
                                      (key.empty() ? std::string() : key + ": ") + what,
                                  k_max_message)),
      m_file(std::move(file)),
      m_line(line),
      m_key(std::move(key)) {}

std::optional<std::pair<std::string, int>> split_host_port(std::string_view listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == listen.size()) {
    return std::nullopt;
  }
  std::string host(listen.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return std::nullopt;
  }
  int port = -1;
  const auto digits = listen.substr(colon + 1);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || p != digits.data() + digits.size() || port < 0 || port > 65535) {
    return std::nullopt;
  }
  return std::make_pair(host, port);
}

namespace {

bool all_of(std::string_view s, bool (*ok)(char)) {
  return std::all_of(s.begin(), s.end(), ok);
}

bool is_lower_or_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// A host name of letters, digits, '-' and '.', or a bracketed IPv6 address.
bool valid_host(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return all_of(host.substr(1, host.size() - 2),
                  [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.'; });
  }
  return !host.empty() && host.size() <= 253 &&
         all_of(host, [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.'; });
}

}  // namespace

bool valid_region_id(std::string_view s) {
  // "cn-hangzhou", "us-west-1", "cn-hangzhou-finance": a lower-case word of two letters or more,
  // then one or more '-' parts of lower-case letters and digits.
  if (s.size() > 64) {
    return false;
  }
  const auto dash = s.find('-');
  if (dash == std::string_view::npos || dash < 2 ||
      !all_of(s.substr(0, dash), [](char c) { return c >= 'a' && c <= 'z'; })) {
    return false;
  }
  std::size_t part = 0;
  for (std::size_t i = dash; i < s.size(); ++i) {
    if (s[i] == '-') {
      if (i + 1 == s.size() || s[i + 1] == '-') {
        return false;
      }
    } else if (!is_lower_or_digit(s[i])) {
      return false;
    }
    ++part;
  }
  return part > 1;
}

bool valid_order_id(std::string_view s) {
  // The documents' sample is "2233****445566": digits, masked with '*' where shown in the console.
  return !s.empty() && s.size() <= 32 && s.find_first_of("0123456789") != std::string_view::npos &&
         all_of(s, [](char c) { return (c >= '0' && c <= '9') || c == '*'; });
}

bool valid_access_key_id(std::string_view s) {
  // "LTAI5t…" for RAM users, "STS.…" for temporary credentials.
  return !s.empty() && s.size() <= 128 && all_of(s, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
  });
}

bool valid_endpoint(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.substr(0, scheme.size()) != scheme) {
      continue;
    }
    auto rest = url.substr(scheme.size());
    if (!rest.empty() && rest.back() == '/') {
      rest.remove_suffix(1);
    }
    // The port follows the last ':' unless that ':' is inside an IPv6 address.
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || (rest.front() == '[' && rest.back() == ']')) {
      return valid_host(rest);
    }
    const auto port = rest.substr(colon + 1);
    int n = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    return valid_host(rest.substr(0, colon)) && !port.empty() && port.size() <= 5 && ec == std::errc() &&
           p == port.data() + port.size() && n >= 1 && n <= 65535;
  }
  return false;
}

namespace {

int line_of(const toml::node& n) {
  return static_cast<int>(n.source().begin.line);
}

// A configured value quoted in a message: escaped and short, whatever the file holds.
std::string quoted(std::string_view s) {
  return "'" + cap_text(s, 100) + "'";
}

bool valid_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
}

// Reads one TOML table, remembering which keys were consumed so unknown ones are refused.
class TableReader {
 public:
  TableReader(const toml::table& t, std::string prefix, const std::string& file)
      : m_table(t), m_prefix(std::move(prefix)), m_file(file) {}

  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    const toml::node* n = m_table.get(key);
    throw ConfigError(m_file, n != nullptr ? line_of(*n) : line_of(m_table), qualified(key), what);
  }
  [[noreturn]] void fail_table(const std::string& what) const {
    throw ConfigError(m_file, line_of(m_table), m_prefix, what);
  }

  [[nodiscard]] std::string qualified(std::string_view key) const {
    return m_prefix.empty() ? std::string(key) : m_prefix + "." + std::string(key);
  }
  [[nodiscard]] int line() const { return line_of(m_table); }
  [[nodiscard]] bool has(std::string_view key) const { return m_table.contains(key); }

  std::optional<std::string> string(std::string_view key) {
    m_seen.insert(std::string(key));
    const toml::node* n = m_table.get(key);
    if (n == nullptr) {
      return std::nullopt;
    }
    if (!n->is_string()) {
      fail(key, std::string("expected a string, found ") + type_name(*n));
    }
    return std::string(n->as_string()->get());
  }

  std::string required_string(std::string_view key) {
    auto v = string(key);
    if (!v) {
      fail_table("missing required key " + quoted(key));
    }
    if (v->empty()) {
      fail(key, "must not be empty");
    }
    return *v;
  }

  std::optional<std::int64_t> duration(std::string_view key) {
    auto s = string(key);
    if (!s) {
      return std::nullopt;
    }
    auto d = parse_duration(*s);
    if (!d) {
      fail(key, quoted(*s) +
                    " is not a duration (a positive number with a unit s, m, h or d, e.g. \"30s\", \"5m\", \"7d\"; "
                    "at most 36525d)");
    }
    return d;
  }

  std::optional<double> fraction(std::string_view key) {
    m_seen.insert(std::string(key));
    const toml::node* n = m_table.get(key);
    if (n == nullptr) {
      return std::nullopt;
    }
    double v = 0;
    if (n->is_floating_point()) {
      v = n->as_floating_point()->get();
    } else if (n->is_integer()) {
      v = static_cast<double>(n->as_integer()->get());
    } else {
      fail(key, std::string("expected a number between 0 and 1, found ") + type_name(*n));
    }
    if (!(v > 0.0 && v <= 1.0)) {
      std::ostringstream os;
      os << v;
      fail(key, os.str() + " is out of range: a fraction of the limit, greater than 0 and at most 1 (e.g. 0.8)");
    }
    return v;
  }

  std::optional<std::vector<std::string>> string_array(std::string_view key) {
    m_seen.insert(std::string(key));
    const toml::node* n = m_table.get(key);
    if (n == nullptr) {
      return std::nullopt;
    }
    if (!n->is_array()) {
      fail(key, std::string("expected an array of strings, found ") + type_name(*n));
    }
    std::vector<std::string> out;
    for (const auto& el : *n->as_array()) {
      if (!el.is_string()) {
        throw ConfigError(m_file, line_of(el), qualified(key),
                          std::string("expected an array of strings, found an element of type ") + type_name(el));
      }
      std::string s(el.as_string()->get());
      if (s.empty()) {
        throw ConfigError(m_file, line_of(el), qualified(key), "an element is empty");
      }
      if (std::find(out.begin(), out.end(), s) != out.end()) {
        throw ConfigError(m_file, line_of(el), qualified(key), quoted(s) + " is listed twice");
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  // Refuses every key that no accessor asked for.
  void finish() const {
    for (const auto& [k, v] : m_table) {
      if (m_seen.count(std::string(k.str())) == 0) {
        throw ConfigError(m_file, line_of(v), qualified(k.str()), "unknown key");
      }
    }
  }

  static const char* type_name(const toml::node& n) {
    switch (n.type()) {
      case toml::node_type::string: return "a string";
      case toml::node_type::integer: return "an integer";
      case toml::node_type::floating_point: return "a float";
      case toml::node_type::boolean: return "a boolean";
      case toml::node_type::array: return "an array";
      case toml::node_type::table: return "a table";
      default: return "a date or time";
    }
  }

 private:
  const toml::table& m_table;
  std::string m_prefix;
  const std::string& m_file;
  std::set<std::string> m_seen;
};

void read_thresholds(TableReader& r, ThresholdOverrides& o) {
  o.expiry_warning = r.duration("expiry_warning");
  o.expiry_critical = r.duration("expiry_critical");
  o.usage_warning = r.fraction("usage_warning");
  o.usage_critical = r.fraction("usage_critical");
}

void check_thresholds(const TableReader& r, const Thresholds& t) {
  if (t.expiry_critical > t.expiry_warning) {
    r.fail(r.has("expiry_critical") ? "expiry_critical" : "expiry_warning",
           "expiry_critical (" + format_span(t.expiry_critical) + ") must not be longer than expiry_warning (" +
               format_span(t.expiry_warning) + ")");
  }
  if (t.usage_critical < t.usage_warning) {
    r.fail(r.has("usage_critical") ? "usage_critical" : "usage_warning",
           "usage_critical must not be lower than usage_warning");
  }
}

bool valid_url(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.substr(0, scheme.size()) == scheme && url.size() > scheme.size()) {
      return url.find_first_of(" \t\r\n") == std::string_view::npos;
    }
  }
  return false;
}

const toml::table& as_table_or_fail(const toml::node& n, const std::string& file, const std::string& key) {
  if (!n.is_table()) {
    throw ConfigError(file, line_of(n), key, std::string("expected a table, found ") + TableReader::type_name(n));
  }
  return *n.as_table();
}

const toml::array& array_of_tables_or_fail(const toml::node& n, const std::string& file, const std::string& key) {
  if (!n.is_array_of_tables() && !(n.is_array() && n.as_array()->empty())) {
    throw ConfigError(file, line_of(n), key, "expected an array of tables ([[" + key + "]])");
  }
  return *n.as_array();
}

void read_daemon(const toml::table& t, const std::string& file, Daemon& d) {
  TableReader r(t, "daemon", file);
  if (auto v = r.string("database")) {
    if (v->empty()) {
      r.fail("database", "must not be empty");
    }
    d.database = *v;
  }
  if (auto v = r.string("listen")) {
    if (!split_host_port(*v)) {
      r.fail("listen", quoted(*v) + " is not HOST:PORT with a port from 0 to 65535");
    }
    d.listen = *v;
  }
  if (auto v = r.string("log_level")) {
    static const std::set<std::string> k_levels{"trace", "debug", "info", "warn", "error"};
    if (k_levels.count(*v) == 0) {
      r.fail("log_level", quoted(*v) + " is not one of trace, debug, info, warn, error");
    }
    d.log_level = *v;
  }
  if (auto v = r.duration("retention")) {
    d.retention = *v;
  }
  r.finish();
}

Account read_account(const toml::table& t, const std::string& prefix, const std::string& file) {
  TableReader r(t, prefix, file);
  Account a;
  a.line = r.line();
  a.name = r.required_string("name");
  if (!valid_name(a.name)) {
    r.fail("name", quoted(a.name) + " may hold only letters, digits, '-', '_' and '.' (at most 64)");
  }
  if (r.has("access_key_secret")) {
    r.fail("access_key_secret",
           "secrets are not accepted inline; use access_key_secret_file (mode 0600 or stricter) or "
           "access_key_secret_env");
  }
  auto id = r.string("access_key_id");
  auto file_path = r.string("access_key_secret_file");
  auto env = r.string("access_key_secret_env");
  auto token_env = r.string("security_token_env");
  auto creds = r.string("credentials");
  r.finish();

  if (creds) {
    if (id || file_path || env || token_env) {
      r.fail("credentials",
             "credentials = " + quoted(*creds) +
                 " cannot be combined with access_key_id, access_key_secret_file, access_key_secret_env or "
                 "security_token_env");
    }
    const std::string& c = *creds;
    if (c == "env") {
      a.source = CredentialSource::env;
    } else if (c.rfind("profile:", 0) == 0 && c.size() > 8) {
      a.source = CredentialSource::profile;
      a.source_arg = c.substr(8);
    } else if (c.rfind("ram-role:", 0) == 0 && c.size() > 9) {
      a.source = CredentialSource::ram_role;
      a.source_arg = c.substr(9);
    } else {
      r.fail("credentials", quoted(c) + " is not one of \"env\", \"profile:NAME\", \"ram-role:ROLE\"");
    }
    return a;
  }
  if (!id) {
    r.fail_table("account " + quoted(a.name) +
                 " has no credentials: set access_key_id with access_key_secret_file or access_key_secret_env, "
                 "or credentials = \"env\" | \"profile:NAME\" | \"ram-role:ROLE\"");
  }
  if (id->empty()) {
    r.fail("access_key_id", "must not be empty");
  }
  if (!valid_access_key_id(*id)) {
    r.fail("access_key_id", quoted(*id) + " is not an AccessKey id (letters, digits, '.', '_' and '-', at most 128)");
  }
  if (file_path && env) {
    r.fail("access_key_secret_env", "set either access_key_secret_file or access_key_secret_env, not both");
  }
  if (!file_path && !env) {
    r.fail("access_key_id", "has no secret: set access_key_secret_file or access_key_secret_env");
  }
  if ((file_path && file_path->empty()) || (env && env->empty())) {
    r.fail(file_path ? "access_key_secret_file" : "access_key_secret_env", "must not be empty");
  }
  a.source = CredentialSource::static_key;
  a.access_key_id = *id;
  a.secret_file = file_path.value_or("");
  a.secret_env = env.value_or("");
  a.security_token_env = token_env.value_or("");
  return a;
}

Collector read_collector(const toml::table& t, const std::string& prefix, const std::string& file, const Config& cfg) {
  TableReader r(t, prefix, file);
  Collector c;
  c.line = r.line();
  c.account = r.required_string("account");
  if (cfg.find_account(c.account) == nullptr) {
    r.fail("account", "no [[accounts]] entry is named " + quoted(c.account));
  }
  const std::string product = r.required_string("product");
  auto p = parse_product(product);
  if (!p) {
    r.fail("product", quoted(product) + " is not one of smc, ecs, polardb");
  }
  c.product = *p;
  c.name = r.string("name").value_or(c.account + "-" + product);
  if (!valid_name(c.name)) {
    r.fail("name", quoted(c.name) + " may hold only letters, digits, '-', '_' and '.' (at most 64)");
  }
  auto regions = r.string_array("regions");
  auto orders = r.string_array("order_ids");
  if (c.product == Product::ecs) {
    if (!regions || regions->empty()) {
      r.fail(regions ? "regions" : "product", "an ecs collector needs regions = [\"cn-hangzhou\", …] or [\"*\"]");
    }
    if (std::find(regions->begin(), regions->end(), "*") != regions->end() && regions->size() > 1) {
      r.fail("regions", "\"*\" discovers every region and cannot be combined with named regions");
    }
    for (const auto& region : *regions) {
      if (region != "*" && !valid_region_id(region)) {
        r.fail("regions", quoted(region) +
                              " is not a region id (lower-case letters, digits and '-', like \"cn-hangzhou\"; at "
                              "most 64)");
      }
    }
    c.regions = *regions;
  } else if (regions) {
    r.fail("regions", "only ecs collectors take regions");
  }
  if (c.product == Product::polardb) {
    if (!orders || orders->empty()) {
      r.fail(orders ? "order_ids" : "product", "a polardb collector needs order_ids = [\"…\"] (AliyunOrderId)");
    }
    for (const auto& order : *orders) {
      if (!valid_order_id(order)) {
        r.fail("order_ids", quoted(order) + " is not an order id (AliyunOrderId: digits, at most 32)");
      }
    }
    c.order_ids = *orders;
  } else if (orders) {
    r.fail("order_ids", "only polardb collectors take order_ids");
  }
  if (auto v = r.duration("interval")) {
    if (*v < 10) {
      r.fail("interval", "must be at least 10s");
    }
    if (*v > k_max_interval) {
      r.fail("interval", "must be at most 366d");
    }
    c.interval = *v;
  }
  if (auto v = r.duration("timeout")) {
    if (*v > 300) {
      r.fail("timeout", "must be at most 5m");
    }
    c.timeout = *v;
  }
  if (auto v = r.string("endpoint")) {
    if (!valid_endpoint(*v)) {
      r.fail("endpoint", quoted(*v) +
                             " is not an http:// or https:// URL of a host and an optional port, with nothing after "
                             "them but an optional '/'");
    }
    c.endpoint = *v;
  }
  if (auto v = r.string("signature")) {
    if (*v == "v3") {
      c.signature = SignatureVersion::v3;
    } else if (*v == "v1") {
      c.signature = SignatureVersion::v1;
    } else {
      r.fail("signature", quoted(*v) + " is not one of v3, v1");
    }
  }
  if (auto v = r.string("time_zone")) {
    if (c.product != Product::polardb) {
      r.fail("time_zone", "only polardb collectors take time_zone (its times carry no zone)");
    }
    auto off = parse_utc_offset(*v);
    if (!off) {
      r.fail("time_zone", quoted(*v) + " is not a UTC offset like \"+08:00\"");
    }
    c.utc_offset = *off;
  }
  read_thresholds(r, c.thresholds);
  r.finish();
  check_thresholds(r, c.thresholds.apply(cfg.alerts));
  return c;
}

Notify read_notify(const toml::table& t, const std::string& prefix, const std::string& file) {
  TableReader r(t, prefix, file);
  Notify n;
  n.line = r.line();
  const std::string type = r.required_string("type");
  if (type == "alertmanager") {
    n.type = Notify::Type::alertmanager;
  } else if (type == "webhook") {
    n.type = Notify::Type::webhook;
  } else {
    r.fail("type", quoted(type) + " is not one of alertmanager, webhook");
  }
  n.url = r.required_string("url");
  if (!valid_url(n.url)) {
    r.fail("url", quoted(n.url) + " is not an http:// or https:// URL");
  }
  r.finish();
  return n;
}

Config from_table(const toml::table& root, const std::string& file) {
  Config cfg;
  cfg.path = file;
  static const std::set<std::string> k_top{"daemon", "accounts", "collectors", "alerts", "notify"};
  for (const auto& [k, v] : root) {
    if (k_top.count(std::string(k.str())) == 0) {
      throw ConfigError(file, line_of(v), std::string(k.str()),
                        "unknown key (expected [daemon], [[accounts]], [[collectors]], [alerts], [[notify]])");
    }
  }
  if (const auto* n = root.get("daemon")) {
    read_daemon(as_table_or_fail(*n, file, "daemon"), file, cfg.daemon);
  }
  if (const auto* n = root.get("alerts")) {
    TableReader r(as_table_or_fail(*n, file, "alerts"), "alerts", file);
    ThresholdOverrides o;
    read_thresholds(r, o);
    r.finish();
    cfg.alerts = o.apply(cfg.alerts);
    check_thresholds(r, cfg.alerts);
  }
  if (const auto* n = root.get("accounts")) {
    const auto& arr = array_of_tables_or_fail(*n, file, "accounts");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string prefix = "accounts[" + std::to_string(i) + "]";
      Account a = read_account(*arr[i].as_table(), prefix, file);
      if (cfg.find_account(a.name) != nullptr) {
        throw ConfigError(file, a.line, prefix + ".name", "account " + quoted(a.name) + " is defined twice");
      }
      cfg.accounts.push_back(std::move(a));
    }
  }
  if (const auto* n = root.get("collectors")) {
    const auto& arr = array_of_tables_or_fail(*n, file, "collectors");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string prefix = "collectors[" + std::to_string(i) + "]";
      Collector c = read_collector(*arr[i].as_table(), prefix, file, cfg);
      if (cfg.find_collector(c.name) != nullptr) {
        throw ConfigError(
            file, c.line, prefix + ".name",
            "collector " + quoted(c.name) + " is defined twice (names default to \"<account>-<product>\")");
      }
      cfg.collectors.push_back(std::move(c));
    }
  }
  if (const auto* n = root.get("notify")) {
    const auto& arr = array_of_tables_or_fail(*n, file, "notify");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      cfg.notify.push_back(read_notify(*arr[i].as_table(), "notify[" + std::to_string(i) + "]", file));
    }
  }
  return cfg;
}

}  // namespace

Config parse(std::string_view text, const std::string& source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw ConfigError(source_name, static_cast<int>(e.source().begin.line), "",
                      "TOML syntax: " + std::string(e.description()));
  }
  return from_table(root, source_name);
}

Config load_file(const std::string& path) {
  // A directory, a device (/dev/zero never ends) or a FIFO is refused before it is opened.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw ConfigError(path, 0, "", "cannot read the configuration file: " + std::string(std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    throw ConfigError(path, 0, "", "the configuration is not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(path, 0, "", "cannot read the configuration file: " + std::string(std::strerror(errno)));
  }
  // Read one byte more than allowed, so a file that grew after stat() is refused too.
  std::string text(k_max_config_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > k_max_config_bytes) {
    throw ConfigError(path, 0, "",
                      "the configuration file is larger than " + std::to_string(k_max_config_bytes / 1024) + " KiB");
  }
  return parse(text, path);
}

}  // namespace acmon::config
