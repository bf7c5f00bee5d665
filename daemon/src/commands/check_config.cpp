// acmon check-config
#include "commands.hpp"

namespace acmon::cli {

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
  const auto web = load_web(cfg);
  std::cout << cfg.path << ": ok (" << cfg.accounts.size() << " accounts, " << cfg.collectors.size() << " collectors, "
            << cfg.notify.size() << " notifiers)\n";
  if (web) {
    std::cout << web->path << ": ok (" << (web->tls ? "TLS" : "no TLS") << ", " << web->users.size()
              << " basic auth users)\n";
  }
  return 0;
}

}  // namespace acmon::cli
