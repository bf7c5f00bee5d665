#include "acmon/daemon/status_page.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

namespace acmon::daemon {

namespace {

constexpr std::size_t k_rows = 12;          // rows in each list of codes
constexpr std::size_t k_alert_rows = 25;    // alerts shown; the rest are counted
constexpr std::size_t k_error_chars = 300;  // of a collector's last error

// Styles: light and dark, readable at 1280×900 and on a phone (narrow screens drop the columns
// marked "wide" and scroll the tables sideways).
constexpr const char* k_css = R"(
:root{color-scheme:light dark;--fg:#1d2330;--muted:#5f6b7a;--bg:#f6f7f9;--card:#fff;--line:#e3e6ea;
--ok:#1a7f37;--warn:#9a6700;--crit:#cf222e;--accent:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#8d96a0;--bg:#0d1117;--card:#161b22;
--line:#30363d;--ok:#3fb950;--warn:#d29922;--crit:#f85149;--accent:#4493f8}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
header{padding:16px 24px;border-bottom:1px solid var(--line);background:var(--card);display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline}
header h1{margin:0;font-size:20px}
header .sub{color:var(--muted)}
nav a{margin-right:12px;color:var(--accent)}
main{padding:16px 24px;display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px;max-width:1600px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px;min-width:0}
section.full{grid-column:1/-1}
h2{font-size:15px;margin:0 0 8px}
.tiles{display:flex;flex-wrap:wrap;gap:12px;padding:16px 24px 0}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:120px}
@media (max-width:700px){.tiles{gap:6px}.tile{min-width:0;flex:1 1 30%;padding:6px 8px}.tile b{font-size:18px}}
.tile b{display:block;font-size:22px}
.tile span{color:var(--muted)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top;white-space:nowrap}
th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
td.wrap{white-space:normal;word-break:break-word;min-width:200px}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:12px}
meter{width:110px;height:12px;vertical-align:middle}
td.code{white-space:normal;min-width:150px}
td.code code{overflow-wrap:anywhere}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.ok{background:var(--ok)}.warning{background:var(--warn)}.critical,.failing{background:var(--crit)}
.muted{color:var(--muted)}
.empty{color:var(--muted);padding:8px 0}
footer{padding:8px 24px 24px;color:var(--muted)}
@media (max-width:700px){main{grid-template-columns:1fr;padding:8px}header,.tiles{padding-left:12px;padding-right:12px}
.wide{display:none}meter{width:52px}th,td{padding:4px 5px}section{padding:10px}td.code{min-width:0}}
)";

std::string ago(UnixTime now, UnixTime at) {
  if (at >= now) {
    return "just now";
  }
  return format_span(now - at) + " ago";
}

// v with the given number of decimals.
std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string percent(double ratio) {
  return fixed(ratio * 100, 0) + "%";
}

class Html {
 public:
  Html& raw(std::string_view s) {
    m_out.append(s);
    return *this;
  }
  Html& text(std::string_view s) {
    m_out += html_escape(s);
    return *this;
  }
  // <td class="cls">escaped text</td>
  Html& cell(std::string_view s, const char* cls = nullptr) {
    m_out += cls != nullptr ? std::string("<td class=\"") + cls + "\">" : std::string("<td>");
    m_out += html_escape(s);
    m_out += "</td>";
    return *this;
  }
  std::string take() { return std::move(m_out); }

 private:
  std::string m_out;
};

// What the page shows of one code, copied out of the snapshot's compact list.
struct Row {
  std::string id;
  std::string about;  // name · product scope · account
  std::optional<UnixTime> created_at;
  std::optional<UnixTime> expires_at;
  std::optional<std::int64_t> registered;
  std::optional<std::int64_t> limit;
};

Row row_of(const model::CodeRef& c) {
  Row r;
  r.id = c.id();
  r.about = c.name().empty() ? std::string() : c.name() + " · ";
  r.about += config::to_string(c.product());
  for (const auto* part : {&c.region(), &c.order_id()}) {
    if (!part->empty()) {
      r.about += " " + *part;
    }
  }
  r.about += " · " + c.account();
  r.created_at = c.created_at();
  r.expires_at = c.expires_at();
  r.registered = c.registered();
  r.limit = c.limit();
  return r;
}

// The k_rows codes with the smallest keys (key(c): nullopt leaves a code out), smallest first; two
// passes over the snapshot, so only those codes are copied.
template <typename Key>
std::vector<Row> top_rows(const model::Snapshot& snap, Key key) {
  std::vector<std::pair<double, std::size_t>> candidates;
  std::size_t i = 0;
  snap.for_each_code([&](const model::CodeRef& c) {
    if (auto k = key(c)) {
      candidates.emplace_back(*k, i);
    }
    ++i;
  });
  const auto n = std::min(k_rows, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(n), candidates.end());
  std::map<std::size_t, std::size_t> wanted;  // index in the snapshot -> row
  for (std::size_t row = 0; row < n; ++row) {
    wanted.emplace(candidates[row].second, row);
  }
  std::vector<Row> rows(n);
  i = 0;
  snap.for_each_code([&](const model::CodeRef& c) {
    if (auto it = wanted.find(i); it != wanted.end()) {
      rows[it->second] = row_of(c);
    }
    ++i;
  });
  return rows;
}

void code_cell(Html& h, const Row& r) {
  h.raw("<td class=\"code\"><code>")
      .text(r.id)
      .raw("</code><br><span class=\"muted\">")
      .text(r.about)
      .raw("</span></td>");
}

void expiring(Html& h, const model::Snapshot& snap, UnixTime now) {
  const auto rows = top_rows(snap, [now](const model::CodeRef& c) -> std::optional<double> {
    if (c.state_at(now) != model::CodeState::active || !c.expires_at()) {
      return std::nullopt;
    }
    return static_cast<double>(*c.expires_at());
  });
  h.raw("<section id=\"expiring\"><h2>Expiring soonest</h2>");
  if (rows.empty()) {
    h.raw("<div class=\"empty\">No active code has an expiry time.</div></section>");
    return;
  }
  h.raw(
      "<div class=\"scroll\"><table><thead><tr><th>Code</th><th>Expires</th><th>Lifetime "
      "used</th></tr></thead><tbody>");
  for (const auto& r : rows) {
    const UnixTime at = *r.expires_at;
    h.raw("<tr data-code=\"").text(r.id).raw("\">");
    code_cell(h, r);
    h.raw("<td title=\"")
        .text(format_rfc3339(at))
        .raw("\">")
        .text("in " + format_span(std::max<std::int64_t>(0, at - now)))
        .raw("</td><td>");
    if (r.created_at && at > *r.created_at) {
      const double used =
          std::clamp(static_cast<double>(now - *r.created_at) / static_cast<double>(at - *r.created_at), 0.0, 1.0);
      h.raw("<meter min=\"0\" max=\"1\" low=\"0.75\" high=\"0.9\" optimum=\"0\" value=\"")
          .raw(fixed(used, 3))
          .raw("\"></meter> ")
          .text(percent(used));
    } else {
      h.raw("<span class=\"muted\">-</span>");
    }
    h.raw("</td></tr>");
  }
  h.raw("</tbody></table></div></section>");
}

void most_used(Html& h, const model::Snapshot& snap, UnixTime now) {
  const auto rows = top_rows(snap, [now](const model::CodeRef& c) -> std::optional<double> {
    const auto state = c.state_at(now);
    const bool counted = state == model::CodeState::active || state == model::CodeState::exhausted;
    if (!counted || !c.limit() || *c.limit() <= 0 || !c.registered()) {
      return std::nullopt;
    }
    return -static_cast<double>(*c.registered()) / static_cast<double>(*c.limit());  // the most used first
  });
  h.raw("<section id=\"used\"><h2>Most used</h2>");
  if (rows.empty()) {
    h.raw("<div class=\"empty\">No code with a usage limit.</div></section>");
    return;
  }
  h.raw("<div class=\"scroll\"><table><thead><tr><th>Code</th><th>Used</th><th>Of its limit</th></tr></thead><tbody>");
  for (const auto& r : rows) {
    const double ratio = static_cast<double>(*r.registered) / static_cast<double>(*r.limit);
    h.raw("<tr data-code=\"").text(r.id).raw("\">");
    code_cell(h, r);
    h.cell(std::to_string(*r.registered) + " / " + std::to_string(*r.limit), "num");
    h.raw("<td><meter min=\"0\" max=\"1\" low=\"0.8\" high=\"0.95\" optimum=\"0\" value=\"")
        .raw(fixed(std::min(ratio, 1.0), 3))
        .raw("\"></meter> ")
        .text(percent(ratio))
        .raw("</td></tr>");
  }
  h.raw("</tbody></table></div></section>");
}

void collectors(Html& h, const std::vector<model::ScopeStatus>& scopes, UnixTime now) {
  std::vector<const model::ScopeStatus*> v;
  v.reserve(scopes.size());
  for (const auto& s : scopes) {
    v.push_back(&s);
  }
  std::sort(v.begin(), v.end(), [](const auto* a, const auto* b) {
    return std::tie(a->scope.collector, a->scope.region, a->scope.order_id) <
           std::tie(b->scope.collector, b->scope.region, b->scope.order_id);
  });
  h.raw("<section id=\"collectors\" class=\"full\"><h2>Collectors</h2>");
  if (v.empty()) {
    h.raw("<div class=\"empty\">No collector has run yet.</div></section>");
    return;
  }
  h.raw(
      "<div class=\"scroll\"><table><thead><tr><th>Collector</th><th>Scope</th><th>Status</th>"
      "<th>Last run</th><th class=\"wide\">Duration</th><th class=\"wide\">Codes</th><th>Error</th></tr></thead>"
      "<tbody>");
  for (const auto* s : v) {
    const std::string where = !s->scope.region.empty() ? s->scope.region : s->scope.order_id;
    h.raw("<tr data-collector=\"").text(s->scope.collector).raw("\">");
    h.cell(s->scope.collector)
        .cell(std::string(config::to_string(s->scope.product)) + " " + s->scope.account +
              (where.empty() ? "" : " " + where));
    if (!s->last_run_at) {
      h.raw("<td><span class=\"badge warning\">pending</span></td>");
    } else if (s->last_ok) {
      h.raw("<td><span class=\"badge ok\">up</span></td>");
    } else {
      h.raw("<td><span class=\"badge failing\">failing</span>");
      if (s->consecutive_failures > 1) {
        h.raw(" <span class=\"muted\">×").text(std::to_string(s->consecutive_failures)).raw("</span>");
      }
      h.raw("</td>");
    }
    h.cell(s->last_run_at ? ago(now, *s->last_run_at) : "-");
    h.cell(s->last_run_at ? fixed(s->last_duration_seconds, 2) + " s" : "-", "wide num");
    h.cell(std::to_string(s->codes), "wide num");
    std::string error = s->last_ok ? std::string() : s->last_error;
    if (error.size() > k_error_chars) {
      error = error.substr(0, k_error_chars) + "…";
    }
    h.cell(error.empty() ? "" : error, "wrap");
    h.raw("</tr>");
  }
  h.raw("</tbody></table></div></section>");
}

void alerts(Html& h, const model::AlertList& list, UnixTime now) {
  std::vector<const model::AlertRecord*> firing;  // the records stay where they are; these are sorted
  firing.reserve(list.size());
  for (const auto& a : list) {
    firing.push_back(&a);
  }
  std::stable_sort(firing.begin(), firing.end(), [](const auto* a, const auto* b) {
    const bool ac = a->severity == "critical";
    const bool bc = b->severity == "critical";
    return ac != bc ? ac : a->starts_at < b->starts_at;
  });
  h.raw("<section id=\"alerts\" class=\"full\"><h2>Active alerts</h2>");
  if (firing.empty()) {
    h.raw("<div class=\"empty\">No alert is firing.</div></section>");
    return;
  }
  h.raw(
      "<div class=\"scroll\"><table><thead><tr><th>Severity</th><th>Rule</th><th>Subject</th><th>Summary</th>"
      "<th class=\"wide\">Account</th><th class=\"wide\">Since</th></tr></thead><tbody>");
  const std::size_t shown = std::min(k_alert_rows, firing.size());
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& a = *firing[i];
    std::string subject = a.is_code_alert() ? a.code_id : a.collector;
    for (const auto* part : {&a.region, &a.order_id}) {
      if (!part->empty()) {
        subject += " " + *part;
      }
    }
    h.raw("<tr data-rule=\"")
        .text(a.rule)
        .raw("\"><td><span class=\"badge ")
        .raw(a.severity == "critical" ? "critical" : "warning")
        .raw("\">")
        .text(a.severity)
        .raw("</span></td>");
    h.cell(a.rule)
        .cell(subject)
        .cell(a.summary_at(now), "wrap")
        .cell(a.account, "wide")
        .cell(ago(now, a.starts_at), "wide");
    h.raw("</tr>");
  }
  h.raw("</tbody></table></div>");
  if (shown < firing.size()) {
    h.raw("<div class=\"empty\" id=\"more-alerts\">")
        .text("and " + std::to_string(firing.size() - shown) + " more: acmon alerts lists them all")
        .raw("</div>");
  }
  h.raw("</section>");
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string render_status_page(const StatusPageInput& in) {
  static const model::Snapshot k_empty;
  const model::Snapshot& snap = in.snapshot != nullptr ? *in.snapshot : k_empty;
  std::size_t watched = 0;
  std::map<model::CodeState, std::size_t> by_state;
  snap.for_each_code([&](const model::CodeRef& c) {
    if (!c.deleted_at()) {
      ++watched;
      ++by_state[c.state_at(in.now)];
    }
  });
  std::size_t failing = 0;
  for (const auto& s : snap.scopes) {
    failing += s.last_run_at && !s.last_ok ? 1 : 0;
  }
  Html h;
  h.raw(
       "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<title>acmon status</title><style>")
      .raw(k_css)
      .raw("</style></head><body><header><h1>acmon</h1><span class=\"sub\">activation codes of Alibaba Cloud · ")
      .text("version " + in.version)
      .raw(" · ")
      .text(format_rfc3339(in.now))
      .raw(in.ready ? "" : " · <span class=\"badge warning\">first runs under way</span>")
      .raw(
          "</span><nav><a href=\"/metrics\">/metrics</a><a href=\"/healthz\">/healthz</a>"
          "<a href=\"/readyz\">/readyz</a></nav></header>");
  auto tile = [&](const std::string& id, std::size_t n, const char* what) {
    h.raw("<div class=\"tile\" id=\"")
        .text(id)
        .raw("\"><b>")
        .text(std::to_string(n))
        .raw("</b><span>")
        .text(what)
        .raw("</span></div>");
  };
  h.raw("<div class=\"tiles\">");
  tile("codes", watched, "codes watched");
  tile("active", by_state[model::CodeState::active], "active");
  tile("exhausted", by_state[model::CodeState::exhausted], "exhausted");
  tile("expired", by_state[model::CodeState::expired], "expired");
  tile("firing", snap.alerts.size(), "alerts firing");
  tile("failing", failing, "scopes failing");
  h.raw("</div><main>");
  expiring(h, snap, in.now);
  most_used(h, snap, in.now);
  alerts(h, snap.alerts, in.now);
  collectors(h, snap.scopes, in.now);
  h.raw(
      "</main><footer>Rendered by acmon from its last snapshot; the same data as /metrics. "
      "No scripts, nothing loaded from elsewhere.</footer></body></html>\n");
  return h.take();
}

}  // namespace acmon::daemon
