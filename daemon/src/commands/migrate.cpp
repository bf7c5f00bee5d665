// acmon migrate
#include <filesystem>

#include "commands.hpp"

namespace acmon::cli {

int cmd_migrate(const std::string& path) {
  const auto cfg = load_config(path);
  const std::string& database = cfg.daemon.database;
  // An existing database only: a path mistyped is not a reason to make an empty one.
  std::error_code ec;
  if (!std::filesystem::exists(database, ec)) {
    throw Failure{k_exit_failed, "database " + database + ": no such file (daemon.database in " + cfg.path + ")"};
  }
  // Not under a running daemon: one older than this acmon would go on writing the schema it knows.
  auto writer = db::WriterLock::acquire(database);
  if (!writer) {
    throw Failure{k_exit_failed, writer.error().message};
  }
  auto store = open_store(cfg);
  const int was = store->opened_schema_version();
  std::cout << database << ": schema version " << db::k_schema_version;
  if (was == db::k_schema_version) {
    std::cout << ", already current\n";
  } else {
    std::cout << " (upgraded from " << was << ")\n";
  }
  return 0;
}

}  // namespace acmon::cli
