// HTTP basic authentication against bcrypt hashes (the exporter-toolkit's basic_auth_users).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace acmon::daemon {

// Users and their bcrypt hashes ($2y$, $2b$ or $2a$), checked with libxcrypt's crypt_r. bcrypt is
// slow by design, so a successful check is remembered: per user, the SHA-256 of user, password and
// hash, compared in constant time. A wrong password never matches what is remembered (it hashes
// to something else) and always costs a bcrypt run. Thread-safe.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users = {});
  BasicAuth(const BasicAuth&) = delete;
  BasicAuth& operator=(const BasicAuth&) = delete;

  // No users: every request is let in.
  [[nodiscard]] bool empty() const { return m_users.empty(); }
  [[nodiscard]] bool check(const std::string& user, const std::string& password) const;
  // What check would say when it can say it without bcrypt: true for the password remembered for
  // user, false for one that can never pass; nullopt when bcrypt has to decide.
  [[nodiscard]] std::optional<bool> check_fast(const std::string& user, const std::string& password) const;
  // An Authorization header's value, "Basic base64(user:password)": the user and password, or
  // nullopt when it is not that.
  static std::optional<std::pair<std::string, std::string>> parse_header(std::string_view authorization);
  // parse_header, then check.
  [[nodiscard]] bool check_header(std::string_view authorization) const;
  // How many times bcrypt ran (tests: what the cache saves).
  [[nodiscard]] std::uint64_t bcrypt_runs() const { return m_runs.load(); }

  // Whether hash is a bcrypt hash libxcrypt takes (crypt_checksalt, no bcrypt run): $2a$, $2b$ or
  // $2y$, a cost from 04 to 31, 53 characters of salt and digest.
  static bool valid_hash(std::string_view hash);

 private:
  [[nodiscard]] std::string cache_key(const std::string& user, const std::string& password,
                                      const std::string& hash) const;
  [[nodiscard]] bool bcrypt_matches(const std::string& password, const std::string& hash) const;
  std::map<std::string, std::string> m_users;
  mutable std::mutex m_mutex;
  mutable std::map<std::string, std::string> m_cache;  // user → SHA-256 of the last password that passed
  mutable std::atomic<std::uint64_t> m_runs{0};
};

}  // namespace acmon::daemon
