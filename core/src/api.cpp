#include "acmon/core/api.hpp"

#include <thread>

#include "acmon/core/backoff.hpp"
#include "acmon/core/crypto.hpp"
#include "acmon/core/json.hpp"
#include "acmon/core/pace.hpp"
#include "acmon/core/text.hpp"

namespace acmon::api {

void RealSleeper::sleep(std::chrono::milliseconds d) {
  std::this_thread::sleep_for(d);
}

bool is_transient_code(std::string_view code) {
  // A used nonce means a request went out twice; the next attempt carries a fresh one.
  return code.starts_with("Throttling") || code == "ServiceUnavailable" || code == "InternalError" ||
         code == "SignatureNonceUsed";
}

bool is_retryable(const Error& e) {
  switch (e.kind) {
    case ErrorKind::network:
    case ErrorKind::timeout: return true;
    case ErrorKind::api:
    case ErrorKind::http: return e.http_status >= 500 || is_transient_code(e.code);
    case ErrorKind::parse:
      // A success status with a body that is not a JSON object (empty, cut short by a proxy):
      // a transport fault in all but name. A body refused for its size has no status and stays final.
      return e.http_status >= 200 && e.http_status < 300;
    default: return false;
  }
}

std::string redact(std::string message) {
  for (const char* marker : {"string to sign is:", "StringToSign"}) {
    const auto pos = message.find(marker);
    if (pos != std::string::npos) {
      message = message.substr(0, pos) + "[server string-to-sign redacted]";
    }
  }
  return message;
}

Client::Client(http::Transport& transport, const Clock& clock, Sleeper& sleeper, RetryPolicy policy, Observer* observer)
    : m_transport(transport),
      m_clock(clock),
      m_sleeper(sleeper),
      m_policy(policy),
      m_observer(observer),
      m_rng(std::random_device{}()) {}

std::chrono::milliseconds Client::backoff(int attempt) {
  std::lock_guard lock(m_rng_mutex);
  return acmon::backoff(attempt, m_policy.base, m_policy.cap, m_rng);
}

http::Request Client::build(const Call& call, const Credentials& creds, UnixTime now, const std::string& nonce) const {
  http::Request req;
  req.timeout = call.timeout;
  req.connect_timeout = std::min(call.timeout, std::chrono::milliseconds(5000));
  std::string host = call.endpoint;
  if (auto p = host.find("://"); p != std::string::npos) {
    host = host.substr(p + 3);
  }
  if (auto p = host.find('/'); p != std::string::npos) {
    host = host.substr(0, p);
  }
  std::string base = call.endpoint;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  const std::string timestamp = format_rfc3339(now);
  if (call.signature == config::SignatureVersion::v1) {
    signing::Params params = call.params;
    params["Action"] = call.action;
    params["Version"] = call.version;
    signing::V1Input in{creds.access_key_id, timestamp, nonce, creds.security_token};
    signing::v1_sign("GET", params, in, creds.access_key_secret);
    req.method = "GET";
    req.url = base + "/?" + signing::canonical_query(params);
    return req;
  }
  signing::V3Input in;
  in.method = "POST";
  in.host = host;
  in.action = call.action;
  in.version = call.version;
  in.date = timestamp;
  in.nonce = nonce;
  in.security_token = creds.security_token;
  const auto signed_request = signing::v3_sign(in, call.params, creds.access_key_id, creds.access_key_secret);
  req.method = "POST";
  req.url = base + "/";
  if (!call.params.empty()) {
    req.url += "?" + signing::canonical_query(call.params);
  }
  for (const auto& [k, v] : signed_request.headers) {
    if (k != "host") {  // curl sends Host from the URL, identical to what was signed
      req.headers.emplace_back(k, v);
    }
  }
  req.headers.emplace_back("Accept", "application/json");
  return req;
}

Result<nlohmann::json> Client::call(const Call& call, CredentialProvider& provider) {
  auto body = call_body(call, provider);
  if (!body) {
    return body.error();
  }
  return parse_json_bounded(*body);
}

Result<std::string> Client::call_body(const Call& call, CredentialProvider& provider) {
  Error last = make_error(ErrorKind::network, "no attempt was made");
  for (int attempt = 1; attempt <= std::max(1, m_policy.max_attempts); ++attempt) {
    if (attempt > 1) {
      if (m_observer != nullptr) {
        m_observer->on_retry(call.product, call.action);
      }
      m_sleeper.sleep(backoff(attempt - 1));
    }
    auto creds = provider.get();
    if (!creds) {
      return creds.error();
    }
    if (call.pacer != nullptr) {
      call.pacer->acquire(call.pace_key, call.rate, m_sleeper);
    }
    const http::Request req = build(call, *creds, m_clock.now(), crypto::random_hex(16));
    const auto started = std::chrono::steady_clock::now();
    auto resp = m_transport.send(req);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    Result<void> result = resp ? check_answer(*resp) : Result<void>(resp.error());
    if (m_observer != nullptr) {
      std::string code;
      if (result) {
        code = std::to_string(resp->status);
      } else if (!result.error().code.empty()) {
        code = result.error().code;
      } else if (result.error().http_status != 0) {
        code = std::to_string(result.error().http_status);
      } else {
        code = to_string(result.error().kind);
      }
      m_observer->on_attempt(call.product, call.action, code, seconds);
    }
    if (call.pacer != nullptr) {
      if (!result && result.error().code.rfind("Throttling", 0) == 0) {
        call.pacer->throttled(call.pace_key);
      } else {
        call.pacer->answered(call.pace_key);
      }
    }
    if (result) {
      return std::move(resp->body);
    }
    last = result.error();
    if (!is_retryable(last)) {
      return last;
    }
  }
  last.message += " (gave up after " + std::to_string(std::max(1, m_policy.max_attempts)) + " attempts)";
  return last;
}

}  // namespace acmon::api
