// One Alibaba Cloud RPC call: sign, send, classify the answer, retry what can be retried.
#pragma once

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "acmon/core/config.hpp"
#include "acmon/core/credentials.hpp"
#include "acmon/core/http.hpp"
#include "acmon/core/result.hpp"
#include "acmon/core/signing.hpp"
#include "acmon/core/time.hpp"

namespace simdjson::dom {
class element;
}  // namespace simdjson::dom

namespace acmon::api {

class Pacer;

struct Call {
  std::string product;   // "smc", "ecs", "polardb": a metrics label
  std::string endpoint;  // "https://smc.aliyuncs.com" (scheme and host[:port], no path)
  std::string action;
  std::string version;
  signing::Params params;
  config::SignatureVersion signature = config::SignatureVersion::v3;
  std::chrono::milliseconds timeout{10000};
  // Pace (optional): every attempt waits for its slot of pace_key at `rate` requests a second;
  // Throttling* answers slow the key down.
  Pacer* pacer = nullptr;
  std::string pace_key;
  double rate = 0;
};

// Capped exponential backoff with jitter: attempt n (from 1) waits a random time in
// [d/2, d] where d = min(cap, base * 2^(n-1)).
struct RetryPolicy {
  int max_attempts = 4;
  std::chrono::milliseconds base{250};
  std::chrono::milliseconds cap{8000};
};

// Waits between attempts; tests record the delays instead of sleeping.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void sleep(std::chrono::milliseconds d) = 0;
};

class RealSleeper final : public Sleeper {
 public:
  void sleep(std::chrono::milliseconds d) override;
};

// Told about every attempt, for the acmon_api_* metrics. Must be thread-safe and must not throw.
class Observer {
 public:
  virtual ~Observer() = default;
  // code: the HTTP status ("200") on success, the API error Code, or "network"/"timeout".
  virtual void on_attempt(const std::string& product, const std::string& action, const std::string& code,
                          double seconds) = 0;
  virtual void on_retry(const std::string& product, const std::string& action) = 0;
};

// An API error Code that says "try again", whatever the status it came with: Throttling*,
// ServiceUnavailable, InternalError, SignatureNonceUsed (a request that went out twice).
bool is_transient_code(std::string_view code);

// True for a transient Code (above), 5xx, transport failures (a dropped connection included) and a
// success status whose body is not JSON; false for every other error (other 4xx above all).
bool is_retryable(const Error& e);

// Nothing when the response is a success carrying a JSON object (nesting at most k_max_json_depth);
// otherwise a typed error carrying Code, Message, RequestId, or saying why the body is not one.
Result<void> check_answer(const http::Response& response);

// check_answer keeps a parser on each thread that calls it, so that a listing's pages reuse its
// buffers. This frees the calling thread's (the next answer makes a new one): a worker calls it
// when its run is over, so that idle threads hold none.
void release_thread_parser();

// check_answer, then the JSON document (parse_json_bounded's limits apply).
Result<nlohmann::json> interpret(const http::Response& response);

// The API error a document names when it has a string Code (its Message redacted, its RequestId
// kept, both capped), as answered with HTTP `status`; nullopt without one (not an object, no Code).
// check_answer reads error answers with it, and a collector a list page that lacks its list.
std::optional<Error> error_document(simdjson::dom::element doc, int status);

// Removes what an API error message must not carry into logs (a server's string-to-sign
// echoes the request, security token included).
std::string redact(std::string message);

class Client {
 public:
  Client(http::Transport& transport, const Clock& clock, Sleeper& sleeper, RetryPolicy policy = {},
         Observer* observer = nullptr);

  // Performs the call with credentials from provider; every attempt is signed anew
  // (fresh nonce and time). Thread-safe.
  [[nodiscard]] Result<nlohmann::json> call(const Call& call, CredentialProvider& provider);
  // The same call, answering the body of the success (check_answer passed) for a caller that
  // reads it with its own parser: the collectors' list pages.
  [[nodiscard]] Result<std::string> call_body(const Call& call, CredentialProvider& provider);

  // Builds the signed HTTP request of one attempt (exposed for tests).
  [[nodiscard]] http::Request build(const Call& call, const Credentials& creds, UnixTime now,
                                    const std::string& nonce) const;

 private:
  std::chrono::milliseconds backoff(int attempt);

  http::Transport& m_transport;
  const Clock& m_clock;
  Sleeper& m_sleeper;
  RetryPolicy m_policy;
  Observer* m_observer;
  std::mutex m_rng_mutex;
  std::mt19937_64 m_rng;
};

}  // namespace acmon::api
