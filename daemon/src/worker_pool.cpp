#include "acmon/daemon/worker_pool.hpp"

#include <algorithm>

namespace acmon::daemon {

WorkerPool::WorkerPool(int threads) {
  const int n = std::max(1, threads);
  m_threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    m_threads.emplace_back([this] { work(); });
  }
}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) {
      return;
    }
    m_queue.push_back(std::move(task));
  }
  m_ready.notify_one();
}

void WorkerPool::wait() {
  std::unique_lock lock(m_mutex);
  m_idle.wait(lock, [&] { return (m_queue.empty() || m_stopping) && m_busy == 0; });
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    m_queue.clear();
  }
  m_ready.notify_all();
  for (auto& t : m_threads) {
    if (t.joinable()) {
      t.join();
    }
  }
  m_threads.clear();
}

void WorkerPool::work() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(m_mutex);
      m_ready.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
      if (m_stopping) {
        return;
      }
      task = std::move(m_queue.front());
      m_queue.pop_front();
      ++m_busy;
    }
    task();
    {
      std::lock_guard lock(m_mutex);
      --m_busy;
    }
    m_idle.notify_all();
  }
}

}  // namespace acmon::daemon
