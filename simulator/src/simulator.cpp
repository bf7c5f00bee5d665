#include "acmon/sim/simulator.hpp"

#include "sim_impl.hpp"

namespace acmon::sim {

using nlohmann::json;

FaultSpec fault_from_json(const json& j) {
  if (!j.is_object()) {
    throw std::invalid_argument("a fault must be a JSON object");
  }
  static const std::unordered_set<std::string> k_kinds{
      "throttle",  "error500", "error503", "delay",   "malformed", "truncated", "drop",       "error",
      "lie_total", "reset",    "short",    "html502", "empty200",  "change",    "empty_page", "hostile"};
  FaultSpec f;
  f.kind = j.value("kind", "");
  if (k_kinds.count(f.kind) == 0) {
    throw std::invalid_argument("unknown fault kind '" + f.kind + "'");
  }
  f.action = j.value("action", "*");
  f.after = j.value("after", 0);
  f.times = j.value("times", 1);
  f.probability = j.value("probability", 0.0);
  f.seed = j.value("seed", std::uint64_t{1});
  f.delay_ms = j.value("delay_ms", 0);
  f.code = j.value("code", "");
  f.status = j.value("status", 0);
  if (f.after < 0 || f.times < 0 || f.probability < 0 || f.probability > 1 || f.delay_ms < 0) {
    throw std::invalid_argument("fault numbers out of range");
  }
  // 200 too: some gateways answer an error document, RequestId and all, under a success status.
  if (f.kind == "error" && (f.code.empty() || ((f.status < 400 || f.status > 599) && f.status != 200))) {
    throw std::invalid_argument("a fault of kind error needs code and a status of 200 or 400..599");
  }
  f.shape = j.value("shape", "");
  if (f.kind == "hostile" && f.shape != "deep" && f.shape != "wide" && f.shape != "long" && f.shape != "gzip") {
    throw std::invalid_argument("a fault of kind hostile needs a shape: deep, wide, long or gzip");
  }
  if (f.kind == "change") {
    f.add = j.value("add", json::array());
    for (const auto& id : j.value("remove", json::array())) {
      f.remove.push_back(id.is_string() ? id.get<std::string>() : id.dump());
    }
    if (!f.add.is_array() || (f.add.empty() && f.remove.empty())) {
      throw std::invalid_argument("a fault of kind change needs records to add or ids to remove");
    }
  }
  return f;
}

Simulator::Simulator(const json& data, Options options) : m_impl(std::make_unique<Impl>(data, options)) {
  m_impl->routes();
}

Simulator::~Simulator() {
  stop();
}

int Simulator::start(const std::string& host, int port) {
  auto& s = m_impl->server;
  const int threads = m_impl->options.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(100000);
  s.set_keep_alive_timeout(2);  // also bounds how long stop() waits for idle connections
  s.set_payload_max_length(8 * 1024 * 1024);
  if (port == 0) {
    m_impl->port = s.bind_to_any_port(host);
  } else {
    m_impl->port = s.bind_to_port(host, port) ? port : -1;
  }
  if (m_impl->port <= 0) {
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port));
  }
  m_impl->host = host;
  m_impl->thread = std::thread([this] { m_impl->server.listen_after_bind(); });
  while (!m_impl->server.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return m_impl->port;
}

void Simulator::stop() {
  if (m_impl && m_impl->thread.joinable()) {
    m_impl->server.stop();
    m_impl->thread.join();
  }
}

std::string Simulator::base_url() const {
  return "http://" + m_impl->host + ":" + std::to_string(m_impl->port);
}

void Simulator::set_faults(const json& faults) {
  m_impl->set_faults(faults);
}
void Simulator::add_fault(const FaultSpec& fault) {
  std::lock_guard lock(m_impl->fault_mutex);
  m_impl->faults.emplace_back(fault);
}
void Simulator::upsert(const std::string& product, const json& record) {
  m_impl->upsert(product, record);
}
bool Simulator::remove(const std::string& product, const std::string& id) {
  return m_impl->remove(product, id);
}
bool Simulator::patch(const std::string& product, const std::string& id, const json& fields) {
  return m_impl->patch(product, id, fields);
}
json Simulator::stats() const {
  return m_impl->stats();
}

}  // namespace acmon::sim
