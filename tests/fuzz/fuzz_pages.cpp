// A Collector listing one scope over pages the fuzzer writes: the input is split at "\n#\n" into
// answers, replayed in order (then the transport fails). Whatever the pages say, the listing ends
// (bounded pages), is complete or an error, and never holds a code twice.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include <spdlog/spdlog.h>

#include "../doubles.hpp"
#include "acmon/collectors/collector.hpp"
#include "fuzz_check.hpp"

using namespace acmon;

namespace {

class Replay final : public http::Transport {
 public:
  std::vector<std::string_view> pages;
  std::size_t next = 0;
  Result<http::Response> send(const http::Request& /*r*/) override {
    if (next >= pages.size()) {
      return make_error(ErrorKind::network, "no more pages");
    }
    std::string_view page = pages[next++];
    http::Response r;
    r.status = 200;
    // A page may start with a status: "503 {...}".
    if (page.size() >= 4 && page[3] == ' ' && page[0] >= '1' && page[0] <= '5') {
      r.status = (page[0] - '0') * 100 + (page[1] - '0') * 10 + (page[2] - '0');
      page.remove_prefix(4);
    }
    r.body = std::string(page);
    return r;
  }
};

}  // namespace

// Skipped regions are logged; thousands of warnings a second would only slow the run.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 64 * 1024) {
    return 0;
  }
  const auto product = static_cast<config::Product>(data[0] % 3);
  const bool discover = (data[0] & 0x10) != 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  Replay transport;
  while (true) {
    const auto cut = text.find("\n#\n");
    transport.pages.push_back(text.substr(0, cut));
    if (cut == std::string_view::npos) {
      break;
    }
    text.remove_prefix(cut + 3);
  }
  ManualClock clock(1700000000);
  acmon::testing::NoSleep sleeper;
  api::RetryPolicy policy;
  policy.max_attempts = 2;
  api::Client client(transport, clock, sleeper, policy);
  acmon::testing::FixedCredentials creds{"LTAIfuzz", "fuzz-secret"};
  config::Collector cfg;
  cfg.name = "fuzz";
  cfg.account = "a";
  cfg.product = product;
  cfg.regions = {discover ? "*" : "cn-hangzhou"};
  cfg.order_ids = {"2233000000001"};
  collectors::Collector collector(cfg, client, creds);
  auto scopes = collector.scopes();
  if (!scopes) {
    fuzz::check_error(scopes.error());
    return 0;
  }
  for (const auto& scope : *scopes) {
    fuzz::check(scope.product != config::Product::ecs || config::valid_region_id(scope.region),
                "a scope with a region that is not a region id", scope.region);
    int pages = 0;
    auto listing = collector.list(scope, &pages);
    fuzz::check(pages <= static_cast<int>(transport.pages.size()) + 1, "more requests than answers");
    if (!listing) {
      fuzz::check_error(listing.error());
      continue;
    }
    std::set<std::string> ids;
    for (const auto& c : listing->codes) {
      fuzz::check(ids.insert(c.id).second, "a code listed twice", c.id);
    }
  }
  return 0;
}
