// The configuration file (TOML), exactly as SPEC.md describes it, validated as a whole.
// Loading throws ConfigError: configuration is read at the edge (start-up, reload) only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace acmon::config {

enum class Product { smc, ecs, polardb };
const char* to_string(Product p);
// The API version acmon speaks to the product (its x-acs-version / Version): the one table of them.
const char* api_version(Product p);
std::optional<Product> parse_product(std::string_view s);

enum class SignatureVersion { v1, v3 };

// Alert thresholds; durations in seconds, usage as a fraction of the limit.
struct Thresholds {
  std::int64_t expiry_warning = std::int64_t{7} * 86400;
  std::int64_t expiry_critical = 86400;
  double usage_warning = 0.80;
  double usage_critical = 0.95;
};

struct ThresholdOverrides {
  std::optional<std::int64_t> expiry_warning;
  std::optional<std::int64_t> expiry_critical;
  std::optional<double> usage_warning;
  std::optional<double> usage_critical;
  [[nodiscard]] Thresholds apply(const Thresholds& base) const;
};

enum class CredentialSource {
  static_key,  // access_key_id with access_key_secret_file or access_key_secret_env
  env,         // ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN
  profile,     // a profile of the credentials file or of the aliyun CLI configuration
  ram_role,    // the ECS instance RAM role, from the metadata service
  chain,       // "default": Alibaba's default credential chain, in its order
  oidc,        // AssumeRoleWithOIDC with a token file (Kubernetes RRSA)
  uri,         // a credentials URI answering temporary credentials
};

struct Account {
  std::string name;
  CredentialSource source = CredentialSource::static_key;
  std::string access_key_id;
  std::string secret_file;         // static_key: a file holding the secret
  std::string secret_env;          // static_key: an environment variable holding the secret
  std::string security_token_env;  // static_key: optional STS token variable
  std::string source_arg;          // profile name, role name or credentials URI
  // oidc: empty values come from ALIBABA_CLOUD_ROLE_ARN, _OIDC_PROVIDER_ARN, _OIDC_TOKEN_FILE.
  std::string role_arn;
  std::string oidc_provider_arn;
  std::string oidc_token_file;
  // The credentials above assume this role (AssumeRole) when set.
  std::string assume_role;
  std::string external_id;
  std::string role_session_name;  // empty: "acmon"
  std::string sts_endpoint;       // empty: https://sts.aliyuncs.com (or ALIBABA_CLOUD_STS_REGION's)
  int line = 0;
};

// [[organizations]]: a Resource Directory, every usable member reached through one identity.
struct Organization {
  std::string name;
  std::string account;  // the [[accounts]] entry holding the management account's credentials
  std::string role = "ResourceDirectoryAccountAccessRole";  // assumed in each member
  bool include_management = true;
  std::int64_t refresh = 3600;  // seconds between listings of the members
  std::string endpoint = "https://resourcemanager.aliyuncs.com";
  int line = 0;
};

// One member of an organization as ListAccounts answered it (filled at run time, never read from
// the file). The management account, when included, is a member with management = true.
struct Member {
  std::string account_id;  // 16 digits
  std::string display_name;
  std::string status;
  std::string folder_id;
  bool management = false;
};

struct Collector {
  std::string name;
  std::string account;  // an [[accounts]] or an [[organizations]] name
  Product product = Product::smc;
  std::vector<std::string> regions;    // ecs only; {"*"} means discover
  std::vector<std::string> order_ids;  // polardb only
  std::int64_t interval = 300;         // seconds
  std::int64_t timeout = 10;           // seconds, per HTTP request
  double rate_limit = 10;              // requests a second per account × API × region; 0: unpaced
  std::string endpoint;                // empty: the product's default
  SignatureVersion signature = SignatureVersion::v3;
  ThresholdOverrides thresholds;
  int utc_offset = 0;  // polardb: seconds east of UTC of its zone-less times
  int line = 0;
  // Not read from the file: when a reload made the interval shorter (Unix seconds). A scope is
  // judged stale against the new interval only from then: before it, it ran on the old one.
  std::optional<std::int64_t> interval_shortened_at;
};

struct Notify {
  enum class Type { alertmanager, webhook };
  Type type = Type::alertmanager;
  std::string url;
  int line = 0;
};

struct Daemon {
  std::string database = "/var/lib/acmon/acmon.db";
  std::string listen = "127.0.0.1:9796";
  std::string web_config;  // exporter-toolkit web configuration (TLS, basic auth); empty: none
  std::string log_level = "info";
  std::int64_t retention = std::int64_t{400} * 86400;  // seconds
  int concurrency = 8;                                 // scopes listed at once
  int shard_index = 0;                                 // shard = "index/total"
  int shard_total = 1;
};

struct Config {
  std::string path;
  Daemon daemon;
  std::vector<Account> accounts;
  std::vector<Organization> organizations;
  std::vector<Collector> collectors;
  Thresholds alerts;
  std::vector<Notify> notify;
  // Not read from the file: each organization's current members (by organization name), as last
  // listed. An organization absent here has no member scope watched.
  std::map<std::string, std::vector<Member>> members;

  [[nodiscard]] const Account* find_account(std::string_view name) const;
  [[nodiscard]] const Organization* find_organization(std::string_view name) const;
  // The organization a collector's account names; null for a plain account.
  [[nodiscard]] const Organization* organization_of(const Collector& c) const;
  [[nodiscard]] const Collector* find_collector(std::string_view name) const;
};

// "FILE:LINE: KEY: what is wrong". line is 0 where the problem has no single place.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, int line, std::string key, const std::string& what);
  [[nodiscard]] const std::string& file() const { return m_file; }
  [[nodiscard]] int line() const { return m_line; }
  [[nodiscard]] const std::string& key() const { return m_key; }

 private:
  std::string m_file;
  int m_line;
  std::string m_key;
};

// The largest configuration file load_file reads, and the longest collector interval.
constexpr std::size_t k_max_config_bytes = std::size_t{1} << 20;
constexpr std::int64_t k_max_interval = std::int64_t{366} * 86400;

// Reads and validates a configuration file: a regular file of at most k_max_config_bytes.
// Throws ConfigError.
Config load_file(const std::string& path);
// Parses and validates configuration text; source_name stands for the file in messages.
Config parse(std::string_view text, const std::string& source_name);

// The shapes of what the configuration or an API hands on to a request (each bounded in length):
// a region id ("cn-hangzhou": lower-case letters, digits and '-', at most 64), an AliyunOrderId
// (digits, '*' where masked, at most 32), an AccessKey id (letters, digits, '.', '_', '-', at most
// 128), a collector endpoint (http:// or https://, a host, an optional port 1-65535, an optional '/'
// and nothing else).
bool valid_region_id(std::string_view s);
bool valid_order_id(std::string_view s);
bool valid_access_key_id(std::string_view s);
bool valid_endpoint(std::string_view url);
// acs:ram::<16-digit account id>:role/<name>, and the OIDC provider's acs:ram::<id>:oidc-provider/<name>.
bool valid_role_arn(std::string_view arn);
bool valid_oidc_provider_arn(std::string_view arn);
// STS RoleSessionName: 2-64 of A-Z a-z 0-9 . @ _ -
bool valid_role_session_name(std::string_view name);
// A Resource Directory member's AccountId: 16 digits.
bool valid_account_id(std::string_view id);
// A RAM role name: 1-64 of A-Z a-z 0-9 . @ _ -
bool valid_role_name(std::string_view name);

// "host:port" split; nullopt when malformed or the port is out of 0..65535.
std::optional<std::pair<std::string, int>> split_host_port(std::string_view listen);

}  // namespace acmon::config
