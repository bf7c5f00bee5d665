#include "acmon/metrics/exporter.hpp"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace acmon::metrics {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

namespace {

// When this process started, for systems where /proc/stat is hidden (systemd's ProcSubset=pid).
const double k_started = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

MetricFamily family(const char* name, const char* help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

void add(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

}  // namespace

namespace {

// name="value" at out (which has room for name.size() + 2 * value.size() + 3), the value escaped;
// returns the end.
char* write_label(char* out, std::string_view name, std::string_view value) {
  out = std::copy(name.begin(), name.end(), out);
  *out++ = '=';
  *out++ = '"';
  for (const char c : value) {
    if (c == '\\' || c == '"' || c == '\n') {
      *out++ = '\\';
      *out++ = c == '\n' ? 'n' : c;
    } else {
      *out++ = c;
    }
  }
  *out++ = '"';
  return out;
}

// Buffers text and hands it to the sink in pieces of about 64 KiB. It writes 600,000 series for
// 100,000 codes, so it writes into its buffer directly: a label value is copied and escaped in one
// pass, integers by std::to_chars.
class Writer {
 public:
  explicit Writer(const Sink& sink) : m_sink(sink) { m_buf.resize(k_chunk + 4096); }
  ~Writer() { flush(); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void header(std::string_view name, std::string_view help, std::string_view type) {
    put("# HELP ");
    put(name);
    put(" ");
    put(help);
    put("\n# TYPE ");
    put(name);
    put(" ");
    put(type);
    put("\n");
  }
  void begin(std::string_view name) {
    put(name);
    m_first = true;
  }
  void label(std::string_view name, std::string_view value) {
    char* out = room(name.size() + 2 * value.size() + 4);
    *out++ = m_first ? '{' : ',';
    m_first = false;
    m_len = static_cast<std::size_t>(write_label(out, name, value) - m_buf.data());
  }
  // Labels written before (by write_label, comma-separated), as the first ones of a sample.
  void labels(std::string_view block) {
    char* out = room(block.size() + 1);
    *out++ = '{';
    std::copy(block.begin(), block.end(), out);
    m_len += block.size() + 1;
    m_first = false;
  }
  void value(double v) {
    char* out = room(40);
    if (!m_first) {
      *out++ = '}';
    }
    *out++ = ' ';
    const double whole = static_cast<double>(static_cast<std::int64_t>(v));
    if (whole == v && v < 1e15 && v > -1e15) {
      out = std::to_chars(out, out + 24, static_cast<long long>(v)).ptr;
    } else {
      out += std::clamp(std::snprintf(out, 32, "%.17g", v), 0, 31);
    }
    *out++ = '\n';
    m_len = static_cast<std::size_t>(out - m_buf.data());
    if (m_len >= k_chunk) {
      flush();
    }
  }
  void flush() {
    if (m_len > 0) {
      m_sink(std::string_view(m_buf.data(), m_len));
      m_len = 0;
    }
  }

 private:
  // Where `n` more bytes go: the buffer is handed on first if they do not fit, and grows for a
  // piece larger than itself (a label value of megabytes).
  char* room(std::size_t n) {
    if (m_len + n > m_buf.size()) {
      flush();
      if (n > m_buf.size()) {
        m_buf.resize(n);
      }
    }
    return m_buf.data() + m_len;
  }
  void put(std::string_view s) {
    char* out = room(s.size());
    std::copy(s.begin(), s.end(), out);
    m_len += s.size();
  }

  static constexpr std::size_t k_chunk = 64 * 1024;
  const Sink& m_sink;
  std::string m_buf;
  std::size_t m_len = 0;
  bool m_first = true;
};

// A code's own labels (product, account, id, and region or order id), comma-separated and escaped,
// appended to out.
void append_code_labels(const model::CodeRef& c, std::string& out) {
  auto add = [&out](std::string_view name, std::string_view value) {
    const std::size_t at = out.size();
    out.resize(at + 1 + name.size() + 2 * value.size() + 3);
    out[at] = ',';
    out.resize(static_cast<std::size_t>(write_label(out.data() + at + 1, name, value) - out.data()));
  };
  const std::size_t start = out.size();
  add("product", config::to_string(c.product()));
  add("account", c.account());
  add("id", c.id());
  if (c.product() == config::Product::ecs) {
    add("region", c.region());
  } else if (c.product() == config::Product::polardb) {
    add("order_id", c.order_id());
  }
  out.erase(start, 1);  // the first label's comma
}

// Every code of the snapshot with its label block, made once per code list: a code's labels are
// in six families, so a scrape copies them instead of escaping them again.
template <typename F>
void for_each_labelled(const model::Snapshot& state, F&& f) {
  for (const auto& [key, list] : state.codes) {
    const auto& blocks = list->texts(append_code_labels);
    std::size_t i = 0;
    list->for_each([&](const model::CodeRef& c) { f(c, blocks.at(i++)); });
  }
}

void scope_labels(Writer& w, const model::ScopeStatus& s) {
  w.label("collector", s.scope.collector);
  w.label("product", config::to_string(s.scope.product));
  w.label("account", s.scope.account);
  if (!s.scope.region.empty()) {
    w.label("region", s.scope.region);
  }
  if (!s.scope.order_id.empty()) {
    w.label("order_id", s.scope.order_id);
  }
}

// One gauge family over every code that has the value.
template <typename Get>
void code_family(Writer& w, const model::Snapshot& state, const char* name, const char* help, Get get) {
  w.header(name, help, "gauge");
  for_each_labelled(state, [&](const model::CodeRef& c, std::string_view labels) {
    if (auto v = get(c)) {
      w.begin(name);
      w.labels(labels);
      w.value(static_cast<double>(*v));
    }
  });
}

}  // namespace

void write_snapshot(const model::Snapshot& state, const Sink& sink, std::optional<UnixTime> now) {
  try {
    Writer w(sink);
    w.header("acmon_code_info", "Activation code known to acmon, 1 per code (from the last poll)", "gauge");
    for_each_labelled(state, [&](const model::CodeRef& c, std::string_view labels) {
      w.begin("acmon_code_info");
      w.labels(labels);
      w.label("name", c.name());
      w.label("state", model::to_string(now ? c.state_at(*now) : c.state()));
      w.label("api_status", c.api_status().value_or(""));
      w.value(1);
    });
    code_family(w, state, "acmon_code_limit", "Maximum number of uses of the code (from the last poll)",
                [](const model::CodeRef& c) { return c.limit(); });
    code_family(w, state, "acmon_code_registered", "Uses of the code so far (from the last poll)",
                [](const model::CodeRef& c) { return c.registered(); });
    code_family(
        w, state, "acmon_code_deregistered", "Instances deregistered from an ECS activation code (from the last poll)",
        [](const model::CodeRef& c) { return c.product() == config::Product::ecs ? c.deregistered() : std::nullopt; });
    code_family(w, state, "acmon_code_created_timestamp_seconds",
                "Creation time of the code, Unix seconds (from the last poll)",
                [](const model::CodeRef& c) { return c.created_at(); });
    code_family(w, state, "acmon_code_expiry_timestamp_seconds",
                "Expiry time of the code, Unix seconds (from the last poll)",
                [](const model::CodeRef& c) { return c.expires_at(); });
    code_family(w, state, "acmon_code_exhaustion_forecast_timestamp_seconds",
                "When the code's uses reach its limit at their recent rate, Unix seconds (absent when not growing "
                "or without a limit)",
                [](const model::CodeRef& c) { return c.exhaustion_forecast(); });

    auto scope_family = [&](const char* name, const char* help, const char* type, auto get) {
      w.header(name, help, type);
      for (const auto& s : state.scopes) {
        if (auto v = get(s)) {
          w.begin(name);
          scope_labels(w, s);
          w.value(*v);
        }
      }
    };
    scope_family("acmon_collector_up", "1 if the last run of the collector scope succeeded", "gauge",
                 [](const model::ScopeStatus& s) { return std::optional<double>(s.last_ok ? 1 : 0); });
    scope_family("acmon_collector_last_success_timestamp_seconds",
                 "Time of the last successful run of the collector scope, Unix seconds", "gauge",
                 [](const model::ScopeStatus& s) {
                   return s.last_success_at ? std::optional<double>(static_cast<double>(*s.last_success_at))
                                            : std::nullopt;
                 });
    scope_family("acmon_collector_last_run_duration_seconds", "Duration of the last run of the collector scope",
                 "gauge", [](const model::ScopeStatus& s) { return std::optional<double>(s.last_duration_seconds); });
    w.header("acmon_collector_runs_total", "Runs of the collector scope by result", "counter");
    for (const auto& s : state.scopes) {
      for (const char* result : {"success", "failure"}) {
        w.begin("acmon_collector_runs_total");
        scope_labels(w, s);
        w.label("result", result);
        w.value(static_cast<double>(result[0] == 's' ? s.successes : s.failures));
      }
    }
    scope_family("acmon_collector_codes", "Codes in the last complete listing of the collector scope", "gauge",
                 [](const model::ScopeStatus& s) { return std::optional<double>(s.codes); });
    w.header("acmon_alert_active", "1 per active acmon alert, with the alert's labels", "gauge");
    for (const auto& a : state.alerts) {
      w.begin("acmon_alert_active");
      a.for_each_label([&](std::string_view k, std::string_view v) { w.label(k, v); });
      w.value(1);
    }
  } catch (const std::exception&) {
    // A scrape must not take the daemon down; what was written stands, the rest is missing.
  }
}

std::vector<MetricFamily> ProcessCollectable::Collect() const {
  std::vector<MetricFamily> out;
  try {
    std::ifstream in("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) {
      return out;
    }
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> f;
    std::string field;
    while (fields >> field) {
      f.push_back(field);
    }
    // Fields counted from 3 (state) in proc(5): utime 14, stime 15, starttime 22, rss 24.
    auto at = [&](int n) { return std::stod(f.at(static_cast<std::size_t>(n - 3))); };
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double boot = 0;
    std::ifstream ps("/proc/stat");
    for (std::string line; std::getline(ps, line);) {
      if (line.rfind("btime ", 0) == 0) {
        boot = std::stod(line.substr(6));
      }
    }
    std::size_t fds = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
      ++fds;
    }
    auto cpu =
        family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", MetricType::Counter);
    add(cpu, {}, (at(14) + at(15)) / ticks);
    auto rss = family("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge);
    add(rss, {}, at(24) * static_cast<double>(sysconf(_SC_PAGESIZE)));
    auto start = family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                        MetricType::Gauge);
    add(start, {}, boot > 0 ? boot + at(22) / ticks : k_started);
    auto open = family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge);
    add(open, {}, static_cast<double>(fds));
    out = {std::move(cpu), std::move(rss), std::move(start), std::move(open)};
  } catch (const std::exception&) {
    out.clear();
  }
  return out;
}

ApiMetrics::ApiMetrics()
    : m_registry(std::make_shared<prometheus::Registry>()),
      m_requests(prometheus::BuildCounter()
                     .Name("acmon_api_requests_total")
                     .Help("Cloud API requests by product, action and outcome (HTTP status or error code)")
                     .Register(*m_registry)),
      m_duration(prometheus::BuildHistogram()
                     .Name("acmon_api_request_duration_seconds")
                     .Help("Duration of cloud API requests")
                     .Register(*m_registry)),
      m_retries(prometheus::BuildCounter()
                    .Name("acmon_api_retries_total")
                    .Help("Retried cloud API requests")
                    .Register(*m_registry)) {
  prometheus::BuildGauge()
      .Name("acmon_build_info")
      .Help("acmon's version; always 1")
      .Register(*m_registry)
      .Add({{"version", ACMON_VERSION}})
      .Set(1);
}

std::string code_label(std::string_view code) {
  // Every label value is a series: a server that answered a new Code each time would grow the
  // registry without bound. Codes outside this set (or that are no HTTP status) count as "other".
  static const std::set<std::string, std::less<>> k_known{
      // outcomes that are no API code: ErrorKind names
      "network", "timeout", "http", "api", "parse", "db", "config", "usage",
      // documented by the APIs acmon calls (API.md)
      "InternalError", "InternalError.Dispatch", "InvalidParam.PageNumber", "InvalidParam.PageSize",
      "InvalidParameter.NextToken", "InvalidParameter.MaxResults", "RegionId.ApiNotSupported", "Operation.Forbidden",
      "Throttling", "Throttling.User", "Throttling.Api", "ServiceUnavailable", "SignatureDoesNotMatch",
      "IncompleteSignature", "InvalidAccessKeyId.NotFound", "InvalidTimeStamp.Expired", "InvalidTimeStamp.Format",
      "SignatureNonceUsed", "InvalidSecurityToken.Expired", "InvalidSecurityToken.Mismatch", "EntityNotExist.Role",
      "NoPermission", "InvalidParameter.RoleSessionName", "InvalidParameter.DurationSeconds",
      "EntityNotExists.ResourceDirectory", "InvalidAction.NotFound", "InvalidRegionId.NotFound",
      "InvalidAliyunOrderId.NotFound", "InvalidParam.Count", "InvalidParam.TimeToLiveInDays",
      "AuthenticationFail.NoPermission", "AuthenticationFail.OIDCToken.Expired", "AuthenticationFail.OIDCToken.Invalid",
      "AuthenticationFail.OIDCToken.AudienceNotMatch", "AuthenticationFail.OIDCToken.IssuerNotMatch"};
  const bool http_status = code.size() == 3 && code[0] >= '1' && code[0] <= '5' &&
                           std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (http_status || k_known.count(code) > 0) {
    return std::string(code);
  }
  return "other";
}

void ApiMetrics::on_attempt(const std::string& product, const std::string& action, const std::string& code,
                            double seconds) {
  m_requests.Add({{"product", product}, {"action", action}, {"code", code_label(code)}}).Increment();
  static const prometheus::Histogram::BucketBoundaries k_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                 0.5,   1,    2.5,   5,    10};
  m_duration.Add({{"product", product}, {"action", action}}, k_buckets).Observe(seconds);
}

void ApiMetrics::on_retry(const std::string& product, const std::string& action) {
  m_retries.Add({{"product", product}, {"action", action}}).Increment();
}

void write_all(const model::Snapshot& state, const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables,
               const Sink& sink, std::optional<UnixTime> now) {
  write_snapshot(state, sink, now);
  sink(render(collectables));
}

std::string render(const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables) {
  std::vector<MetricFamily> all;
  for (const auto& c : collectables) {
    auto fams = c->Collect();
    all.insert(all.end(), std::make_move_iterator(fams.begin()), std::make_move_iterator(fams.end()));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, all);
  return out.str();
}

}  // namespace acmon::metrics
