// HTTP transport: an interface collectors depend on, and its libcurl implementation.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "acmon/core/result.hpp"

namespace acmon::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The largest response body accepted, after decoding (a page of 50 codes is well under 1 MiB).
constexpr std::size_t k_max_body = std::size_t{16} << 20;

struct Request {
  std::string method = "GET";  // GET, POST, PUT
  std::string url;
  Headers headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{10000};  // total, per attempt
  std::size_t max_body = k_max_body;         // decoded bytes; a larger answer is refused
};

struct Response {
  int status = 0;
  std::string body;
  Headers headers;  // names lower-cased
  [[nodiscard]] std::string header(std::string_view name) const;
};

// Sends one request, exactly once. Transport failures are Errors of kind network or timeout
// (a connection closed before or during the answer: "connection dropped"); a body over max_body
// is an Error of kind parse; any HTTP status, 4xx and 5xx included, is a Response.
// Implementations are thread-safe.
class Transport {
 public:
  virtual ~Transport() = default;
  [[nodiscard]] virtual Result<Response> send(const Request& request) = 0;
};

// libcurl: TLS verification always on, proxies from the environment (curl's own
// http_proxy/https_proxy/no_proxy handling), keep-alive with handle reuse per thread,
// User-Agent "acmon/<version>".
class CurlTransport final : public Transport {
 public:
  CurlTransport();
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  [[nodiscard]] Result<Response> send(const Request& request) override;

  // While *flag is true, transfers in flight and new ones stop at once with a network error
  // ("cancelled"). For a prompt shutdown; the flag must outlive the transport.
  void set_cancel_flag(const std::atomic<bool>* flag) { m_cancel = flag; }

  // Closes the handles kept for reuse, with their connections (TLS sessions, buffers). The daemon
  // calls it when no run is under way: a server closes an idle connection long before the next run.
  void close_idle();

 private:
  const std::atomic<bool>* m_cancel = nullptr;
  struct Pool;
  std::unique_ptr<Pool> m_pool;
};

std::string user_agent();

}  // namespace acmon::http
