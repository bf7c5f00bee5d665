#include "http_gzip.hpp"

#include <cctype>
#include <climits>
#include <optional>

namespace acmon::daemon {

namespace {

constexpr std::size_t k_gzip_block = 64 * 1024;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The q-value of one element of the list ("gzip;q=0.5"): 1 when absent; 0 when it says 0 or cannot
// be read (a client that writes nonsense gets the plain body).
bool positive_q(std::string_view params) {
  while (!params.empty()) {
    const auto semi = params.find(';');
    const auto param = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    const auto eq = param.find('=');
    if (eq == std::string_view::npos || !iequals(trim(param.substr(0, eq)), "q")) {
      continue;
    }
    const auto value = trim(param.substr(eq + 1));
    // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ): positive unless all digits are 0.
    if (value.empty() || (value[0] != '0' && value[0] != '1')) {
      return false;
    }
    for (const char c : value) {
      if (c >= '1' && c <= '9') {
        return true;
      }
      if (c != '0' && c != '.') {
        return false;
      }
    }
    return false;
  }
  return true;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  std::optional<bool> gzip;
  std::optional<bool> any;
  while (!accept_encoding.empty()) {
    const auto comma = accept_encoding.find(',');
    const auto element = accept_encoding.substr(0, comma);
    accept_encoding = comma == std::string_view::npos ? std::string_view{} : accept_encoding.substr(comma + 1);
    const auto semi = element.find(';');
    const auto coding = trim(element.substr(0, semi));
    const bool q = positive_q(semi == std::string_view::npos ? std::string_view{} : element.substr(semi + 1));
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      gzip = gzip.value_or(false) || q;
    } else if (coding == "*") {
      any = any.value_or(false) || q;
    }
  }
  return gzip.value_or(any.value_or(false));
}

GzipWriter::GzipWriter(const HttpWriter& out) : m_out(out) {
  // windowBits 15 + 16: the gzip header and trailer around the deflate stream.
  m_ok = deflateInit2(&m_z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  if (m_ok) {
    m_buf.resize(k_gzip_block);
  }
}

GzipWriter::~GzipWriter() {
  deflateEnd(&m_z);
}

bool GzipWriter::deflate_all(std::string_view in, int flush) {
  while (m_ok) {
    // zlib takes at most UINT_MAX bytes a call; pieces are far smaller, but say so.
    const std::size_t take = std::min<std::size_t>(in.size(), UINT_MAX);
    m_z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    m_z.avail_in = static_cast<uInt>(take);
    const int last = take == in.size() ? flush : Z_NO_FLUSH;
    int rc = Z_OK;
    do {
      m_z.next_out = m_buf.data();
      m_z.avail_out = static_cast<uInt>(m_buf.size());
      rc = deflate(&m_z, last);
      // Z_BUF_ERROR at the finish: nothing more can come (a second finish); never loop on it.
      if (rc == Z_STREAM_ERROR || (last == Z_FINISH && rc == Z_BUF_ERROR)) {
        m_ok = false;
        return false;
      }
      const std::size_t n = m_buf.size() - m_z.avail_out;
      if (n > 0 && !m_out(std::string_view(reinterpret_cast<const char*>(m_buf.data()), n))) {
        m_ok = false;
        return false;
      }
    } while (m_z.avail_out == 0 || (last == Z_FINISH && rc != Z_STREAM_END));
    in.remove_prefix(take);
    if (in.empty()) {
      return true;
    }
  }
  return false;
}

bool GzipWriter::write(std::string_view piece) {
  return piece.empty() ? m_ok : deflate_all(piece, Z_NO_FLUSH);
}

bool GzipWriter::finish() {
  return deflate_all({}, Z_FINISH);
}

bool render_gzipped(const std::function<void(const HttpWriter&)>& render, const HttpWriter& out) {
  GzipWriter zipped(out);
  render([&zipped](std::string_view piece) { return zipped.write(piece); });
  return zipped.finish();
}

}  // namespace acmon::daemon
