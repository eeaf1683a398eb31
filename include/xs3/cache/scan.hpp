// The start-up scan: rebuilds the index from the cache directory on a background thread while
// the proxy already serves. Each cache file's header is read and checked (a file whose metadata
// does not match its size is removed), its blocks on disk and its persisted last access (mtime)
// go into the index, and its bucket/key into the name view. Stale temp directories of earlier
// runs (Store::retire_temp_dir) and cache files outside their place in the hierarchy (left by a
// different --cache-hierarchy-level) are removed; other files are left alone and counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "xs3/cache/index.hpp"
#include "xs3/cache/store.hpp"

namespace xs3::cache {

enum class ScanState { idle, running, done, failed, stopped };

std::string_view scan_state_name(ScanState s) noexcept;

struct ScanStats {
    ScanState state = ScanState::idle;
    uint64_t files = 0;  // cache files added to the index (or found there already)
    uint64_t bytes = 0;  // their blocks on disk
    uint64_t removed_broken = 0;
    uint64_t removed_misplaced = 0;
    uint64_t removed_temp = 0;  // files in stale temp directories
    uint64_t foreign = 0;       // entries that are not ours, left alone
    uint64_t errors = 0;        // unreadable directories or files (logged)
    uint64_t elapsed_ms = 0;
};

class CacheScan {
  public:
    CacheScan(const Store& store, CacheIndex& index);
    ~CacheScan();  // stop()
    CacheScan(const CacheScan&) = delete;
    CacheScan& operator=(const CacheScan&) = delete;

    // Marks the index as scanning (so hits and removals that happen meanwhile are remembered) and
    // starts the thread. Call before serving starts.
    void start();
    // Ends a running scan early (the index keeps what was found) and joins. Idempotent.
    void stop();
    // Waits for the scan to finish.
    void join();
    // The scan on the calling thread, start to end (what the thread runs); for tests and tools.
    void run();

    ScanStats stats() const;

    // Called on the scan thread after each batch is in the index (for progress logs and tests);
    // set before start().
    void set_progress(std::function<void(const ScanStats&)> progress) {
        progress_ = std::move(progress);
    }
    // Called on the scan thread once the scan is over and the index has everything it found
    // (e.g. to tell the proxy its name view is now complete); set before start().
    void set_on_finished(std::function<void(const ScanStats&)> finished) {
        finished_ = std::move(finished);
    }

  private:
    class Walker;

    const Store& store_;
    CacheIndex& index_;
    std::function<void(const ScanStats&)> progress_;
    std::function<void(const ScanStats&)> finished_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    mutable std::mutex mu_;
    ScanStats stats_;
};

}  // namespace xs3::cache
