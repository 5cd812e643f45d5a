// C++ threads built static with g++: std::thread, std::async, std::mutex, std::shared_mutex,
// std::condition_variable, std::atomic, std::call_once and function-local statics (all of
// which reach futex through libstdc++).
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <numeric>
#include <queue>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

struct Registry {
  Registry() { ++constructions; }
  static inline std::atomic<int> constructions{0};
};
Registry& registry() {
  static Registry r;  // a function-local static: __cxa_guard_acquire
  return r;
}

int main() {
  std::mutex mu;
  long count = 0;
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&] {
      for (int k = 0; k < 10000; ++k) {
        std::lock_guard g(mu);
        ++count;
      }
      registry();
    });
  for (auto& t : ts) t.join();
  std::printf("std::mutex: %ld, static constructed %d time(s)\n", count, Registry::constructions.load());

  std::vector<std::future<long>> fs;
  for (long i = 1; i <= 6; ++i)
    fs.push_back(std::async(std::launch::async, [i] {
      long s = 0;
      for (long k = 1; k <= 1000 * i; ++k) s += k;
      return s;
    }));
  long total = 0;
  for (auto& f : fs) total += f.get();
  std::printf("std::async: %ld\n", total);

  std::shared_mutex sm;
  std::atomic<long> reads{0};
  long value = 0;
  std::vector<std::thread> rw;
  for (int i = 0; i < 4; ++i)
    rw.emplace_back([&, i] {
      for (int k = 0; k < 2000; ++k) {
        if (k % 4 == i) {
          std::unique_lock g(sm);
          value += 2;
        } else {
          std::shared_lock g(sm);
          if (value % 2 == 0) ++reads;
        }
      }
    });
  for (auto& t : rw) t.join();
  std::printf("std::shared_mutex: value %ld, even reads %ld\n", value, reads.load());

  std::condition_variable cv;
  std::queue<int> q;
  bool done = false;
  long consumed = 0;
  std::thread consumer([&] {
    std::unique_lock g(mu);
    for (;;) {
      cv.wait(g, [&] { return !q.empty() || done; });
      while (!q.empty()) consumed += q.front(), q.pop();
      if (done) break;
    }
  });
  for (int i = 1; i <= 1000; ++i) {
    std::lock_guard g(mu);
    q.push(i);
    cv.notify_one();
  }
  {
    std::lock_guard g(mu);
    done = true;
  }
  cv.notify_one();
  consumer.join();
  std::printf("std::condition_variable: %ld\n", consumed);

  std::atomic<long> hits{0};
  std::once_flag once;
  int once_runs = 0;
  std::vector<std::thread> at;
  for (int i = 0; i < 6; ++i)
    at.emplace_back([&] {
      std::call_once(once, [&] { ++once_runs; });
      for (int k = 0; k < 50000; ++k) hits.fetch_add(1);
    });
  for (auto& t : at) t.join();
  std::printf("std::atomic: %ld, call_once ran %d\n", hits.load(), once_runs);
  return 0;
}
