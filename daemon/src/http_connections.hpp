// Private to HttpServer (http_server.cpp, http_connections.cpp): what the event loops, the
// producers and the deadline watcher share, and the connection-level callbacks of libmicrohttpd.
#pragma once

#include <microhttpd.h>

#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "acmon/daemon/http_server.hpp"
#include "acmon/daemon/web_config.hpp"

namespace acmon::daemon {

// A plain-text answer: the server's own refusals and errors.
HttpResponse text(int status, std::string body);

// A password for bcrypt, off the event loop: its connection is suspended meanwhile and resumed
// once done, and libmicrohttpd then calls the handler again for the same request (its con_cls
// holds the job).
struct AuthJob {
  MHD_Connection* connection = nullptr;
  std::shared_ptr<const BasicAuth> auth;
  std::string user;
  std::string password;
  bool done = false;  // under Shared::mutex
  bool ok = false;
};

// One mutex for all of it.
struct HttpServer::Shared {
  std::mutex mutex;
  std::condition_variable cv;  // wakes the deadline watcher
  bool stopping = false;
  std::vector<std::pair<std::shared_ptr<Stream>, std::thread>> streams;
  // Connections still owing a request's line and headers, and by when. An entry is erased when
  // libmicrohttpd reports the connection closed, which it does before it closes the descriptor:
  // so the watcher, under the mutex, only ever shuts down a descriptor that is still this one.
  struct Pending {
    int fd = -1;
    std::chrono::steady_clock::time_point deadline;
    bool waiting = true;  // false while a handler answers or a response is sent
    bool cut = false;
  };
  std::map<MHD_Connection*, Pending> pending;
  std::chrono::seconds request_timeout{10};
  std::thread watcher;
  // The web configuration now: its users check every request; its TLS identity is given to each
  // new connection (which keeps it to its end). tls: whether the server speaks TLS (from start).
  std::shared_ptr<const WebConfig> web;
  bool tls = false;
  // Passwords waiting for bcrypt (slow by design: about 50 ms at cost 10), checked one at a time
  // by auth_worker so that a flood of wrong passwords never holds an event loop; at most
  // k_auth_queue wait, more are answered 503.
  std::deque<std::shared_ptr<AuthJob>> auth_queue;
  std::shared_ptr<AuthJob> auth_current;  // the one bcrypt is working on
  std::condition_variable auth_cv;
  std::thread auth_worker;
};

constexpr std::size_t k_auth_queue = 32;

// libmicrohttpd's own messages (the connection limit reached, a request too large, …): at most one
// line every 10 s, so a flood of clients cannot flood the journal.
__attribute__((format(printf, 2, 0))) void log_mhd(void* cls, const char* fmt, va_list ap);

// New connections get a deadline for their first request (and, with TLS, the identity now); a
// request that reaches the routes has none while it is answered; a finished response starts the
// deadline for the next one.
void on_connection(void* cls, MHD_Connection* connection, void** socket_context, MHD_ConnectionNotificationCode toe);
void on_completed(void* cls, MHD_Connection* connection, void** con_cls, MHD_RequestTerminationCode toe);

// Shuts down connections past their deadline; their event loop then sees the end and closes them.
void watch_deadlines(HttpServer::Shared& shared);

// Whether the request may reach the routes: a client certificate as client_auth_type demands, and
// the user and password of a basic_auth_users entry.
enum class Access {
  allowed,
  refused,  // answer with the response given: 403, 401 (with WWW-Authenticate: Basic) or 503
  pending   // the connection is suspended until bcrypt has decided: answer nothing yet
};
Access check_access(HttpServer::Shared& shared, MHD_Connection* connection, void** con_cls, HttpResponse& refusal);

// Runs the queued bcrypt checks until the server stops.
void check_passwords(HttpServer::Shared& shared);
// With the mutex held, when the server stops: every connection waiting for a password check,
// the one being checked included, is resumed and refused (the check's result is then dropped).
// Returns whether a check is still running (its thread then finishes on its own).
bool refuse_password_checks(HttpServer::Shared& shared);

}  // namespace acmon::daemon
