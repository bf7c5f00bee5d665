// Private: the listening socket of HttpServer, opened before libmicrohttpd takes it over.
#pragma once

#include <string>

#include "acmon/core/result.hpp"

namespace acmon::daemon {

struct ListenSocket {
  int fd = -1;     // the caller's to close (or to hand over)
  int family = 0;  // AF_INET or AF_INET6
  int port = 0;    // the port bound (a free one when asked for 0)
};

// A non-blocking, close-on-exec TCP socket listening on host:port (SO_REUSEADDR), on the first
// address of host that works. Errors say "cannot listen on <where>: …".
Result<ListenSocket> open_listen_socket(const std::string& host, int port, int backlog, const std::string& where);

}  // namespace acmon::daemon
