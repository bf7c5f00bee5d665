// WorkerPool: the bound on concurrent tasks, wait(), and stop() dropping what has not started.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "acmon/daemon/worker_pool.hpp"

using acmon::daemon::WorkerPool;

TEST(WorkerPool, NeverRunsMoreTasksAtOnceThanItHasThreads) {
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<int> done{0};
  {
    WorkerPool pool(3);
    for (int i = 0; i < 40; ++i) {
      pool.post([&] {
        const int now = ++running;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        --running;
        ++done;
      });
    }
    pool.wait();
    // wait() returned: every task posted before it has finished.
    EXPECT_EQ(done.load(), 40);
  }
  EXPECT_LE(most.load(), 3);
  EXPECT_GE(most.load(), 2);  // and the threads did run side by side
}

TEST(WorkerPool, StopDropsTasksThatHaveNotStartedAndFinishesRunningOnes) {
  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  WorkerPool pool(1);
  for (int i = 0; i < 5; ++i) {
    pool.post([&] {
      ++started;
      while (!release.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      ++finished;
    });
  }
  while (started.load() == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::thread stopper([&] { pool.stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  release = true;
  stopper.join();
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(finished.load(), 1);
  pool.post([&] { ++started; });  // after stop: ignored
  pool.wait();
  EXPECT_EQ(started.load(), 1);
}
