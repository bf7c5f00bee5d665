#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdio>
#include <limits>
#include <string>

#include "http_connections.hpp"
#include "web_tls.hpp"

namespace acmon::daemon {

namespace {

using Steady = std::chrono::steady_clock;

// The TLS identity a connection was given when it opened (its socket context), or null.
const TlsIdentity* identity_of(MHD_Connection* connection) {
  const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  if (info == nullptr || info->socket_context == nullptr) {
    return nullptr;
  }
  return static_cast<std::shared_ptr<const TlsIdentity>*>(info->socket_context)->get();
}

gnutls_session_t session_of(MHD_Connection* connection) {
  const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  return info == nullptr ? nullptr : static_cast<gnutls_session_t>(info->tls_session);
}

}  // namespace

void log_mhd(void* /*cls*/, const char* fmt, va_list ap) {
  static std::atomic<std::int64_t> last{std::numeric_limits<std::int64_t>::min() / 2};
  static std::atomic<int> suppressed{0};
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(Steady::now().time_since_epoch()).count();
  auto prev = last.load();
  if (now - prev < 10 || !last.compare_exchange_strong(prev, now)) {
    suppressed.fetch_add(1);
    return;
  }
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  std::string line(buf);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.pop_back();
  }
  if (const int more = suppressed.exchange(0); more > 0) {
    spdlog::warn("http: {} ({} similar messages suppressed)", line, more);
  } else {
    spdlog::warn("http: {}", line);
  }
}

void on_connection(void* cls, MHD_Connection* connection, void** socket_context, MHD_ConnectionNotificationCode toe) {
  auto& shared = *static_cast<HttpServer::Shared*>(cls);
  std::lock_guard lock(shared.mutex);
  if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
    shared.pending.erase(connection);
    // The session is deinitialised after this without touching its credentials.
    delete static_cast<std::shared_ptr<const TlsIdentity>*>(*socket_context);
    *socket_context = nullptr;
    return;
  }
  const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (info == nullptr) {
    return;
  }
  if (shared.tls) {
    // The session exists and its handshake has not begun: it takes the identity of the web
    // configuration now, for its whole life (a reload's new certificate serves new connections).
    auto identity = shared.web && shared.web->tls ? shared.web->tls->identity : nullptr;
    const gnutls_session_t session = session_of(connection);
    if (!identity || session == nullptr || !identity->configure(session)) {
      ::shutdown(info->connect_fd, SHUT_RDWR);  // its event loop closes it
    } else {
      *socket_context = new std::shared_ptr<const TlsIdentity>(std::move(identity));
    }
  }
  shared.pending[connection] = {info->connect_fd, Steady::now() + shared.request_timeout, true, false};
  shared.cv.notify_all();
}

void on_completed(void* cls, MHD_Connection* connection, void** con_cls, MHD_RequestTerminationCode /*toe*/) {
  auto& shared = *static_cast<HttpServer::Shared*>(cls);
  std::lock_guard lock(shared.mutex);
  delete static_cast<std::shared_ptr<AuthJob>*>(*con_cls);  // a password check's, if any
  *con_cls = nullptr;
  if (auto it = shared.pending.find(connection); it != shared.pending.end()) {
    it->second.deadline = Steady::now() + shared.request_timeout;
    it->second.waiting = true;
    shared.cv.notify_all();
  }
}

void watch_deadlines(HttpServer::Shared& shared) {
  std::unique_lock lock(shared.mutex);
  while (!shared.stopping) {
    const auto now = Steady::now();
    auto next = Steady::time_point::max();
    int cut = 0;
    for (auto& [connection, p] : shared.pending) {
      if (!p.waiting || p.cut) {
        continue;
      }
      if (p.deadline <= now) {
        ::shutdown(p.fd, SHUT_RDWR);
        p.cut = true;
        ++cut;
      } else {
        next = std::min(next, p.deadline);
      }
    }
    if (cut > 0) {
      spdlog::debug("http: closed {} connection(s) that sent no complete request within {} s", cut,
                    shared.request_timeout.count());
    }
    if (next == Steady::time_point::max()) {
      shared.cv.wait(lock);
    } else {
      shared.cv.wait_until(lock, next);
    }
  }
}

Access check_access(HttpServer::Shared& shared, MHD_Connection* connection, void** con_cls, HttpResponse& refusal) {
  std::shared_ptr<const WebConfig> web;
  {
    std::lock_guard lock(shared.mutex);
    web = shared.web;
  }
  if (shared.tls) {
    const TlsIdentity* identity = identity_of(connection);
    const gnutls_session_t session = session_of(connection);
    if (identity == nullptr || session == nullptr || !identity->client_allowed(session)) {
      refusal = text(403, "forbidden: client certificate not accepted\n");
      return Access::refused;
    }
  }
  if (!web || !web->auth || web->auth->empty()) {
    return Access::allowed;
  }
  auto unauthorized = [&refusal] {
    refusal = text(401, "unauthorized\n");
    refusal.headers.emplace_back(MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"acmon\", charset=\"UTF-8\"");
    return Access::refused;
  };
  if (*con_cls != nullptr) {  // called again once bcrypt has decided
    const auto& job = *static_cast<std::shared_ptr<AuthJob>*>(*con_cls);
    std::lock_guard lock(shared.mutex);
    if (!job->done) {
      return Access::pending;
    }
    return job->ok ? Access::allowed : unauthorized();
  }
  const char* header = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  auto credentials = header == nullptr ? std::nullopt : BasicAuth::parse_header(header);
  if (!credentials) {
    return unauthorized();
  }
  if (const auto fast = web->auth->check_fast(credentials->first, credentials->second)) {
    return *fast ? Access::allowed : unauthorized();
  }
  std::lock_guard lock(shared.mutex);
  if (shared.stopping || shared.auth_queue.size() >= k_auth_queue) {
    refusal = text(503, "busy: too many passwords to check, retry\n");
    refusal.headers.emplace_back("Retry-After", "1");
    return Access::refused;
  }
  auto job = std::make_shared<AuthJob>();
  job->connection = connection;
  job->auth = web->auth;
  job->user = std::move(credentials->first);
  job->password = std::move(credentials->second);
  *con_cls = new std::shared_ptr<AuthJob>(job);
  // Suspended before the worker can see the job (it needs the mutex held here), so its resume
  // always follows this suspend.
  MHD_suspend_connection(connection);
  shared.auth_queue.push_back(std::move(job));
  shared.auth_cv.notify_all();
  return Access::pending;
}

void check_passwords(HttpServer::Shared& shared) {
  std::unique_lock lock(shared.mutex);
  while (true) {
    shared.auth_cv.wait(lock, [&] { return shared.stopping || !shared.auth_queue.empty(); });
    if (shared.auth_queue.empty()) {
      return;  // stopping, and nothing waits
    }
    auto job = std::move(shared.auth_queue.front());
    shared.auth_queue.pop_front();
    shared.auth_current = job;
    lock.unlock();
    const bool ok = job->auth->check(job->user, job->password);
    lock.lock();
    shared.auth_current.reset();
    job->password.clear();
    if (!job->done) {  // not refused by a stop meanwhile
      job->ok = ok;
      job->done = true;
      MHD_resume_connection(job->connection);
    }
  }
}

bool refuse_password_checks(HttpServer::Shared& shared) {
  auto refuse = [](AuthJob& job) {
    if (!job.done) {
      job.done = true;
      job.ok = false;
      MHD_resume_connection(job.connection);
    }
  };
  for (auto& job : shared.auth_queue) {
    refuse(*job);
  }
  shared.auth_queue.clear();
  if (shared.auth_current) {
    refuse(*shared.auth_current);
    return true;
  }
  return false;
}

HttpResponse text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace acmon::daemon
