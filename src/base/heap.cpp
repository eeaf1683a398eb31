// HeapTrimmer: mallinfo2 every interval; malloc_trim(0) when the arenas hold a lot of free memory.
#include "xs3/base/heap.hpp"

#include <malloc.h>
#include <unistd.h>

#include <cstdio>

#include "xs3/base/log.hpp"

namespace xs3 {

HeapStats heap_stats() noexcept {
    struct mallinfo2 mi = ::mallinfo2();
    HeapStats s;
    s.in_use = mi.uordblks + mi.hblkhd;
    s.free = mi.fordblks;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        unsigned long size = 0, resident = 0;
        if (std::fscanf(f, "%lu %lu", &size, &resident) == 2)
            s.rss = uint64_t(resident) * uint64_t(::sysconf(_SC_PAGESIZE));
        std::fclose(f);
    }
    return s;
}

bool trim_heap() noexcept {
    return ::malloc_trim(0) != 0;
}

HeapTrimmer::HeapTrimmer(Options options) : options_(options) {
    thread_ = std::thread([this] { run(); });
}

HeapTrimmer::~HeapTrimmer() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void HeapTrimmer::run() {
    auto beyond = [](const HeapStats& s) { return s.rss > s.in_use ? s.rss - s.in_use : 0; };
    uint64_t baseline = beyond(heap_stats());
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, options_.interval, [this] { return stop_; })) {
        lock.unlock();
        // mallinfo2 and malloc_trim take each arena's lock in turn, briefly: a worker's malloc
        // may wait a few milliseconds, every few seconds at most, and only after a burst.
        HeapStats s = heap_stats();
        if (should_trim(s, baseline, options_.min_growth)) {
            trim_heap();
            HeapStats after = heap_stats();
            baseline = beyond(after);
            trims_.fetch_add(1, std::memory_order_relaxed);
            if (s.rss > after.rss)
                released_.fetch_add(s.rss - after.rss, std::memory_order_relaxed);
            XS3_LOG_DEBUG("heap trimmed", kv("rss_before", s.rss), kv("rss_after", after.rss),
                          kv("in_use", after.in_use));
        } else if (beyond(s) < baseline) {
            baseline = beyond(s);  // memory went back by itself: measure growth from here
        }
        lock.lock();
    }
}

}  // namespace xs3
