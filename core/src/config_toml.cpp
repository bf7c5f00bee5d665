// The configuration read from TOML: every table and key checked, errors as FILE:LINE: KEY: what.
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>

#include "acmon/core/config.hpp"
#include "acmon/core/text.hpp"
#include "acmon/core/time.hpp"
#include "toml_reader.hpp"

namespace acmon::config {

namespace {

using toml_detail::line_of;
using toml_detail::quoted;
using toml_detail::read_account;
using toml_detail::read_organization;
using toml_detail::TableReader;

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

// "I/N": whole numbers, 0 <= I < N <= 1000.
bool parse_shard(std::string_view s, int& index, int& total) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) {
    return false;
  }
  const auto whole = [](std::string_view t, int& out) {
    const auto* end = t.data() + t.size();
    return !t.empty() && std::from_chars(t.data(), end, out).ptr == end;
  };
  int i = 0;
  int n = 0;
  if (!whole(s.substr(0, slash), i) || !whole(s.substr(slash + 1), n) || n < 1 || n > 1000 || i < 0 || i >= n) {
    return false;
  }
  index = i;
  total = n;
  return true;
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
  if (auto v = r.string("web_config")) {
    if (v->empty()) {
      r.fail("web_config", "must not be empty (leave it out for plain HTTP without authentication)");
    }
    d.web_config = *v;
  }
  if (auto v = r.string("log_level")) {
    static const std::set<std::string> k_levels{"trace", "debug", "info", "warn", "error"};
    if (k_levels.count(*v) == 0) {
      r.fail("log_level", quoted(*v) + " is not one of trace, debug, info, warn, error");
    }
    d.log_level = *v;
  }
  if (auto v = r.duration("retention")) {
    // Less than a day is a slip ("30m" for 30 months) rather than a wish: pruning would take the
    // resolved alerts (and what each receiver is still owed) and the history forecasts read.
    if (*v < 86400) {
      r.fail("retention", "must be at least 1d (history and resolved alerts older than it are deleted)");
    }
    d.retention = *v;
  }
  if (auto v = r.number("concurrency", 1, 256, false, "a whole number of scopes from 1 to 256")) {
    if (*v != static_cast<double>(static_cast<int>(*v))) {
      r.fail("concurrency", "must be a whole number of scopes");
    }
    d.concurrency = static_cast<int>(*v);
  }
  if (auto v = r.string("shard")) {
    if (!parse_shard(*v, d.shard_index, d.shard_total)) {
      r.fail("shard", quoted(*v) + " is not \"I/N\" with N from 1 to 1000 and I from 0 to N-1 (e.g. \"0/2\")");
    }
  }
  r.finish();
}

Collector read_collector(const toml::table& t, const std::string& prefix, const std::string& file, const Config& cfg) {
  TableReader r(t, prefix, file);
  Collector c;
  c.line = r.line();
  c.account = r.required_string("account");
  if (cfg.find_account(c.account) == nullptr && cfg.find_organization(c.account) == nullptr) {
    r.fail("account", "no [[accounts]] entry is named " + quoted(c.account) + ", nor an [[organizations]] entry");
  }
  const std::string product = r.required_string("product");
  auto p = parse_product(product);
  if (!p) {
    r.fail("product", quoted(product) + " is not one of smc, ecs, polardb");
  }
  c.product = *p;
  c.name = r.string("name").value_or(c.account + "-" + product);
  r.check_name(c.name);
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
  if (auto v = r.number("rate_limit", 0, 1000, false, "requests a second, 0 (no pacing) to 1000")) {
    c.rate_limit = *v;
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
    // Not quoted: a receiver's URL may carry its secret (a token, a password).
    r.fail("url", "not an http:// or https:// URL without white space (the URL is not quoted: it may carry a secret)");
  }
  r.finish();
  return n;
}

Config from_table(const toml::table& root, const std::string& file) {
  Config cfg;
  cfg.path = file;
  static const std::set<std::string> k_top{"daemon", "accounts", "organizations", "collectors", "alerts", "notify"};
  for (const auto& [k, v] : root) {
    if (k_top.count(std::string(k.str())) == 0) {
      throw ConfigError(file, line_of(v), std::string(k.str()),
                        "unknown key (expected [daemon], [[accounts]], [[organizations]], [[collectors]], [alerts], "
                        "[[notify]])");
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
  if (const auto* n = root.get("organizations")) {
    const auto& arr = array_of_tables_or_fail(*n, file, "organizations");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string prefix = "organizations[" + std::to_string(i) + "]";
      cfg.organizations.push_back(read_organization(*arr[i].as_table(), prefix, file, cfg));
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

}  // namespace acmon::config
