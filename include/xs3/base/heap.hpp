// The process heap after bursts. glibc keeps memory that was freed inside its arenas (one per
// thread group, up to 8 per CPU) instead of giving it back: after 5000 simultaneous requests the
// connection objects, S3 transfer buffers and copy blocks they held are free but still resident,
// and RSS stays at the peak for good (measured: 14 -> 501 MiB after 8 such bursts, with no leak).
// HeapTrimmer watches how much free memory the arenas hold and, when it is a lot, hands the free
// pages back to the kernel with malloc_trim(0) (which, unlike the automatic trim, also releases
// pages in the middle of an arena's heap).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace xs3 {

struct HeapStats {
    uint64_t in_use = 0;  // bytes handed out by malloc and not freed (mallinfo2 uordblks+hblkhd)
    uint64_t free = 0;    // bytes in free chunks of the arenas, resident or not (fordblks)
    uint64_t rss = 0;     // the process's resident memory (/proc/self/statm)
};
HeapStats heap_stats() noexcept;
// Returns free arena pages to the kernel; true if any memory was released.
bool trim_heap() noexcept;

class HeapTrimmer {
  public:
    struct Options {
        std::chrono::milliseconds interval{2000};
        // Trim when resident memory beyond what malloc has handed out (free arena pages that are
        // still resident, plus the code and the rings, which do not change) has grown by more
        // than this since the last trim: a steady state keeps what little it frees and reuses,
        // a burst that ended gives its memory back. A trim costs a few milliseconds of arena
        // locks and, for pages reused soon after, their page faults: every 2 s at most.
        uint64_t min_growth = 16ull << 20;
    };
    explicit HeapTrimmer(Options options);
    ~HeapTrimmer();  // stops and joins
    HeapTrimmer(const HeapTrimmer&) = delete;
    HeapTrimmer& operator=(const HeapTrimmer&) = delete;

    uint64_t trims() const noexcept { return trims_.load(std::memory_order_relaxed); }
    // Bytes the trims gave back, by RSS before and after.
    uint64_t released() const noexcept { return released_.load(std::memory_order_relaxed); }
    // Whether a check seeing `s` trims, when resident memory beyond malloc's was `baseline` right
    // after the last trim (or at start).
    static bool should_trim(const HeapStats& s, uint64_t baseline, uint64_t min_growth) noexcept {
        uint64_t beyond = s.rss > s.in_use ? s.rss - s.in_use : 0;
        uint64_t growth = beyond > baseline ? beyond - baseline : 0;
        return growth > min_growth;
    }

  private:
    void run();

    const Options options_;
    std::atomic<uint64_t> trims_{0};
    std::atomic<uint64_t> released_{0};
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace xs3
