// Whether the cache can be written. A write that fails in a way that says the cache itself is
// unusable (read-only, missing, full, not permitted) turns it off: misses are passed through,
// and the cache is probed again every few seconds on the blocking pool until a probe file can be
// written (then it turns back on) or stop() is called.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "xs3/base/status.hpp"
#include "xs3/base/thread_pool.hpp"
#include "xs3/cache/store.hpp"

namespace xs3::cache {

class Writability {
  public:
    Writability(const Store& store, ThreadPool& pool,
                std::chrono::milliseconds probe_every = std::chrono::seconds(5))
        : store_(store), pool_(pool), probe_every_(probe_every) {}
    ~Writability() { stop(); }
    Writability(const Writability&) = delete;
    Writability& operator=(const Writability&) = delete;

    bool writable() const noexcept { return writable_.load(std::memory_order_relaxed); }
    // A cache write failed with `why`: access denied, no space, not found or an I/O error turn
    // the cache off (logged once) and start the probing; any other failure is the object's own.
    void failed(const Status& why);
    // The cache is not usable whatever the reason (the start-up check failed): off, and probing.
    void unusable(const Status& why);
    // Ends the probing (at shutdown, before the pool is joined).
    void stop();

  private:
    const Store& store_;
    ThreadPool& pool_;
    const std::chrono::milliseconds probe_every_;
    std::atomic<bool> writable_{true};
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
};

}  // namespace xs3::cache
