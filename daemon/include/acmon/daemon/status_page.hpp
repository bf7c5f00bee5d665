// GET /: a status page for the person who has no Grafana. Plain HTML and CSS from the binary, no
// scripts, every value escaped.
#pragma once

#include <string>

#include "acmon/core/time.hpp"
#include "acmon/model/snapshot.hpp"

namespace acmon::daemon {

struct StatusPageInput {
  const model::Snapshot* snapshot = nullptr;
  UnixTime now = 0;
  std::string version;  // "0.1.0"
  bool ready = false;   // every scope has finished its first run
};

// The page: codes soonest to expire and most used (with bars), collectors with their last run,
// duration and error, active alerts, and links to /metrics, /healthz and /readyz.
std::string render_status_page(const StatusPageInput& in);

// The Content-Security-Policy the page is served with: nothing loads, nothing runs.
inline constexpr const char* k_status_page_csp =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

// text with &, <, >, " and ' escaped for HTML text and attribute values.
std::string html_escape(std::string_view text);

}  // namespace acmon::daemon
