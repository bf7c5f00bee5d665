// Test doubles at the seams the client injects: the sleeper between retries and the credentials.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "acmon/core/api.hpp"
#include "acmon/core/credentials.hpp"

namespace acmon::testing {

// Retries without waiting.
class NoSleep final : public api::Sleeper {
 public:
  void sleep(std::chrono::milliseconds /*d*/) override {}
};

// Retries without waiting, each wait recorded. Worker threads sleep through it at once (the pacer
// of a parallel sync), so recording takes a lock; read `delays` once those threads are done.
class RecordingSleeper final : public api::Sleeper {
 public:
  std::vector<std::chrono::milliseconds> delays;
  void sleep(std::chrono::milliseconds d) override {
    std::lock_guard lock(m_mutex);
    delays.push_back(d);
  }

 private:
  std::mutex m_mutex;
};

// The same credentials every time.
class FixedCredentials final : public CredentialProvider {
 public:
  FixedCredentials(std::string id, std::string secret, std::string token = "")
      : m_creds{std::move(id), std::move(secret), std::move(token), 0} {}
  Result<Credentials> get() override { return m_creds; }

 private:
  Credentials m_creds;
};

}  // namespace acmon::testing
