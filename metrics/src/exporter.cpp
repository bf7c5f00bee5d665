#include "acmon/metrics/exporter.hpp"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
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

std::vector<ClientMetric::Label> code_labels(const db::StoredCode& s) {
  const auto& c = s.code;
  std::vector<ClientMetric::Label> l{{"product", config::to_string(c.product)}, {"account", c.account}, {"id", c.id}};
  if (c.product == config::Product::ecs) {
    l.push_back({"region", c.region});
  } else if (c.product == config::Product::polardb) {
    l.push_back({"order_id", c.order_id});
  }
  return l;
}

std::vector<ClientMetric::Label> scope_labels(const db::ScopeStatus& s) {
  std::vector<ClientMetric::Label> l{
      {"collector", s.scope.collector}, {"product", config::to_string(s.scope.product)}, {"account", s.scope.account}};
  if (!s.scope.region.empty()) {
    l.push_back({"region", s.scope.region});
  }
  if (!s.scope.order_id.empty()) {
    l.push_back({"order_id", s.scope.order_id});
  }
  return l;
}

}  // namespace

std::vector<MetricFamily> StateCollectable::Collect() const {
  std::vector<MetricFamily> out;
  try {
    const auto state = m_source();
    if (!state) {
      return out;
    }
    auto info =
        family("acmon_code_info", "Activation code known to acmon; 1 per code (from the last poll)", MetricType::Gauge);
    auto limit =
        family("acmon_code_limit", "Maximum number of uses of the code (from the last poll)", MetricType::Gauge);
    auto registered =
        family("acmon_code_registered", "Uses of the code so far (from the last poll)", MetricType::Gauge);
    auto deregistered =
        family("acmon_code_deregistered", "Instances deregistered from an ECS activation code (from the last poll)",
               MetricType::Gauge);
    auto created = family("acmon_code_created_timestamp_seconds",
                          "Creation time of the code, Unix seconds (from the last poll)", MetricType::Gauge);
    auto expiry = family("acmon_code_expiry_timestamp_seconds",
                         "Expiry time of the code, Unix seconds (from the last poll)", MetricType::Gauge);
    for (const auto& s : state->codes) {
      auto l = code_labels(s);
      auto li = l;
      li.push_back({"name", s.code.name});
      li.push_back({"state", collectors::to_string(s.state)});
      li.push_back({"api_status", s.code.api_status.value_or("")});
      add(info, std::move(li), 1);
      if (s.code.limit) {
        add(limit, l, static_cast<double>(*s.code.limit));
      }
      if (s.code.registered) {
        add(registered, l, static_cast<double>(*s.code.registered));
      }
      if (s.code.product == config::Product::ecs && s.code.deregistered) {
        add(deregistered, l, static_cast<double>(*s.code.deregistered));
      }
      if (s.code.created_at) {
        add(created, l, static_cast<double>(*s.code.created_at));
      }
      if (s.code.expires_at) {
        add(expiry, std::move(l), static_cast<double>(*s.code.expires_at));
      }
    }
    auto up = family("acmon_collector_up", "1 if the last run of the collector scope succeeded", MetricType::Gauge);
    auto last_success =
        family("acmon_collector_last_success_timestamp_seconds",
               "Time of the last successful run of the collector scope, Unix seconds", MetricType::Gauge);
    auto duration = family("acmon_collector_last_run_duration_seconds",
                           "Duration of the last run of the collector scope", MetricType::Gauge);
    auto runs = family("acmon_collector_runs_total", "Runs of the collector scope by result", MetricType::Counter);
    auto count =
        family("acmon_collector_codes", "Codes in the last complete listing of the collector scope", MetricType::Gauge);
    for (const auto& s : state->scopes) {
      auto l = scope_labels(s);
      add(up, l, s.last_ok ? 1 : 0);
      if (s.last_success_at) {
        add(last_success, l, static_cast<double>(*s.last_success_at));
      }
      add(duration, l, s.last_duration_seconds);
      auto ls = l;
      ls.push_back({"result", "success"});
      add(runs, std::move(ls), static_cast<double>(s.successes));
      auto lf = l;
      lf.push_back({"result", "failure"});
      add(runs, std::move(lf), static_cast<double>(s.failures));
      add(count, std::move(l), s.codes);
    }
    auto active = family("acmon_alert_active", "1 per active acmon alert, with the alert's labels", MetricType::Gauge);
    for (const auto& a : state->alerts) {
      std::vector<ClientMetric::Label> l;
      for (auto& [k, v] : a.labels()) {
        l.push_back({k, v});
      }
      add(active, std::move(l), 1);
    }
    for (auto* f : {&info, &limit, &registered, &deregistered, &created, &expiry, &up, &last_success, &duration, &runs,
                    &count, &active}) {
      out.push_back(std::move(*f));
    }
  } catch (const std::exception&) {
    out.clear();  // never throw into the exposer; a scrape without these families shows the fault
  }
  return out;
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

void ApiMetrics::on_attempt(const std::string& product, const std::string& action, const std::string& code,
                            double seconds) {
  m_requests.Add({{"product", product}, {"action", action}, {"code", code}}).Increment();
  static const prometheus::Histogram::BucketBoundaries k_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                 0.5,   1,    2.5,   5,    10};
  m_duration.Add({{"product", product}, {"action", action}}, k_buckets).Observe(seconds);
}

void ApiMetrics::on_retry(const std::string& product, const std::string& action) {
  m_retries.Add({{"product", product}, {"action", action}}).Increment();
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
