// acmon codes
#include "commands.hpp"

namespace acmon::cli {

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

}  // namespace acmon::cli
