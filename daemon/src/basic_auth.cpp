#include "acmon/daemon/basic_auth.hpp"

#include <crypt.h>

#include <array>
#include <cstring>
#include <memory>

#include "acmon/core/crypto.hpp"

namespace acmon::daemon {

namespace {

// Checked against when the user is unknown, so that an unknown user takes as long as a known one.
constexpr const char* k_dummy_hash = "$2b$10$HGDoUpH/RDr4bfJzJBIUne91HSEo63uXUihTmcVfZsOEDLTc92MRG";

bool is_salt_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '/';
}

}  // namespace

BasicAuth::BasicAuth(std::map<std::string, std::string> users) : m_users(std::move(users)) {}

bool BasicAuth::valid_hash(std::string_view hash) {
  if (hash.size() != 60 || hash.substr(0, 2) != "$2" || (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') ||
      hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9' || cost < 4 || cost > 31) {
    return false;
  }
  for (const char c : hash.substr(7)) {
    if (!is_salt_char(c)) {
      return false;
    }
  }
  // libxcrypt has the last word (without running bcrypt, whose cost may be high): it must take the
  // hash as a setting of a method it has enabled.
  const std::string setting(hash);
  return crypt_checksalt(setting.c_str()) == CRYPT_SALT_OK;
}

bool BasicAuth::bcrypt_matches(const std::string& password, const std::string& hash) const {
  m_runs.fetch_add(1);
  auto data = std::make_unique<crypt_data>();  // about 32 KiB: not on a server thread's stack
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  return out != nullptr && out[0] == '$' && crypto::equal_ct(out, hash);
}

std::string BasicAuth::cache_key(const std::string& user, const std::string& password, const std::string& hash) const {
  std::string key = user;
  key.push_back('\0');
  key += password;
  key.push_back('\0');
  key += hash;
  return crypto::sha256_hex(key);
}

std::optional<bool> BasicAuth::check_fast(const std::string& user, const std::string& password) const {
  if (password.find('\0') != std::string::npos) {
    return false;  // crypt_r would see only what comes before it
  }
  const auto it = m_users.find(user);
  if (it == m_users.end()) {
    return std::nullopt;  // an unknown user costs a bcrypt run like a known one
  }
  const std::string digest = cache_key(user, password, it->second);
  std::lock_guard lock(m_mutex);
  if (auto c = m_cache.find(user); c != m_cache.end() && crypto::equal_ct(c->second, digest)) {
    return true;
  }
  return std::nullopt;
}

bool BasicAuth::check(const std::string& user, const std::string& password) const {
  if (auto fast = check_fast(user, password)) {
    return *fast;
  }
  const auto it = m_users.find(user);
  if (it == m_users.end()) {
    (void)bcrypt_matches(password, k_dummy_hash);
    return false;
  }
  if (!bcrypt_matches(password, it->second)) {
    return false;
  }
  const std::string digest = cache_key(user, password, it->second);
  std::lock_guard lock(m_mutex);
  m_cache[user] = digest;
  return true;
}

std::optional<std::pair<std::string, std::string>> BasicAuth::parse_header(std::string_view authorization) {
  constexpr std::string_view k_scheme = "basic ";
  if (authorization.size() <= k_scheme.size()) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < k_scheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != k_scheme[i]) {
      return std::nullopt;
    }
  }
  std::string_view b64 = authorization.substr(k_scheme.size());
  while (!b64.empty() && b64.front() == ' ') {
    b64.remove_prefix(1);
  }
  while (!b64.empty() && b64.back() == ' ') {
    b64.remove_suffix(1);
  }
  const auto decoded = crypto::base64_decode(b64);
  if (!decoded) {
    return std::nullopt;
  }
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  return std::pair{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

bool BasicAuth::check_header(std::string_view authorization) const {
  const auto credentials = parse_header(authorization);
  return credentials && check(credentials->first, credentials->second);
}

}  // namespace acmon::daemon
