// The daemon's HTTP server on its own, on loopback: routes, binding, streamed bodies, limits, stop.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "acmon/core/http.hpp"
#include "acmon/daemon/http_server.hpp"

using namespace acmon;
using namespace acmon::daemon;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

double seconds_since(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}

Result<http::Response> get(const std::string& url, const std::string& method = "GET") {
  http::CurlTransport t;  // a new connection each time
  http::Request r;
  r.method = method;
  r.url = url;
  r.timeout = milliseconds(5000);
  return t.send(r);
}

HttpResponse text(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

// A connection that asks for `path` and then reads nothing.
int request_and_stall(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  return fd;
}

// Writes pieces until the client is gone (at most 30 s); counts what it was told.
struct Endless {
  std::atomic<int> running{0};
  std::atomic<int> told_gone{0};
  void operator()(const HttpWriter& write) {
    running.fetch_add(1);
    const std::string piece(16 * 1024, 'x');
    const auto end = Steady::now() + std::chrono::seconds(30);
    while (Steady::now() < end) {
      if (!write(piece)) {
        told_gone.fetch_add(1);
        break;
      }
    }
    running.fetch_sub(1);
  }
};

}  // namespace

TEST(HttpServer, RoutesMethodsAndContentTypes) {
  HttpServer server;
  server.route("GET", "/hello", [](const HttpRequest& req) {
    auto r = text("hello " + req.header("X-Name").value_or("nobody") + "\n");
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  });
  server.route("GET", "/teapot", [](const HttpRequest&) {
    auto r = text("short and stout\n");
    r.status = 418;
    r.headers.emplace_back("X-Extra", "1");
    return r;
  });
  ASSERT_TRUE(server.start("127.0.0.1", 0));
  ASSERT_GT(server.port(), 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  http::CurlTransport t;
  http::Request named;
  named.url = base + "/hello";
  named.headers = {{"X-Name", "acmon"}};
  auto hello = t.send(named);
  ASSERT_TRUE(hello) << hello.error().message;
  EXPECT_EQ(hello->status, 200);
  EXPECT_EQ(hello->body, "hello acmon\n");
  EXPECT_EQ(hello->header("content-type"), "text/plain; version=0.0.4; charset=utf-8");

  auto teapot = get(base + "/teapot");
  ASSERT_TRUE(teapot);
  EXPECT_EQ(teapot->status, 418);
  EXPECT_EQ(teapot->header("x-extra"), "1");

  auto missing = get(base + "/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  auto post = get(base + "/hello", "POST");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->header("allow"), "GET");

  auto query = get(base + "/hello?x=1");
  ASSERT_TRUE(query);
  EXPECT_EQ(query->status, 200) << "the query string is not part of the path";
}

TEST(HttpServer, BindsIpv6AndNamesTheAddressItCannotBind) {
  HttpServer v6;
  v6.route("GET", "/x", [](const HttpRequest&) { return text("x"); });
  if (auto r = v6.start("::1", 0); !r) {
    GTEST_SKIP() << "no IPv6 loopback here: " << r.error().message;
  }
  auto res = get("http://[::1]:" + std::to_string(v6.port()) + "/x");
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "x");

  HttpServer taken;
  auto r = taken.start("::1", v6.port());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "cannot listen on [::1]:" + std::to_string(v6.port()) + ": " + std::strerror(EADDRINUSE));
  HttpServer nowhere;
  auto bad = nowhere.start("no-such-host.invalid", 0);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("cannot listen on no-such-host.invalid:0: "), std::string::npos)
      << bad.error().message;
}

TEST(HttpServer, StreamsALargeBodyWholeAndInOrder) {
  HttpServer server;
  constexpr int k_pieces = 4000;  // about 4 MiB in pieces of every size
  server.route("GET", "/big", [](const HttpRequest&) {
    HttpResponse r;
    r.stream = [](const HttpWriter& write) {
      for (int i = 0; i < k_pieces; ++i) {
        write(std::to_string(i) + std::string(static_cast<std::size_t>(i % 2000), '.') + "\n");
      }
    };
    return r;
  });
  ASSERT_TRUE(server.start("127.0.0.1", 0));
  auto res = get("http://127.0.0.1:" + std::to_string(server.port()) + "/big");
  ASSERT_TRUE(res) << res.error().message;
  std::string expected;
  for (int i = 0; i < k_pieces; ++i) {
    expected += std::to_string(i) + std::string(static_cast<std::size_t>(i % 2000), '.') + "\n";
  }
  EXPECT_EQ(res->body.size(), expected.size());
  EXPECT_TRUE(res->body == expected);

  auto head = get("http://127.0.0.1:" + std::to_string(server.port()) + "/big", "HEAD");
  ASSERT_TRUE(head) << head.error().message;
  EXPECT_EQ(head->status, 200);
}

TEST(HttpServer, AcceptEncodingIsReadWithItsQValues) {
  for (const char* yes : {"gzip", "GZIP", "deflate, gzip, br, zstd", "gzip;q=0.5", "gzip; q=1.0", "x-gzip", "*",
                          "br;q=1, *;q=0.1", "gzip;q=0, gzip", "identity;q=0, gzip;level=1"}) {
    EXPECT_TRUE(accepts_gzip(yes)) << yes;
  }
  for (const char* no : {"", "identity", "deflate, br", "gzip;q=0", "gzip;q=0.000", "gzip; Q=0", "*;q=0", "*, gzip;q=0",
                         "gzip;q=nonsense", "gzip;q=2", "gzipx", "not-gzip"}) {
    EXPECT_FALSE(accepts_gzip(no)) << no;
  }
}

// A streamed body to a client that accepts gzip is gzip (libcurl inflates it to the same bytes);
// to one that does not (no Accept-Encoding, identity, gzip;q=0) it is the text itself.
TEST(HttpServer, GzipsAStreamForAClientThatAcceptsIt) {
  HttpServer server;
  std::string expected;
  for (int i = 0; i < 20000; ++i) {
    expected += "acmon_code_info{id=\"" + std::to_string(i) + "\"} 1\n";
  }
  server.route("GET", "/metrics", [&expected](const HttpRequest&) {
    HttpResponse r;
    r.stream = [&expected](const HttpWriter& write) {
      for (std::size_t at = 0; at < expected.size(); at += 1000) {
        write(std::string_view(expected).substr(at, 1000));
      }
    };
    return r;
  });
  server.route("GET", "/plain", [&expected](const HttpRequest&) {
    HttpResponse r;
    r.compress = false;
    r.stream = [&expected](const HttpWriter& write) { write(expected); };
    return r;
  });
  ASSERT_TRUE(server.start("127.0.0.1", 0));
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  auto zipped = get(base + "/metrics");  // libcurl asks for every encoding it has, gzip among them
  ASSERT_TRUE(zipped) << zipped.error().message;
  EXPECT_EQ(zipped->status, 200);
  EXPECT_EQ(zipped->header("content-encoding"), "gzip");
  EXPECT_EQ(zipped->header("vary"), "Accept-Encoding");
  EXPECT_TRUE(zipped->body == expected) << "inflated to " << zipped->body.size() << " bytes";

  http::CurlTransport t;
  for (const char* accept : {"identity", "gzip;q=0, deflate"}) {
    http::Request r;
    r.url = base + "/metrics";
    r.headers = {{"Accept-Encoding", accept}};
    auto plain = t.send(r);
    ASSERT_TRUE(plain) << plain.error().message;
    EXPECT_EQ(plain->header("content-encoding"), "") << accept;
    EXPECT_EQ(plain->header("vary"), "Accept-Encoding") << accept;
    EXPECT_TRUE(plain->body == expected) << accept;
  }
  auto opted_out = get(base + "/plain");
  ASSERT_TRUE(opted_out) << opted_out.error().message;
  EXPECT_EQ(opted_out->header("content-encoding"), "");
  EXPECT_TRUE(opted_out->body == expected);

  // No Accept-Encoding at all: the text as it is (libcurl would add one, so a bare socket asks).
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(server.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string raw;
  char buf[65536];
  for (ssize_t n = 0; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto head_end = raw.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  const std::string head = raw.substr(0, head_end);
  EXPECT_EQ(head.find("Content-Encoding"), std::string::npos) << head;
  EXPECT_NE(head.find("Vary: Accept-Encoding"), std::string::npos) << head;
  EXPECT_NE(raw.find("acmon_code_info{id=\"19999\"} 1\n"), std::string::npos) << "the body is the text itself";
}

// A body that takes long to render, and clients that do not read theirs, hold neither the other
// requests nor a stop; a stream beyond the limit is 503, and the clients' departure is noticed.
TEST(HttpServer, SlowStreamsHoldNeitherOthersNorStop) {
  HttpLimits limits;
  limits.threads = 1;  // everything on one event loop
  limits.streams = 3;
  limits.stream_buffer = 64 * 1024;
  auto server = std::make_unique<HttpServer>(limits);
  Endless endless;
  std::atomic<bool> release{false};
  server->route("GET", "/slow", [&](const HttpRequest&) {
    HttpResponse r;
    r.stream = [&](const HttpWriter& write) {
      for (int i = 0; i < 300 && !release.load(); ++i) {  // a render of up to 3 s
        std::this_thread::sleep_for(milliseconds(10));
      }
      write("done\n");
    };
    return r;
  });
  server->route("GET", "/endless", [&](const HttpRequest&) {
    HttpResponse r;
    r.stream = [&](const HttpWriter& write) { endless(write); };
    return r;
  });
  server->route("GET", "/healthz", [](const HttpRequest&) { return text("ok\n"); });
  ASSERT_TRUE(server->start("127.0.0.1", 0));
  const int port = server->port();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);

  std::thread slow([&] { EXPECT_TRUE(get(base + "/slow")); });
  const int stalled_a = request_and_stall(port, "/endless");
  const int stalled_b = request_and_stall(port, "/endless");
  for (int i = 0; i < 200 && endless.running.load() < 2; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(endless.running.load(), 2);

  auto t0 = Steady::now();
  auto health = get(base + "/healthz");
  EXPECT_TRUE(health && health->status == 200);
  EXPECT_LT(seconds_since(t0), 0.5) << "a slow render and two stalled readers held /healthz";
  auto busy = get(base + "/endless");
  EXPECT_TRUE(busy && busy->status == 503) << "three streams in flight are the limit";
  EXPECT_TRUE(busy && busy->header("retry-after") == "1");
  release = true;
  slow.join();

  // A client that leaves is noticed by its stream.
  ::close(stalled_a);
  for (int i = 0; i < 300 && endless.told_gone.load() < 1; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(endless.told_gone.load(), 1);

  t0 = Steady::now();
  server.reset();  // the other one is still stalled, its stream still writing
  EXPECT_LT(seconds_since(t0), 1.0);
  EXPECT_EQ(endless.running.load(), 0);
  EXPECT_EQ(endless.told_gone.load(), 2);
  ::close(stalled_b);
}

TEST(HttpServer, AFailingHandlerIs500AndTheServerGoesOn) {
  HttpServer server;
  server.route("GET", "/throws", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
  server.route("GET", "/ok", [](const HttpRequest&) { return text("ok\n"); });
  ASSERT_TRUE(server.start("127.0.0.1", 0));
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  auto r = get(base + "/throws");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  auto ok = get(base + "/ok");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  server.stop();
  server.stop();  // idempotent
}

// libmicrohttpd's idle timeout counts from the last byte; a client that trickles its headers is
// closed by the request deadline instead, and one that sent its request in time is answered.
TEST(HttpServer, TricklingClientsAreClosedAtTheRequestDeadline) {
  HttpLimits limits;
  limits.request_timeout = std::chrono::seconds(1);
  HttpServer server(limits);
  server.route("GET", "/healthz", [](const HttpRequest&) { return text("ok\n"); });
  ASSERT_TRUE(server.start("127.0.0.1", 0));

  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(server.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string start = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  ::send(fd, start.data(), start.size(), MSG_NOSIGNAL);
  const auto t0 = Steady::now();
  bool closed = false;
  while (!closed && seconds_since(t0) < 5) {
    if (::send(fd, "a", 1, MSG_NOSIGNAL) != 1) {
      closed = true;
      break;
    }
    char c = 0;
    const auto r = ::recv(fd, &c, 1, MSG_DONTWAIT);
    closed = r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    std::this_thread::sleep_for(milliseconds(100));
  }
  const double took = seconds_since(t0);
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_GT(took, 0.8);
  EXPECT_LT(took, 2.5);

  auto ok = get("http://127.0.0.1:" + std::to_string(server.port()) + "/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}
