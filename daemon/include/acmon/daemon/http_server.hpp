// The daemon's HTTP server (libmicrohttpd): a few fixed routes, an event loop that slow or idle
// clients cannot hold, and bounds on connections, request size and idle time.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acmon/core/result.hpp"
#include "acmon/daemon/web_config.hpp"

struct MHD_Connection;
struct MHD_Daemon;

namespace acmon::daemon {

// What bounds one server. The defaults are the daemon's.
struct HttpLimits {
  // Connections open at once; more wait in the kernel's listen backlog, costing no descriptor.
  unsigned connections = 512;
  // Connections from one client address (0: no limit), so that one host never takes them all.
  unsigned per_address = 384;
  // A connection that sends and reads nothing this long is closed.
  std::chrono::seconds idle_timeout{10};
  // A request's line and headers must have arrived this long after the connection opened or the
  // previous response ended; a client that trickles them is closed then.
  std::chrono::seconds request_timeout{10};
  // Memory per connection: the request line and headers (so their count and bytes) and the send
  // buffer. A request that does not fit is answered 431 and closed.
  std::size_t connection_memory = 32 * 1024;
  // Event loops (epoll); connections are spread over them.
  unsigned threads = 2;
  // Streamed bodies being written at once; one more request for one is answered 503.
  unsigned streams = 8;
  // Bytes a stream renders ahead of its client.
  std::size_t stream_buffer = 256 * 1024;
};

// One request, as a handler sees it; valid only during the handler's call.
class HttpRequest {
 public:
  [[nodiscard]] const std::string& method() const { return m_method; }
  [[nodiscard]] const std::string& path() const { return m_path; }
  // A request header (case-insensitive name), if present.
  [[nodiscard]] std::optional<std::string> header(const std::string& name) const;

 private:
  friend struct HttpServerAccess;
  HttpRequest(MHD_Connection* connection, std::string method, std::string path)
      : m_connection(connection), m_method(std::move(method)), m_path(std::move(path)) {}
  MHD_Connection* m_connection;
  std::string m_method;
  std::string m_path;
};

// Hands a streamed body its bytes in pieces; blocks while the client is behind. Returns false once
// the client has gone or the server stops: the pieces are dropped and the body may end early.
using HttpWriter = std::function<bool(std::string_view)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // more headers (Content-Encoding, …)
  std::string body;
  // When set, the body: run on a thread of its own and sent as it is written (chunked), so a large
  // page is never held whole and neither its rendering nor a slow reader holds the event loop.
  std::function<void(const HttpWriter&)> stream;
  // A streamed body is gzip-compressed on its thread (Content-Encoding: gzip) when the request's
  // Accept-Encoding accepts gzip, and sent as written otherwise; either way with
  // Vary: Accept-Encoding. False: always as written.
  bool compress = true;
};

// Whether an Accept-Encoding value accepts gzip (RFC 9110): "gzip" (or "x-gzip") with a q-value
// above 0, or "*" with one when gzip is not named. No header: no.
bool accepts_gzip(std::string_view accept_encoding);

// Answers one request; called on a server thread (several at once), so it must be thread-safe.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Routes fixed before start(); GET routes answer HEAD too. Unknown paths are 404, other methods
// 405. Move-free; the destructor stops it. A web configuration (set_web) adds TLS and basic
// authentication, checked before the routes: every path, known or not, wants them (bcrypt runs on
// a thread of the server's own, never on an event loop).
class HttpServer {
 public:
  explicit HttpServer(HttpLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The web configuration: before start() (with TLS, start() serves HTTPS) or after (a reload):
  // new users and passwords apply to the next request, a new certificate, client CAs and
  // client_auth_type to the next connection. Whether TLS is spoken at all is fixed by start(): a
  // change of it is kept for a restart and said in the returned note (empty otherwise). Null: none.
  std::string set_web(std::shared_ptr<const WebConfig> web);

  // Before start() only.
  void route(const std::string& method, const std::string& path, HttpHandler handler);

  // Binds host:port (an IPv4 or IPv6 literal or a name; port 0 picks a free one) and serves on
  // the server's own threads. The error (kind network) names the address and the reason.
  Result<void> start(const std::string& host, int port);
  // The bound port, after start().
  [[nodiscard]] int port() const { return m_port; }
  // Closes the listener and every connection, tells streams in flight that their client has gone
  // and waits for their threads (a stream that goes on writing anyway is waited for to its end: a
  // /metrics page of 100,000 codes takes under 0.1 s, about 0.2 s gzipped). Idempotent.
  void stop();

  struct Stream;  // a streamed body in flight (private to the implementation)
  struct Shared;  // what the server threads share (private to the implementation)

 private:
  friend struct HttpServerAccess;
  HttpLimits m_limits;
  std::map<std::pair<std::string, std::string>, HttpHandler> m_routes;  // by (method, path)
  std::shared_ptr<Shared> m_shared;
  MHD_Daemon* m_daemon = nullptr;
  int m_port = 0;
};

}  // namespace acmon::daemon
