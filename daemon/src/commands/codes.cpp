// acmon codes
#include "commands.hpp"
#include "render.hpp"

namespace acmon::cli {

int cmd_codes(const std::string& path, bool json, const std::string& product, const std::string& account,
              const std::string& state, bool all) {
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
  auto cfg = load_config(path);
  auto store = open_store_read_only(cfg);
  SystemClock clock;
  auto codes = store->codes(f, clock.now());
  if (!codes) {
    throw Failure{k_exit_failed, codes.error().message};
  }
  auto members = store->members();
  if (!members) {
    throw Failure{k_exit_failed, members.error().message};
  }
  cfg.members = std::move(*members);
  // What the exporter shows: the scopes configured now (for an organization, its current members).
  std::vector<bool> is_watched;
  std::vector<model::StoredCode> shown;
  for (auto& s : *codes) {
    const model::Scope scope{s.collector, s.code.product, s.code.account, s.code.region, s.code.order_id};
    const bool w = model::watched(cfg, scope);
    if (w || all) {
      is_watched.push_back(w);
      shown.push_back(std::move(s));
    }
  }
  *codes = std::move(shown);
  std::map<std::string, std::string> display;  // AccountId -> display name
  for (const auto& [org, list] : cfg.members) {
    for (const auto& m : list) {
      display[m.account_id] = m.display_name;
    }
  }
  if (json) {
    print_json<model::StoredCode>(std::cout, *codes, &daemon::code_json);
    return 0;
  }
  std::vector<std::string> who;  // "Display name (AccountId)" for an organization's member
  std::size_t account_width = 12;
  for (const auto& s : *codes) {
    who.push_back(s.code.account);
    if (auto it = display.find(s.code.account); it != display.end() && !it->second.empty()) {
      who.back() = it->second + " (" + s.code.account + ")";
    }
    account_width = std::min<std::size_t>(40, std::max(account_width, who.back().size() + 1));
  }
  std::vector<Table::Column> columns{{"PRODUCT", 8},
                                     {"ACCOUNT", account_width},
                                     {"SCOPE", 16},
                                     {"ID", 28},
                                     {"NAME", 20},
                                     {"STATE", 10},
                                     {"USED", 11},
                                     {"EXPIRES", 38},
                                     {"RUNS OUT", all ? std::size_t{12} : std::size_t{0}}};
  if (all) {
    columns.push_back({"WATCHED", 0});
  }
  Table table(std::move(columns));
  const auto now = clock.now();
  for (std::size_t i = 0; i < codes->size(); ++i) {
    const auto& s = (*codes)[i];
    const auto& c = s.code;
    std::vector<std::string> row{config::to_string(c.product),
                                 who[i],
                                 or_dash(c.region.empty() ? c.order_id : c.region),
                                 c.id,
                                 or_dash(c.name),
                                 model::to_string(s.state),
                                 used_text(c),
                                 expires_text(c.expires_at, now),
                                 s.exhaustion_forecast ? expires_text(s.exhaustion_forecast, now) : std::string("-")};
    if (all) {
      row.emplace_back(is_watched[i] ? "yes" : "no longer watched");
    }
    table.add(std::move(row));
  }
  table.print(std::cout);
  std::cout << codes->size() << " code(s)\n";
  return 0;
}

}  // namespace acmon::cli
