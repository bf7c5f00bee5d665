// What several commands share: configuration, store, logging, credentials, alert evaluation.
#include "commands.hpp"

namespace acmon::cli {

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

std::unique_ptr<db::Store> open_store_read_only(const config::Config& cfg) {
  auto s = db::Store::open_read_only(cfg.daemon.database);
  if (!s) {
    throw Failure{k_exit_failed, s.error().message + " (daemon.database in " + cfg.path + ")"};
  }
  return std::move(*s);
}

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

std::shared_ptr<const daemon::WebConfig> load_web(const config::Config& cfg) {
  if (cfg.daemon.web_config.empty()) {
    return nullptr;
  }
  try {
    return std::make_shared<const daemon::WebConfig>(daemon::load_web_config(cfg.daemon.web_config));
  } catch (const config::ConfigError& e) {
    throw Failure{k_exit_config, std::string(e.what()) + " (daemon.web_config in " + cfg.path + ")"};
  }
}

void check_credentials(const config::Config& cfg) {
  for (const auto& a : cfg.accounts) {
    if (auto r = check_credentials_present(a); !r) {
      throw Failure{k_exit_config, cfg.path + ":" + std::to_string(a.line) + ": accounts: " + r.error().message};
    }
  }
}

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

}  // namespace acmon::cli
