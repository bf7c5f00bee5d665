#include "acmon/core/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>

namespace acmon::http {

std::string user_agent() {
  return std::string("acmon/") + ACMON_VERSION;
}

std::string Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return {};
}

namespace {

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// What one transfer collects, and what its callbacks found.
struct Transfer {
  std::string* body = nullptr;
  std::size_t max_body = 0;
  bool too_large = false;
  Headers* headers = nullptr;
  bool too_many_headers = false;
  int sends = 0;  // requests put on the wire in this transfer
  bool resent = false;
};

// libcurl caps each header line; this caps their number.
constexpr std::size_t k_max_headers = 200;

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->body->size() + size * n > t->max_body) {
    t->too_large = true;
    return 0;  // curl ends the transfer with a write error
  }
  t->body->append(data, size * n);
  return size * n;
}

// Called before each request is sent. libcurl re-sends a request by itself when a reused
// connection dies before any response byte; a re-sent signed request carries a used nonce and
// the cloud refuses it (SignatureNonceUsed). So a second send in one transfer is stopped here,
// and the caller retries with a fresh signature.
int on_prereq(void* user, char* /*conn_primary_ip*/, char* /*conn_local_ip*/, int /*conn_primary_port*/,
              int /*conn_local_port*/) {
  auto* t = static_cast<Transfer*>(user);
  if (++t->sends > 1) {
    t->resent = true;
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  auto* headers = t->headers;
  if (headers->size() >= k_max_headers) {
    t->too_many_headers = true;
    return 0;
  }
  std::string_view line(data, size * n);
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    // The body's declared length, when it is within bounds: its buffer is made once, not grown.
    if (name == "content-length" && t->body->empty()) {
      std::size_t length = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (ec == std::errc() && end == value.data() + value.size() && length <= t->max_body) {
        t->body->reserve(length);
      }
    }
    headers->emplace_back(std::move(name), std::string(value));
  } else if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new response (after a 100 Continue or a redirect)
  }
  return size * n;
}

int on_progress(void* user, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/, curl_off_t /*ultotal*/,
                curl_off_t /*ulnow*/) {
  const auto* cancel = static_cast<const std::atomic<bool>*>(user);
  return cancel != nullptr && cancel->load() ? 1 : 0;
}

struct GlobalInit {
  GlobalInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

}  // namespace

struct CurlTransport::Pool {
  std::mutex mutex;
  std::vector<CurlHandle> idle;

  CurlHandle take() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        CurlHandle h = std::move(idle.back());
        idle.pop_back();
        return h;
      }
    }
    return CurlHandle(curl_easy_init());
  }
  void give(CurlHandle h) {
    std::lock_guard lock(mutex);
    if (idle.size() < 32) {
      idle.push_back(std::move(h));
    }
  }
};

CurlTransport::CurlTransport() : m_pool(std::make_unique<Pool>()) {
  static GlobalInit init;
}

CurlTransport::~CurlTransport() = default;

void CurlTransport::close_idle() {
  std::vector<CurlHandle> closing;
  {
    std::lock_guard lock(m_pool->mutex);
    closing.swap(m_pool->idle);
  }
  // Closed here, outside the lock.
}

Result<Response> CurlTransport::send(const Request& request) {
  if (m_cancel != nullptr && m_cancel->load()) {
    return make_error(ErrorKind::network, "cancelled");
  }
  CurlHandle handle = m_pool->take();
  if (!handle) {
    return make_error(ErrorKind::network, "curl_easy_init failed");
  }
  CURL* h = handle.get();
  curl_easy_reset(h);
  Response response;
  char errbuf[CURL_ERROR_SIZE] = {0};
  Slist headers;
  for (const auto& [k, v] : request.headers) {
    std::string line = k;
    line.append(": ").append(v);
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next == nullptr) {
      return make_error(ErrorKind::network, "out of memory building headers");
    }
    (void)headers.release();
    headers.reset(next);
  }
  // An empty Expect avoids the 1-second "100-continue" wait on larger POST bodies.
  headers.reset(curl_slist_append(headers.release(), "Expect:"));

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent().c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // every encoding curl supports
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  Transfer transfer;
  transfer.body = &response.body;
  transfer.headers = &response.headers;
  transfer.max_body = request.max_body;
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq);
  curl_easy_setopt(h, CURLOPT_PREREQDATA, &transfer);
  // A declared length over the cap fails before the body is read; the decoded cap above holds for
  // compressed and chunked answers.
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_body));
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  if (m_cancel != nullptr) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, m_cancel);
  }
  if (request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (request.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    }
  } else if (request.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  const CURLcode rc = curl_easy_perform(h);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) {
    // The handle may hold a broken connection: it is dropped rather than reused.
    const std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    if (transfer.resent) {
      return make_error(ErrorKind::network, "connection dropped before any response byte");
    }
    if (transfer.too_many_headers) {
      return make_error(ErrorKind::parse,
                        "the response has more than " + std::to_string(k_max_headers) + " headers; refused");
    }
    if (transfer.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      return make_error(ErrorKind::parse,
                        "the response body exceeds " + std::to_string(request.max_body >> 20) + " MiB; refused");
    }
    switch (rc) {
      case CURLE_ABORTED_BY_CALLBACK: return make_error(ErrorKind::network, "cancelled");
      case CURLE_OPERATION_TIMEDOUT: return make_error(ErrorKind::timeout, "request timed out: " + detail);
      case CURLE_GOT_NOTHING:
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
      case CURLE_PARTIAL_FILE: return make_error(ErrorKind::network, "connection dropped: " + detail);
      default: return make_error(ErrorKind::network, detail);
    }
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  m_pool->give(std::move(handle));
  return response;
}

}  // namespace acmon::http
