// Evictor: the cache's housekeeping thread, off the rings. Every --gc-interval-seconds, or when
// the index wakes it, one pass: unlink what the index dropped (reservations that made room,
// invalidations), sample free space on the cache filesystem, evict least recently used objects
// per plan_eviction(), and persist a batch of last-access times as mtimes. stop() finishes with
// every pending removal and every last-access time, so a restart keeps the LRU order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "xs3/base/status.hpp"
#include "xs3/cache/eviction_policy.hpp"
#include "xs3/cache/index.hpp"
#include "xs3/cache/store.hpp"

namespace xs3::cache {

struct EvictorOptions {
    uint64_t max_bytes = 0;
    unsigned watermark_percent = 95;
    unsigned target_percent = 90;
    FreeSpaceFloor min_free;
    std::chrono::milliseconds interval{15000};
    size_t stamps_per_pass = 16384;  // last-access times written per pass (all of them at stop)
};

struct FsSpace {
    uint64_t total_bytes = 0;
    uint64_t free_bytes = 0;  // available to unprivileged users (f_bavail)
};

using FsSpaceFn = std::function<Result<FsSpace>(const std::string& path)>;

// statvfs(path).
Result<FsSpace> statvfs_space(const std::string& path);

struct EvictorStats {
    uint64_t passes = 0;
    uint64_t evicted_objects = 0;  // by the evictor's own passes (the index counts all)
    uint64_t evicted_bytes = 0;
    uint64_t files_removed = 0;  // files unlinked, for evictions and queued removals together
    uint64_t remove_errors = 0;
    uint64_t stamps_written = 0;
    uint64_t stamp_errors = 0;
    bool have_fs = false;
    uint64_t fs_total_bytes = 0;
    uint64_t fs_free_bytes = 0;
    uint64_t fs_floor_bytes = 0;
};

class Evictor {
  public:
    // Registers its wake-up with the index (CacheIndex::set_wake), so construct it before the
    // index is used from other threads.
    Evictor(CacheIndex& index, const Store& store, EvictorOptions options,
            FsSpaceFn fs_space = statvfs_space);
    ~Evictor();  // stop()
    Evictor(const Evictor&) = delete;
    Evictor& operator=(const Evictor&) = delete;

    // Starts the thread; its first pass runs at once.
    void start();
    // Stops the thread after its current pass, then drains removals and every last-access time on
    // the calling thread. Idempotent.
    void stop();
    // Asks for a pass now; cheap, callable from any thread.
    void wake() noexcept;

    // One pass on the calling thread: what the thread runs. For tests and tools; do not call it
    // while the thread runs.
    EvictionPlan run_pass();

    EvictorStats stats() const;
    const EvictorOptions& options() const noexcept { return options_; }

  private:
    void loop();
    void remove_all(const std::vector<Removal>& removals);
    void write_stamps(size_t max);

    CacheIndex& index_;
    const Store& store_;
    const EvictorOptions options_;
    FsSpaceFn fs_space_;

    std::mutex mu_;
    std::condition_variable cv_;
    bool wake_ = false;
    bool stopping_ = false;
    bool stopped_ = false;
    std::thread thread_;

    mutable std::mutex stats_mu_;
    EvictorStats stats_;
};

}  // namespace xs3::cache
