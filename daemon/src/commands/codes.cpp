// acmon codes
#include "commands.hpp"
#include "render.hpp"

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
    print_json(std::cout, *codes, &daemon::code_json);
    return 0;
  }
  Table table({{"PRODUCT", 8},
               {"ACCOUNT", 12},
               {"SCOPE", 16},
               {"ID", 28},
               {"NAME", 20},
               {"STATE", 10},
               {"USED", 11},
               {"EXPIRES", 38},
               {"RUNS OUT", 0}});
  const auto now = clock.now();
  for (const auto& s : *codes) {
    const auto& c = s.code;
    table.add({config::to_string(c.product), c.account, or_dash(c.region.empty() ? c.order_id : c.region), c.id,
               or_dash(c.name), model::to_string(s.state), used_text(c), expires_text(c.expires_at, now),
               s.exhaustion_forecast ? expires_text(s.exhaustion_forecast, now) : std::string("-")});
  }
  table.print(std::cout);
  std::cout << codes->size() << " code(s)\n";
  return 0;
}

}  // namespace acmon::cli
