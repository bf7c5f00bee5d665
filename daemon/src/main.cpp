// acmon: the command line. Exceptions stop here; every error names what and where.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "acmon/core/api.hpp"
#include "acmon/core/config.hpp"
#include "acmon/core/credentials.hpp"
#include "acmon/daemon/alerts.hpp"
#include "acmon/daemon/notify.hpp"
#include "acmon/daemon/service.hpp"
#include "acmon/daemon/sync.hpp"
#include "acmon/db/store.hpp"

namespace {

using namespace acmon;

constexpr int k_exit_failed = 1;
constexpr int k_exit_usage = 2;
constexpr int k_exit_config = 78;

struct Failure {
  int code;
  std::string message;
};

config::Config load_config(const std::string& path) {
  try {
    return config::load_file(path);
  } catch (const config::ConfigError& e) {
    throw Failure{k_exit_config, e.what()};
  }
}

std::unique_ptr<db::Store> open_store(const config::Config& cfg) {
  auto s = db::Store::open(cfg.daemon.database);
  if (!s) {
    throw Failure{k_exit_failed, s.error().message};
  }
  return std::move(*s);
}

// Under systemd (JOURNAL_STREAM is set) logs go to the journal with their priority; on a
// terminal they are coloured lines on stderr.
void setup_logging(const std::string& level) {
  std::shared_ptr<spdlog::logger> logger;
  if (std::getenv("JOURNAL_STREAM") != nullptr) {  // NOLINT(concurrency-mt-unsafe): before any thread
    logger = std::make_shared<spdlog::logger>("acmon", std::make_shared<spdlog::sinks::systemd_sink_mt>("acmon"));
    logger->set_pattern("%v");
  } else {
    logger = spdlog::stderr_color_mt("acmon");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S%z %^%l%$ %v");
  }
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

void check_credentials(const config::Config& cfg) {
  for (const auto& a : cfg.accounts) {
    if (auto r = check_credentials_present(a); !r) {
      throw Failure{k_exit_config, cfg.path + ":" + std::to_string(a.line) + ": accounts: " + r.error().message};
    }
  }
}

// Evaluates the alert rules over the stored state and stores the changes; returns them.
db::AlertChanges evaluate_now(const config::Config& cfg, db::Store& store, UnixTime now) {
  auto codes = store.codes({}, now);
  auto scopes = store.scopes();
  if (!codes || !scopes) {
    throw Failure{k_exit_failed, (!codes ? codes.error() : scopes.error()).message};
  }
  auto changes = store.reconcile_alerts(daemon::evaluate_alerts(std::move(*codes), std::move(*scopes), cfg, now), now);
  if (!changes) {
    throw Failure{k_exit_failed, daemon::naming_database(store, changes.error().message)};
  }
  return std::move(*changes);
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() > width) {
    s = s.substr(0, width - 1) + "~";
  }
  s.resize(width, ' ');
  return s;
}

int cmd_check_config(const std::string& path) {
  const auto cfg = load_config(path);
  int problems = 0;
  for (const auto& a : cfg.accounts) {
    if (auto r = check_credentials_present(a); !r) {
      std::cerr << cfg.path << ":" << a.line << ": accounts: " << r.error().message << "\n";
      ++problems;
    }
  }
  if (problems > 0) {
    return k_exit_config;
  }
  std::cout << cfg.path << ": ok (" << cfg.accounts.size() << " accounts, " << cfg.collectors.size() << " collectors, "
            << cfg.notify.size() << " notifiers)\n";
  return 0;
}

int cmd_sync(const std::string& path, const std::vector<std::string>& only, bool no_notify) {
  const auto cfg = load_config(path);
  for (const auto& name : only) {
    if (cfg.find_collector(name) == nullptr) {
      std::string names;
      for (const auto& c : cfg.collectors) {
        names += (names.empty() ? "" : ", ") + c.name;
      }
      throw Failure{k_exit_usage, "--collector " + name + ": no such collector in " + cfg.path +
                                      (names.empty() ? " (it has none)" : " (it has: " + names + ")")};
    }
  }
  setup_logging(cfg.daemon.log_level);
  auto store = open_store(cfg);
  http::CurlTransport transport;
  SystemClock clock;
  api::RealSleeper sleeper;
  api::Client client(transport, clock, sleeper);
  daemon::Syncer syncer(cfg, *store, client, clock);
  const auto outcomes = syncer.run(only);
  bool failed = false;
  for (const auto& o : outcomes) {
    std::cout << daemon::summary_line(o) << "\n";
    failed = failed || !o.ok;
  }
  if (auto pruned = store->prune(clock.now() - cfg.daemon.retention); !pruned) {
    std::cerr << "acmon: pruning history: " << daemon::naming_database(*store, pruned.error().message) << "\n";
  }
  const auto changes = evaluate_now(cfg, *store, clock.now());
  for (const auto& a : changes.started) {
    std::cout << "alert firing: " << a.rule << " " << a.severity << " " << (a.is_code_alert() ? a.code_id : a.collector)
              << ": " << a.summary << "\n";
  }
  for (const auto& a : changes.resolved) {
    std::cout << "alert resolved: " << a.rule << " " << a.severity << " "
              << (a.is_code_alert() ? a.code_id : a.collector) << "\n";
  }
  if (!no_notify) {
    std::mutex store_mutex;
    for (const auto& n : cfg.notify) {
      auto r = daemon::deliver(n, transport, *store, store_mutex, clock.now(), "");
      if (!r) {
        std::cerr << "acmon: notifying " << daemon::target_name(n) << ": " << r.error().describe() << "\n";
      }
    }
  }
  if (outcomes.empty()) {
    std::cout << "no collectors configured in " << cfg.path << "\n";
  }
  return failed ? k_exit_failed : 0;
}

int cmd_alerts(const std::string& path, bool json, bool all) {
  const auto cfg = load_config(path);
  auto store = open_store(cfg);
  auto alerts = store->alerts(all);
  if (!alerts) {
    throw Failure{k_exit_failed, alerts.error().message};
  }
  if (json) {
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const auto& a : *alerts) {
      arr.push_back(daemon::alert_json(a));
    }
    std::cout << arr.dump(2) << "\n";
    return 0;
  }
  std::cout << pad("RULE", 19) << pad("SEVERITY", 10) << pad("PRODUCT", 8) << pad("ACCOUNT", 12) << pad("SUBJECT", 30)
            << pad("SUMMARY", 28) << pad("SINCE", 22) << (all ? "ENDED" : "") << "\n";
  for (const auto& a : *alerts) {
    std::string subject = a.is_code_alert() ? a.code_id : a.collector;
    if (!a.region.empty()) {
      subject += " " + a.region;
    }
    if (!a.order_id.empty()) {
      subject += " " + a.order_id;
    }
    std::cout << pad(a.rule, 19) << pad(a.severity, 10) << pad(a.product, 8) << pad(a.account, 12) << pad(subject, 30)
              << pad(a.summary, 28) << pad(format_rfc3339(a.starts_at), 22)
              << (all ? (a.ends_at ? format_rfc3339(*a.ends_at) : std::string("firing")) : std::string()) << "\n";
  }
  std::cout << alerts->size() << " alert(s)\n";
  return 0;
}

int cmd_run(const std::string& path) {
  auto cfg = load_config(path);
  check_credentials(cfg);
  setup_logging(cfg.daemon.log_level);
  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    sigaddset(&signals, sig);
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // One daemon per database, for the life of this process: a second would double every API call
  // and resolve the first one's alerts. The read-only commands take no such lock.
  auto writer = db::WriterLock::acquire(cfg.daemon.database);
  if (!writer) {
    throw Failure{k_exit_failed, writer.error().message};
  }
  auto store = open_store(cfg);
  SystemClock clock;
  daemon::Service service(cfg, std::move(store), clock);
  if (auto r = service.start(); !r) {
    throw Failure{k_exit_failed, r.error().message};
  }
  spdlog::info("acmon {} serving /metrics on port {} with {} collector(s)", ACMON_VERSION, service.port(),
               cfg.collectors.size());
  sd_notifyf(0, "READY=1\nSTATUS=started; %zu collector(s)\nMAINPID=%lu", cfg.collectors.size(),
             static_cast<unsigned long>(getpid()));
  std::uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  const long tick_ms = watchdog ? std::max<long>(100, static_cast<long>(watchdog_usec / 2000)) : 1000;
  while (true) {
    timespec timeout{tick_ms / 1000, (tick_ms % 1000) * 1000000};
    siginfo_t info{};
    const int sig = sigtimedwait(&signals, &info, &timeout);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("{} received: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    if (sig == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      try {
        auto next = config::load_file(path);
        check_credentials(next);
        const auto notes = service.reload(next);
        spdlog::set_level(spdlog::level::from_str(next.daemon.log_level));
        spdlog::info("configuration reloaded from {}: {} collector(s){}", path, next.collectors.size(),
                     notes.empty() ? "" : "; " + notes);
      } catch (const config::ConfigError& e) {
        spdlog::error("reload refused, the running configuration is kept: {}", e.what());
      } catch (const Failure& f) {
        spdlog::error("reload refused, the running configuration is kept: {}", f.message);
      }
      sd_notify(0, "READY=1");
    }
    const std::string status = "STATUS=" + service.status();
    sd_notify(0, watchdog ? ("WATCHDOG=1\n" + status).c_str() : status.c_str());
  }
  sd_notify(0, "STOPPING=1");
  service.stop();
  spdlog::info("stopped");
  return 0;
}

int cmd_codes(const std::string& path, bool json, const std::string& product, const std::string& account,
              const std::string& state) {
  db::CodeFilter f;
  if (!product.empty()) {
    f.product = config::parse_product(product);
    if (!f.product) {
      throw Failure{k_exit_usage, "--product " + product + ": not one of smc, ecs, polardb"};
    }
  }
  if (!state.empty()) {
    f.state = model::parse_state(state);
    if (!f.state) {
      throw Failure{k_exit_usage, "--state " + state + ": not one of active, expired, disabled, exhausted, deleted"};
    }
  }
  if (!account.empty()) {
    f.account = account;
  }
  const auto cfg = load_config(path);
  auto store = open_store(cfg);
  SystemClock clock;
  auto codes = store->codes(f, clock.now());
  if (!codes) {
    throw Failure{k_exit_failed, codes.error().message};
  }
  if (json) {
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const auto& c : *codes) {
      arr.push_back(daemon::code_json(c));
    }
    std::cout << arr.dump(2) << "\n";
    return 0;
  }
  std::cout << pad("PRODUCT", 8) << pad("ACCOUNT", 12) << pad("SCOPE", 16) << pad("ID", 28) << pad("NAME", 20)
            << pad("STATE", 10) << pad("USED", 11) << "EXPIRES\n";
  const auto now = clock.now();
  for (const auto& s : *codes) {
    const auto& c = s.code;
    std::string used = c.registered ? std::to_string(*c.registered) : "-";
    if (c.limit) {
      used += "/" + std::to_string(*c.limit);
    }
    std::string expires = "-";
    if (c.expires_at) {
      expires = format_rfc3339(*c.expires_at);
      expires += *c.expires_at > now ? " (in " + format_span(*c.expires_at - now) + ")" : " (past)";
    }
    std::cout << pad(config::to_string(c.product), 8) << pad(c.account, 12)
              << pad(c.region.empty() ? (c.order_id.empty() ? "-" : c.order_id) : c.region, 16) << pad(c.id, 28)
              << pad(c.name.empty() ? "-" : c.name, 20) << pad(model::to_string(s.state), 10) << pad(used, 11)
              << expires << "\n";
  }
  std::cout << codes->size() << " code(s)\n";
  return 0;
}

int cmd_history(const std::string& path, const std::string& id, bool json, const std::string& since) {
  std::optional<UnixTime> from;
  SystemClock clock;
  if (!since.empty()) {
    auto d = parse_duration(since);
    if (!d) {
      throw Failure{k_exit_usage, "--since " + since + ": not a duration such as 7d or 12h"};
    }
    from = clock.now() - *d;
  }
  const auto cfg = load_config(path);
  auto store = open_store(cfg);
  auto h = store->history(id, from);
  if (!h) {
    throw Failure{k_exit_failed, h.error().message};
  }
  if (json) {
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const auto& e : *h) {
      model::StoredCode sc;
      sc.code = e.snapshot;
      nlohmann::ordered_json snap = daemon::code_json(sc);
      snap.erase("state");
      snap.erase("first_seen");
      snap.erase("last_seen");
      arr.push_back(nlohmann::ordered_json{{"at", format_rfc3339(e.at)},
                                           {"event", e.event},
                                           {"detail", e.detail},
                                           {"collector", e.collector},
                                           {"snapshot", snap}});
    }
    std::cout << arr.dump(2) << "\n";
    return 0;
  }
  if (h->empty()) {
    std::cout << "no history for " << id << "\n";
    return 0;
  }
  for (const auto& e : *h) {
    const auto& c = e.snapshot;
    std::string used = c.registered ? std::to_string(*c.registered) : "-";
    if (c.limit) {
      used += "/" + std::to_string(*c.limit);
    }
    std::cout << format_rfc3339(e.at) << "  " << pad(e.event, 9) << " " << pad(e.detail.empty() ? "-" : e.detail, 36)
              << " used " << used << "  " << e.collector << "\n";
  }
  return 0;
}

int cmd_token_create(const std::string& path, const std::string& account, const std::string& name,
                     const std::string& description, int count, int ttl_days) {
  const auto cfg = load_config(path);
  const auto* acct = cfg.find_account(account);
  if (acct == nullptr) {
    throw Failure{k_exit_usage, "--account " + account + ": no such account in " + cfg.path};
  }
  // Use the account's smc collector settings (endpoint, signature, timeout) where there is one.
  api::Call call;
  call.product = "smc";
  call.action = "CreateAccessToken";
  call.version = config::api_version(config::Product::smc);
  call.endpoint = "https://smc.aliyuncs.com";
  for (const auto& c : cfg.collectors) {
    if (c.account == account && c.product == config::Product::smc) {
      if (!c.endpoint.empty()) {
        call.endpoint = c.endpoint;
      }
      call.signature = c.signature;
      call.timeout = std::chrono::milliseconds(c.timeout * 1000);
      break;
    }
  }
  if (!name.empty()) {
    call.params["Name"] = name;
  }
  if (!description.empty()) {
    call.params["Description"] = description;
  }
  call.params["Count"] = std::to_string(count);
  call.params["TimeToLiveInDays"] = std::to_string(ttl_days);
  auto provider = make_credential_provider(*acct);
  http::CurlTransport transport;
  SystemClock clock;
  api::RealSleeper sleeper;
  // Creating is not idempotent: a retried create could make two codes, so only one attempt.
  api::Client client(transport, clock, sleeper, api::RetryPolicy{1, {}, {}});
  auto r = client.call(call, *provider);
  if (!r) {
    throw Failure{k_exit_failed, "account '" + account + "': CreateAccessToken: " + r.error().describe()};
  }
  const auto id = r->value("AccessTokenId", "");
  const auto code = r->value("AccessTokenCode", "");
  if (id.empty() || code.empty()) {
    throw Failure{k_exit_failed, "account '" + account + "': CreateAccessToken answered without an id or a code"};
  }
  std::cout << "AccessTokenId:   " << id << "\nAccessTokenCode: " << code
            << "\n\nThe code is shown only this once; acmon does not store it.\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"acmon: watches Alibaba Cloud activation codes (SMC, ECS Cloud Assistant, PolarDB)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("acmon ") + ACMON_VERSION);
  std::string config_path = "/etc/acmon/acmon.toml";
  auto add_config = [&](CLI::App* sub) {
    sub->add_option("--config", config_path, "configuration file")->capture_default_str();
  };

  auto* run = app.add_subcommand("run", "the daemon: schedule collectors, serve /metrics, evaluate alerts, notify");
  add_config(run);

  std::vector<std::string> only;
  bool no_notify = false;
  auto* sync = app.add_subcommand("sync", "one collection pass of every (or the named) collector, then exit");
  add_config(sync);
  sync->add_option("--collector", only, "only this collector (repeatable)");
  sync->add_flag("--no-notify", no_notify, "do not send notifications");

  bool json = false;
  std::string product;
  std::string account;
  std::string state;
  auto* codes = app.add_subcommand("codes", "the current codes from the database (no API calls)");
  add_config(codes);
  codes->add_flag("--json", json, "the unified code records as a JSON array");
  codes->add_option("--product", product, "smc, ecs or polardb");
  codes->add_option("--account", account, "an account name");
  codes->add_option("--state", state, "active, expired, disabled, exhausted or deleted");

  bool all = false;
  auto* alerts = app.add_subcommand("alerts", "active alerts from the database");
  add_config(alerts);
  alerts->add_flag("--json", json, "as a JSON array");
  alerts->add_flag("--all", all, "resolved alerts too");

  std::string id;
  std::string since;
  auto* history = app.add_subcommand("history", "the snapshots and change events of one code");
  add_config(history);
  history->add_option("ID", id, "the code's id")->required();
  history->add_flag("--json", json, "as a JSON array");
  history->add_option("--since", since, "only this recent, e.g. 7d");

  auto* token = app.add_subcommand("token", "SMC activation codes");
  token->require_subcommand(1);
  std::string name;
  std::string description;
  int count = 100;
  int ttl_days = 30;
  auto* create = token->add_subcommand("create", "create an SMC activation code (CreateAccessToken)");
  add_config(create);
  create->add_option("--account", account, "the account to create it in")->required();
  create->add_option("--name", name, "name of the code");
  create->add_option("--description", description, "description of the code");
  create->add_option("--count", count, "how many times it can be used (1 to 1000)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  create->add_option("--ttl-days", ttl_days, "days it stays valid (1 to 90)")
      ->check(CLI::Range(1, 90))
      ->capture_default_str();

  auto* check = app.add_subcommand("check-config", "validate the configuration and the credentials' presence");
  add_config(check);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : k_exit_usage;
  }
  try {
    if (check->parsed()) {
      return cmd_check_config(config_path);
    }
    if (sync->parsed()) {
      return cmd_sync(config_path, only, no_notify);
    }
    if (run->parsed()) {
      return cmd_run(config_path);
    }
    if (alerts->parsed()) {
      return cmd_alerts(config_path, json, all);
    }
    if (codes->parsed()) {
      return cmd_codes(config_path, json, product, account, state);
    }
    if (history->parsed()) {
      return cmd_history(config_path, id, json, since);
    }
    if (create->parsed()) {
      return cmd_token_create(config_path, account, name, description, count, ttl_days);
    }
  } catch (const Failure& f) {
    std::cerr << "acmon: " << f.message << "\n";
    return f.code;
  } catch (const config::ConfigError& e) {
    std::cerr << "acmon: " << e.what() << "\n";
    return k_exit_config;
  } catch (const std::exception& e) {
    std::cerr << "acmon: unexpected error: " << e.what() << "\n";
    return k_exit_failed;
  }
  return 0;
}
