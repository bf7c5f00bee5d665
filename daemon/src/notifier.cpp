// Service: the notifier thread, delivering what each receiver is owed with backoff.
#include "service_parts.hpp"

namespace acmon::daemon {

std::vector<std::string> Service::notify_once() {
  std::vector<std::string> errors;
  std::shared_ptr<Generation> gen;
  {
    std::lock_guard lock(m_sched_mutex);
    gen = m_gen;
  }
  const std::string generator = "http://" + gen->cfg.daemon.listen + "/metrics";
  for (const auto& n : gen->cfg.notify) {
    auto r = deliver(n, m_notify_transport, *m_store, m_store_mutex, m_clock.now(), generator);
    if (!r) {
      errors.push_back(target_name(n) + ": " + r.error().describe());
    }
  }
  return errors;
}

void Service::notifier_loop() {
  std::map<std::string, std::pair<int, Steady::time_point>> receivers;  // failures, next attempt
  std::mt19937_64 rng(std::random_device{}());
  while (!m_stop.load()) {
    bool receivers_configured = false;
    {
      std::lock_guard lock(m_sched_mutex);
      receivers_configured = !m_gen->cfg.notify.empty();
    }
    {
      std::unique_lock lock(m_notify_mutex);
      const auto due = [&] { return m_stop.load() || m_notify_pending; };
      if (receivers_configured) {
        m_notify_cv.wait_for(lock, m_options.notify_every, due);
      } else {
        m_notify_cv.wait(lock, due);  // nobody to tell: asleep until a reload brings a receiver
      }
      m_notify_pending = false;
    }
    if (m_stop.load()) {
      return;
    }
    std::shared_ptr<Generation> gen;
    {
      std::lock_guard lock(m_sched_mutex);
      gen = m_gen;
    }
    const std::string generator = "http://" + gen->cfg.daemon.listen + "/metrics";
    // Alertmanager receivers first, and again after each webhook's turn (round_order): their
    // resends keep live alerts from resolving there. A webhook that sent something may be owed
    // more: the next round comes at once, and ends when none sends.
    const auto order = round_order(gen->cfg.notify);
    bool again = false;
    for (const config::Notify* receiver : order) {
      const config::Notify& n = *receiver;
      const auto target = target_name(n);
      auto& [failures, next] = receivers[target];
      if (Steady::now() < next) {
        continue;
      }
      auto r = deliver(n, m_notify_transport, *m_store, m_store_mutex, m_clock.now(), generator);
      if (r) {
        if (failures > 0) {
          spdlog::info("notifications to {} delivered again", target);
        }
        failures = 0;
        again = again || (*r > 0 && n.type == config::Notify::Type::webhook);
        continue;
      }
      ++failures;
      next = Steady::now() + backoff(failures + 1, milliseconds(1000), milliseconds(300000), rng);
      spdlog::warn("notifications to {} failed ({} in a row, next try in {} s): {}", target, failures,
                   std::chrono::duration_cast<std::chrono::seconds>(next - Steady::now()).count(),
                   r.error().describe());
    }
    if (again) {
      std::lock_guard lock(m_notify_mutex);
      m_notify_pending = true;
    }
  }
}

}  // namespace acmon::daemon
