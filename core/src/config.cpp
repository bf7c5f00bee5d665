#include "acmon/core/config.hpp"

#include <sys/stat.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "acmon/core/text.hpp"
#include "acmon/core/time.hpp"

namespace acmon::config {

const char* to_string(Product p) {
  switch (p) {
    case Product::smc: return "smc";
    case Product::ecs: return "ecs";
    case Product::polardb: return "polardb";
  }
  return "?";
}

const char* api_version(Product p) {
  switch (p) {
    case Product::smc: return "2019-06-01";
    case Product::ecs: return "2014-05-26";
    case Product::polardb: return "2017-08-01";
  }
  return "?";
}

std::optional<Product> parse_product(std::string_view s) {
  if (s == "smc") {
    return Product::smc;
  }
  if (s == "ecs") {
    return Product::ecs;
  }
  if (s == "polardb") {
    return Product::polardb;
  }
  return std::nullopt;
}

Thresholds ThresholdOverrides::apply(const Thresholds& base) const {
  Thresholds t = base;
  t.expiry_warning = expiry_warning.value_or(t.expiry_warning);
  t.expiry_critical = expiry_critical.value_or(t.expiry_critical);
  t.usage_warning = usage_warning.value_or(t.usage_warning);
  t.usage_critical = usage_critical.value_or(t.usage_critical);
  return t;
}

const Account* Config::find_account(std::string_view name) const {
  auto it = std::find_if(accounts.begin(), accounts.end(), [&](const Account& a) { return a.name == name; });
  return it == accounts.end() ? nullptr : &*it;
}

const Organization* Config::find_organization(std::string_view name) const {
  auto it =
      std::find_if(organizations.begin(), organizations.end(), [&](const Organization& o) { return o.name == name; });
  return it == organizations.end() ? nullptr : &*it;
}

const Organization* Config::organization_of(const Collector& c) const {
  return find_organization(c.account);
}

bool valid_account_id(std::string_view id) {
  return id.size() == 16 && std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_role_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '@' || c == '_' || c == '-';
  });
}

const Collector* Config::find_collector(std::string_view name) const {
  auto it = std::find_if(collectors.begin(), collectors.end(), [&](const Collector& c) { return c.name == name; });
  return it == collectors.end() ? nullptr : &*it;
}

namespace {
// A configuration error is one line of at most this many bytes, whatever the file holds.
constexpr std::size_t k_max_message = 600;
}  // namespace

ConfigError::ConfigError(std::string file, int line, std::string key, const std::string& what)
    : std::runtime_error(cap_text(file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " +
                                      (key.empty() ? std::string() : key + ": ") + what,
                                  k_max_message)),
      m_file(std::move(file)),
      m_line(line),
      m_key(std::move(key)) {}

std::optional<std::pair<std::string, int>> split_host_port(std::string_view listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == listen.size()) {
    return std::nullopt;
  }
  std::string host(listen.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return std::nullopt;
  }
  int port = -1;
  const auto digits = listen.substr(colon + 1);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || p != digits.data() + digits.size() || port < 0 || port > 65535) {
    return std::nullopt;
  }
  return std::make_pair(host, port);
}

namespace {

bool all_of(std::string_view s, bool (*ok)(char)) {
  return std::all_of(s.begin(), s.end(), ok);
}

bool is_lower_or_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// A host name of letters, digits, '-' and '.', or a bracketed IPv6 address.
bool valid_host(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return all_of(host.substr(1, host.size() - 2),
                  [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.'; });
  }
  return !host.empty() && host.size() <= 253 &&
         all_of(host, [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.'; });
}

}  // namespace

bool valid_region_id(std::string_view s) {
  // "cn-hangzhou", "us-west-1", "cn-hangzhou-finance": a lower-case word of two letters or more,
  // then one or more '-' parts of lower-case letters and digits.
  if (s.size() > 64) {
    return false;
  }
  const auto dash = s.find('-');
  if (dash == std::string_view::npos || dash < 2 ||
      !all_of(s.substr(0, dash), [](char c) { return c >= 'a' && c <= 'z'; })) {
    return false;
  }
  std::size_t part = 0;
  for (std::size_t i = dash; i < s.size(); ++i) {
    if (s[i] == '-') {
      if (i + 1 == s.size() || s[i + 1] == '-') {
        return false;
      }
    } else if (!is_lower_or_digit(s[i])) {
      return false;
    }
    ++part;
  }
  return part > 1;
}

bool valid_order_id(std::string_view s) {
  // The documents' sample is "2233****445566": digits, masked with '*' where shown in the console.
  return !s.empty() && s.size() <= 32 && s.find_first_of("0123456789") != std::string_view::npos &&
         all_of(s, [](char c) { return (c >= '0' && c <= '9') || c == '*'; });
}

bool valid_access_key_id(std::string_view s) {
  // "LTAI5t…" for RAM users, "STS.…" for temporary credentials.
  return !s.empty() && s.size() <= 128 && all_of(s, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
  });
}

bool valid_endpoint(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.substr(0, scheme.size()) != scheme) {
      continue;
    }
    auto rest = url.substr(scheme.size());
    if (!rest.empty() && rest.back() == '/') {
      rest.remove_suffix(1);
    }
    // The port follows the last ':' unless that ':' is inside an IPv6 address.
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || (rest.front() == '[' && rest.back() == ']')) {
      return valid_host(rest);
    }
    const auto port = rest.substr(colon + 1);
    int n = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    return valid_host(rest.substr(0, colon)) && !port.empty() && port.size() <= 5 && ec == std::errc() &&
           p == port.data() + port.size() && n >= 1 && n <= 65535;
  }
  return false;
}

namespace {

bool valid_ram_arn(std::string_view arn, std::string_view kind) {
  constexpr std::string_view k_prefix = "acs:ram::";
  if (arn.size() > 256 || arn.substr(0, k_prefix.size()) != k_prefix) {
    return false;
  }
  arn.remove_prefix(k_prefix.size());
  const auto colon = arn.find(':');
  if (colon != 16 || !all_of(arn.substr(0, colon), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  arn.remove_prefix(colon + 1);
  if (arn.substr(0, kind.size()) != kind || arn.size() == kind.size()) {
    return false;
  }
  return all_of(arn.substr(kind.size()), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' || c == '/' || c == '@';
  });
}

}  // namespace

bool valid_role_arn(std::string_view arn) {
  return valid_ram_arn(arn, "role/");
}

bool valid_oidc_provider_arn(std::string_view arn) {
  return valid_ram_arn(arn, "oidc-provider/");
}

bool valid_role_session_name(std::string_view name) {
  return name.size() >= 2 && name.size() <= 64 && all_of(name, [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '@' || c == '_' || c == '-';
         });
}

Config load_file(const std::string& path) {
  // A directory, a device (/dev/zero never ends) or a FIFO is refused before it is opened.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw ConfigError(path, 0, "", "cannot read the configuration file: " + std::string(std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    throw ConfigError(path, 0, "", "the configuration is not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(path, 0, "", "cannot read the configuration file: " + std::string(std::strerror(errno)));
  }
  // Read one byte more than allowed, so a file that grew after stat() is refused too.
  std::string text(k_max_config_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > k_max_config_bytes) {
    throw ConfigError(path, 0, "",
                      "the configuration file is larger than " + std::to_string(k_max_config_bytes / 1024) + " KiB");
  }
  return parse(text, path);
}

}  // namespace acmon::config
