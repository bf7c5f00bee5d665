// gzip for the HTTP server's streamed bodies: a deflater that writes the gzip format piece by piece.
#pragma once

#include <zlib.h>

#include <functional>
#include <string_view>
#include <vector>

#include "acmon/daemon/http_server.hpp"

namespace acmon::daemon {

// Compresses a body into gzip (RFC 1952) as it is written and hands the compressed bytes to `out`
// in blocks of up to 64 KiB. Level 1: the text of /metrics shrinks about tenfold even so, and a
// scrape of 100,000 codes stays well under a second of one core.
class GzipWriter {
 public:
  explicit GzipWriter(const HttpWriter& out);
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;

  // False once `out` refused a block (the client has gone) or zlib failed; the rest is dropped.
  bool write(std::string_view piece);
  // Ends the gzip member (the last block and the trailer). Call once, after the last write.
  bool finish();

 private:
  bool deflate_all(std::string_view in, int flush);
  const HttpWriter& m_out;
  z_stream m_z{};
  bool m_ok = false;
  std::vector<unsigned char> m_buf;
};

// Runs render with a writer that gzips into out; false unless the gzip body ended complete.
bool render_gzipped(const std::function<void(const HttpWriter&)>& render, const HttpWriter& out);

}  // namespace acmon::daemon
