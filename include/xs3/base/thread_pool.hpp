// ThreadPool: a few threads for work that may block (open/fsync/rename/unlink/statfs on the cache
// filesystem), so ring threads never do. Results go back to a ring with Ring::post.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace xs3 {

class ThreadPool {
  public:
    explicit ThreadPool(unsigned threads, const char* name = "xs3-blocking");
    ~ThreadPool();  // shutdown()
    // Runs what is queued (and what those jobs submit), then joins the threads. Idempotent;
    // jobs submitted afterwards are dropped unrun.
    void shutdown();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    void submit(std::function<void()> job);
    size_t queued() const;

  private:
    void loop();
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    bool stopping_ = false;
};

}  // namespace xs3
