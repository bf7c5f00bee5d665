#include "acmon/daemon/http_server.hpp"

#include <microhttpd.h>
#include <spdlog/spdlog.h>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include "http_connections.hpp"
#include "http_gzip.hpp"
#include "listen_socket.hpp"
#include "web_tls.hpp"

namespace acmon::daemon {

// A streamed body between its producer thread (which renders) and the event loop (which sends):
// at most `limit` bytes wait in between, so the producer waits for a slow client. The event loop
// never waits for the producer: with nothing to send it suspends the connection, and the producer
// resumes it (under `mutex`, so that a stop never finds a connection left suspended).
struct HttpServer::Stream {
  Stream(MHD_Connection* c, std::size_t buffer) : connection(c), limit(buffer) {}
  std::mutex mutex;
  std::condition_variable cv;  // wakes the producer
  MHD_Connection* connection;
  std::deque<std::string> chunks;
  std::size_t queued = 0;        // bytes in chunks
  std::size_t front_offset = 0;  // bytes of chunks.front() already sent
  bool finished = false;         // the producer returned
  bool cancelled = false;        // the connection is gone or the server stops
  bool suspended = false;        // the event loop waits for the producer
  std::size_t limit;
  std::atomic<bool> done{false};  // the producer thread has nothing left to do

  // With the mutex held: hands the connection back to its event loop if it waits.
  void resume_locked() {
    if (suspended) {
      suspended = false;
      MHD_resume_connection(connection);
    }
  }
};

namespace {

constexpr int k_backlog = 128;
constexpr std::size_t k_stream_block = 32 * 1024;

ssize_t read_stream(void* cls, std::uint64_t /*pos*/, char* buf, std::size_t max) {
  auto& s = **static_cast<std::shared_ptr<HttpServer::Stream>*>(cls);
  std::unique_lock lock(s.mutex);
  if (s.cancelled) {
    return MHD_CONTENT_READER_END_WITH_ERROR;
  }
  if (s.chunks.empty()) {
    if (s.finished) {
      return MHD_CONTENT_READER_END_OF_STREAM;
    }
    // Nothing rendered yet: out of the event loop until the producer has something.
    s.suspended = true;
    MHD_suspend_connection(s.connection);
    return 0;
  }
  std::size_t n = 0;
  while (n < max && !s.chunks.empty()) {
    const std::string& front = s.chunks.front();
    const std::size_t take = std::min(max - n, front.size() - s.front_offset);
    // libmicrohttpd's byte buffer, not a C string: no terminator belongs there.
    std::memcpy(buf + n, front.data() + s.front_offset, take);  // NOLINT(bugprone-not-null-terminated-result)
    n += take;
    s.front_offset += take;
    if (s.front_offset == front.size()) {
      s.queued -= front.size();
      s.chunks.pop_front();
      s.front_offset = 0;
    }
  }
  // The producer, waiting for room, is woken once half the buffer is free, not for every block.
  if (s.queued <= s.limit / 2) {
    lock.unlock();
    s.cv.notify_all();
  }
  return static_cast<ssize_t>(n);
}

// The response is gone (sent, the client left, or the server stops): the producer drops the rest.
void free_stream(void* cls) {
  auto* s = static_cast<std::shared_ptr<HttpServer::Stream>*>(cls);
  {
    std::lock_guard lock((*s)->mutex);
    (*s)->cancelled = true;
  }
  (*s)->cv.notify_all();
  delete s;
}

}  // namespace

std::optional<std::string> HttpRequest::header(const std::string& name) const {
  const char* v = MHD_lookup_connection_value(m_connection, MHD_HEADER_KIND, name.c_str());
  if (v == nullptr) {
    return std::nullopt;
  }
  return std::string(v);
}

HttpServer::HttpServer(HttpLimits limits) : m_limits(limits), m_shared(std::make_shared<Shared>()) {
  m_shared->request_timeout = limits.request_timeout;
}

HttpServer::~HttpServer() {
  stop();
}

std::string HttpServer::set_web(std::shared_ptr<const WebConfig> web) {
  std::lock_guard lock(m_shared->mutex);
  std::string note;
  const bool tls = web && web->tls;
  if (m_daemon != nullptr && tls != m_shared->tls) {
    note = tls ? "tls_server_config added: HTTPS takes effect after a restart"
               : "tls_server_config removed: plain HTTP takes effect after a restart";
    // The server keeps speaking as it started; its users (and identity, while it has one) change.
    auto kept = web ? std::make_shared<WebConfig>(*web) : std::make_shared<WebConfig>();
    if (!kept->auth) {
      kept->auth = std::make_shared<BasicAuth>();
    }
    kept->tls = m_shared->web ? m_shared->web->tls : std::nullopt;
    web = std::move(kept);
  }
  m_shared->web = std::move(web);
  return note;
}

void HttpServer::route(const std::string& method, const std::string& path, HttpHandler handler) {
  m_routes[{method, path}] = std::move(handler);
}

namespace {

// Queues r with resp as its body (r.body when resp is null); consumes resp.
MHD_Result queue(MHD_Connection* connection, const HttpResponse& r, MHD_Response* resp = nullptr) {
  if (resp == nullptr) {
    resp = MHD_create_response_from_buffer(r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  }
  if (resp == nullptr) {
    return MHD_NO;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type.c_str());
  for (const auto& [name, value] : r.headers) {
    MHD_add_response_header(resp, name.c_str(), value.c_str());
  }
  const MHD_Result ret = MHD_queue_response(connection, static_cast<unsigned>(r.status), resp);
  MHD_destroy_response(resp);
  return ret;
}

}  // namespace

// The event loop's side of a request: route, run the handler, queue its answer.
struct HttpServerAccess {
  static MHD_Result handle(HttpServer& server, MHD_Connection* connection, const std::string& method,
                           const std::string& path, void** con_cls) {
    {
      std::lock_guard lock(server.m_shared->mutex);
      if (auto p = server.m_shared->pending.find(connection); p != server.m_shared->pending.end()) {
        p->second.waiting = false;
      }
    }
    HttpResponse refusal;
    switch (check_access(*server.m_shared, connection, con_cls, refusal)) {
      case Access::refused: return queue(connection, refusal);
      case Access::pending: return MHD_YES;  // suspended: called again once the password is checked
      case Access::allowed: break;
    }
    const bool head = method == MHD_HTTP_METHOD_HEAD;
    auto it = server.m_routes.find({head ? std::string(MHD_HTTP_METHOD_GET) : method, path});
    if (it == server.m_routes.end()) {
      std::string allow;
      for (const auto& [key, handler] : server.m_routes) {
        if (key.second == path) {
          allow += (allow.empty() ? "" : ", ") + key.first;
        }
      }
      if (allow.empty()) {
        return queue(connection, text(404, "not found\n"));
      }
      auto r = text(405, "method not allowed\n");
      r.headers.emplace_back("Allow", allow);
      return queue(connection, r);
    }
    HttpResponse r;
    try {
      r = it->second(HttpRequest(connection, method, path));
    } catch (const std::exception& e) {
      spdlog::error("http: {} {}: {}", method, path, e.what());
      r = text(500, "internal error\n");
    }
    if (!r.stream) {
      return queue(connection, r);
    }
    bool gzip = false;
    if (r.compress) {
      const char* accept = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
      gzip = accept != nullptr && accepts_gzip(accept);
      r.headers.emplace_back(MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
      if (gzip) {
        r.headers.emplace_back(MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
      }
    }
    if (head) {
      r.stream = nullptr;
      return queue(connection, r);
    }
    return start_stream(server, connection, std::move(r), gzip);
  }

  static MHD_Result start_stream(HttpServer& server, MHD_Connection* connection, HttpResponse r, bool gzip) {
    auto& shared = *server.m_shared;
    auto stream = std::make_shared<HttpServer::Stream>(connection, server.m_limits.stream_buffer);
    bool started = false;
    {
      std::lock_guard lock(shared.mutex);
      // Threads whose stream is over are joined here (at once: they are done), so none piles up.
      std::erase_if(shared.streams, [](auto& entry) {
        if (!entry.first->done.load()) {
          return false;
        }
        entry.second.join();
        return true;
      });
      if (!shared.stopping && shared.streams.size() < server.m_limits.streams) {
        try {
          shared.streams.emplace_back(stream, std::thread(produce, stream, std::move(r.stream), gzip));
          started = true;
        } catch (const std::system_error& e) {
          spdlog::warn("http: cannot start a thread for a streamed response: {}", e.what());
        }
      }
    }
    if (!started) {
      auto busy = text(503, "busy: too many responses in progress, retry\n");
      busy.headers.emplace_back("Retry-After", "1");
      return queue(connection, busy);
    }
    auto* cls = new std::shared_ptr<HttpServer::Stream>(stream);
    MHD_Response* resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, k_stream_block, &read_stream, cls, &free_stream);
    if (resp == nullptr) {
      free_stream(cls);  // the producer stops
      return MHD_NO;
    }
    return queue(connection, r, resp);
  }

  // A producer thread: renders the body into the stream until it ends or the client is gone.
  static void produce(const std::shared_ptr<HttpServer::Stream>& stream,
                      const std::function<void(const HttpWriter&)>& render, bool gzip) {
    const HttpWriter writer = [&stream](std::string_view piece) {
      std::unique_lock slock(stream->mutex);
      stream->cv.wait(slock, [&] { return stream->cancelled || stream->queued < stream->limit; });
      if (stream->cancelled) {
        return false;
      }
      if (piece.empty()) {
        return true;
      }
      if (!stream->chunks.empty() && stream->chunks.back().size() + piece.size() <= k_stream_block) {
        stream->chunks.back().append(piece);  // small pieces travel together
      } else {
        stream->chunks.emplace_back(piece);
      }
      stream->queued += piece.size();
      stream->resume_locked();
      return true;
    };
    try {
      if (!gzip) {
        render(writer);
      } else if (!render_gzipped(render, writer)) {
        // The client has gone, or zlib failed: a gzip body cut short must not end as a complete one.
        std::lock_guard slock(stream->mutex);
        stream->cancelled = true;
      }
    } catch (const std::exception& e) {
      spdlog::error("http: a streamed response failed: {}", e.what());
      std::lock_guard slock(stream->mutex);
      stream->cancelled = true;  // the client sees the response cut short, not a complete one
    } catch (...) {
      spdlog::error("http: a streamed response failed");
      std::lock_guard slock(stream->mutex);
      stream->cancelled = true;
    }
    {
      std::lock_guard slock(stream->mutex);
      stream->finished = true;
      stream->resume_locked();
    }
    stream->done = true;
  }
};

namespace {

MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url, const char* method,
                      const char* /*version*/, const char* /*upload_data*/, std::size_t* /*upload_data_size*/,
                      void** con_cls) {
  try {
    return HttpServerAccess::handle(*static_cast<HttpServer*>(cls), connection, method, url, con_cls);
  } catch (const std::exception& e) {  // out of memory: nothing may cross into C
    spdlog::error("http: {} {}: {}", method, url, e.what());
    return MHD_NO;
  }
}

}  // namespace

Result<void> HttpServer::start(const std::string& host, int port) {
  const std::string where =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  auto sock = open_listen_socket(host, port, k_backlog, where);
  if (!sock) {
    return sock.error();
  }
  m_port = sock->port;

  std::vector<MHD_OptionItem> options{
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&log_mhd), nullptr},
      {MHD_OPTION_LISTEN_SOCKET, sock->fd, nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(m_limits.connections), nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(m_limits.idle_timeout.count()), nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(m_limits.connection_memory), nullptr},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&on_connection), m_shared.get()},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&on_completed), m_shared.get()},
  };
  if (m_limits.per_address > 0) {
    options.push_back({MHD_OPTION_PER_IP_CONNECTION_LIMIT, static_cast<intptr_t>(m_limits.per_address), nullptr});
  }
  std::shared_ptr<const TlsIdentity> identity;
  {
    std::lock_guard lock(m_shared->mutex);
    if (m_shared->web && m_shared->web->tls) {
      identity = m_shared->web->tls->identity;
      if (!identity) {  // parsed but not loaded: never a silent fall back to plain HTTP
        ::close(sock->fd);
        return make_error(ErrorKind::config, "cannot serve " + where + ": the TLS certificate was not loaded");
      }
    }
    m_shared->tls = identity != nullptr;
  }
  if (identity) {
    // libmicrohttpd wants a certificate to start with; each connection is then given the identity
    // of the web configuration it opens under (on_connection).
    options.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(identity->cert_pem().c_str())});
    options.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(identity->key_pem().c_str())});
  }
  if (m_limits.threads > 1) {
    options.push_back({MHD_OPTION_THREAD_POOL_SIZE, static_cast<intptr_t>(m_limits.threads), nullptr});
  }
  options.push_back({MHD_OPTION_END, 0, nullptr});
  // epoll event loops on threads of their own (never a thread per connection); ITC so that stop()
  // wakes them at once.
  unsigned flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  if (sock->family == AF_INET6) {
    flags |= MHD_USE_IPv6;
  }
  if (identity) {
    flags |= MHD_USE_TLS;
  }
  // spdlog builds its registry on first use; build it here, before the server's threads exist, so
  // their first log line does not race with its construction.
  (void)spdlog::default_logger_raw();
  m_daemon =
      MHD_start_daemon(flags, 0, nullptr, nullptr, &on_request, this, MHD_OPTION_ARRAY, options.data(), MHD_OPTION_END);
  if (m_daemon == nullptr) {
    ::close(sock->fd);
    return make_error(ErrorKind::network, "cannot listen on " + where + ": the HTTP server did not start");
  }
  // The socket is the daemon's now, until stop() takes it back.
  m_shared->watcher = std::thread([shared = m_shared.get()] { watch_deadlines(*shared); });
  // The worker shares the state: a stop may leave it to finish a long bcrypt run on its own.
  m_shared->auth_worker = std::thread([shared = m_shared] { check_passwords(*shared); });
  return {};
}

void HttpServer::stop() {
  if (m_daemon == nullptr) {
    return;
  }
  bool checking = false;
  {
    std::lock_guard lock(m_shared->mutex);
    m_shared->stopping = true;
    m_shared->cv.notify_all();
    // Connections waiting for a password check are resumed (refused) before the daemon stops.
    checking = refuse_password_checks(*m_shared);
    for (auto& [stream, thread] : m_shared->streams) {
      {
        std::lock_guard slock(stream->mutex);
        stream->cancelled = true;
        stream->resume_locked();  // no connection may stay suspended through MHD_stop_daemon
      }
      stream->cv.notify_all();
    }
  }
  m_shared->auth_cv.notify_all();
  if (m_shared->auth_worker.joinable()) {
    if (checking) {
      m_shared->auth_worker.detach();  // a bcrypt run (up to cost 31) never delays a stop
    } else {
      m_shared->auth_worker.join();
    }
  }
  const MHD_socket listener = MHD_quiesce_daemon(m_daemon);  // no new connections from here on
  MHD_stop_daemon(m_daemon);                                 // closes every connection, joins the loops
  m_daemon = nullptr;
  if (listener != MHD_INVALID_SOCKET) {
    ::close(listener);
  }
  if (m_shared->watcher.joinable()) {
    m_shared->watcher.join();
  }
  std::vector<std::pair<std::shared_ptr<Stream>, std::thread>> streams;
  {
    std::lock_guard lock(m_shared->mutex);
    streams.swap(m_shared->streams);
  }
  for (auto& [stream, thread] : streams) {
    thread.join();
  }
}

}  // namespace acmon::daemon
