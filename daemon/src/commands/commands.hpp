// The commands of the acmon executable (main.cpp parses the command line and calls one of them).
// A command returns its exit status, or throws Failure, which main prints and exits with.
#pragma once

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
#include "acmon/daemon/web_config.hpp"
#include "acmon/db/store.hpp"

namespace acmon::cli {

constexpr int k_exit_failed = 1;
constexpr int k_exit_usage = 2;
constexpr int k_exit_config = 78;

struct Failure {
  int code;
  std::string message;
};

// The configuration at path; a ConfigError becomes Failure{k_exit_config}.
config::Config load_config(const std::string& path);
std::unique_ptr<db::Store> open_store(const config::Config& cfg);
// For the commands that only read (codes, alerts, history): db::Store::open_read_only, which never
// creates, migrates or writes the database; an error names the file and the setting that chose it.
std::unique_ptr<db::Store> open_store_read_only(const config::Config& cfg);
// Under systemd (JOURNAL_STREAM is set) logs go to the journal with their priority; on a
// terminal they are coloured lines on stderr.
void setup_logging(const std::string& level);
// The web configuration cfg.daemon.web_config names, read and checked (null when none); a file that
// cannot be read or used is Failure{k_exit_config} naming it.
std::shared_ptr<const daemon::WebConfig> load_web(const config::Config& cfg);
// Every account's credentials are present (no API calls), else Failure{k_exit_config}.
void check_credentials(const config::Config& cfg);
// Evaluates the alert rules over the stored state and stores the changes; returns them.
db::AlertChanges evaluate_now(const config::Config& cfg, db::Store& store, UnixTime now);

int cmd_check_config(const std::string& path);
int cmd_sync(const std::string& path, const std::vector<std::string>& only, bool no_notify);
int cmd_alerts(const std::string& path, bool json, bool all);
int cmd_run(const std::string& path);
int cmd_migrate(const std::string& path);
int cmd_codes(const std::string& path, bool json, const std::string& product, const std::string& account,
              const std::string& state, bool all = false);
int cmd_history(const std::string& path, const std::string& id, bool json, const std::string& since);
int cmd_token_create(const std::string& path, const std::string& account, const std::string& name,
                     const std::string& description, int count, int ttl_days);

}  // namespace acmon::cli
