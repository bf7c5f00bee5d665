// acmon: the command line. Exceptions stop here; every error names what and where.
#include <CLI/CLI.hpp>
#include <iostream>

#include "commands/commands.hpp"

using namespace acmon;
using namespace acmon::cli;

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
  bool all_codes = false;
  codes->add_flag("--all", all_codes,
                  "codes of scopes no longer watched too (a collector removed, a member that left), marked so");

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

  auto* migrate = app.add_subcommand(
      "migrate", "upgrade the database to this acmon's schema (refused while `acmon run` uses it), then exit");
  add_config(migrate);

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
      return cmd_codes(config_path, json, product, account, state, all_codes);
    }
    if (history->parsed()) {
      return cmd_history(config_path, id, json, since);
    }
    if (migrate->parsed()) {
      return cmd_migrate(config_path);
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
