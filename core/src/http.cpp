#include "acmon/core/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
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

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<Headers*>(user);
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
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &response.headers);
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
    const std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    // The handle may hold a broken connection: drop it rather than reuse it.
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      return make_error(ErrorKind::network, "cancelled");
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return make_error(ErrorKind::timeout, "request timed out: " + detail);
    }
    return make_error(ErrorKind::network, detail);
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  m_pool->give(std::move(handle));
  return response;
}

}  // namespace acmon::http
