// The one pool of worker threads: `acmon sync`'s pass (Syncer::run), the daemon's scheduler
// (Service::scheduler_loop) and Service::run_all_once all run their scopes on it, at most
// `threads` at a time, so a slow scope holds only its own worker.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace acmon::daemon {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues a task; tasks start in the order posted.
  void post(std::function<void()> task);
  // Returns once every task posted so far has finished.
  void wait();
  // Tasks not yet started are dropped, running ones finish, the threads are joined. Idempotent.
  void stop();

 private:
  void work();

  // Lock order: m_mutex is a leaf; no task runs under it.
  std::mutex m_mutex;
  std::condition_variable m_ready;
  std::condition_variable m_idle;
  std::deque<std::function<void()>> m_queue;
  int m_busy = 0;
  bool m_stopping = false;
  std::vector<std::thread> m_threads;
};

}  // namespace acmon::daemon
