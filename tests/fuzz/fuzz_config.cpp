// config::parse on any text: a Config or a ConfigError that is one short line naming the file;
// whatever it accepts has region ids, order ids, AccessKey ids and endpoints of their shapes.
#include <cstddef>
#include <cstdint>

#include "acmon/core/config.hpp"
#include "acmon/core/time.hpp"
#include "fuzz_check.hpp"

using namespace acmon;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  config::Config cfg;
  try {
    cfg = config::parse(text, "fuzz.toml");
  } catch (const config::ConfigError& e) {
    const std::string what = e.what();
    fuzz::check(what.rfind("fuzz.toml", 0) == 0, "a configuration error that does not name the file", what);
    fuzz::check(what.size() <= 1024, "a configuration error longer than 1 KiB", what);
    fuzz::check(what.find_first_of("\r\n") == std::string::npos, "a configuration error with a line break", what);
    return 0;
  }
  fuzz::check(cfg.daemon.retention > 0 && cfg.daemon.retention <= k_max_duration, "a retention out of range");
  for (const auto& a : cfg.accounts) {
    fuzz::check(a.source != config::CredentialSource::static_key || config::valid_access_key_id(a.access_key_id),
                "an access_key_id of the wrong shape", a.access_key_id);
  }
  for (const auto& c : cfg.collectors) {
    fuzz::check(c.interval >= 10 && c.interval <= config::k_max_interval, "an interval out of range");
    fuzz::check(c.timeout > 0 && c.timeout <= 300, "a timeout out of range");
    fuzz::check(c.endpoint.empty() || config::valid_endpoint(c.endpoint), "an endpoint of the wrong shape", c.endpoint);
    for (const auto& r : c.regions) {
      fuzz::check(r == "*" || config::valid_region_id(r), "a region of the wrong shape", r);
    }
    for (const auto& o : c.order_ids) {
      fuzz::check(config::valid_order_id(o), "an order id of the wrong shape", o);
    }
  }
  return 0;
}
