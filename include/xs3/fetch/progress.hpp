// ChunkProgress: how much of each chunk of a download is on disk, published through one atomic
// per chunk, and the readers (on any ring) sleeping until there is more. The protocol that makes
// a lost wake-up impossible:
//   reader: lock; re-check the atomics and its own condition; enqueue the waiter; unlock; sleep
//   writer: store progress (release); lock; take the waiters; unlock; wake each on its ring
// A writer that stores after the reader's re-check finds the waiter queued; one that stores
// before it is seen by the re-check. Wake-ups go through Ring::post (an eventfd that keeps its
// count), so a ring that is busy or asleep still runs them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "xs3/fetch/planner.hpp"
#include "xs3/ring/ring.hpp"

namespace xs3::fetch {

class ChunkProgress {
  public:
    // Sets the chunks (from the plan). Call once, before any reader can see this object (the
    // caller publishes it with a release store, e.g. its state).
    void init(const ChunkPlan& plan);

    uint64_t object_size() const noexcept { return size_; }
    // Contiguous bytes on disk starting at object offset `pos` (0 if none yet).
    uint64_t available_from(uint64_t pos) const noexcept;
    // Bytes [0, n) are all on disk.
    uint64_t contiguous_prefix() const noexcept;
    uint64_t written(size_t chunk) const noexcept;
    // The chunks (empty before init).
    const std::vector<ChunkRange>& chunks() const noexcept { return chunks_; }

    // Writer: chunk `chunk` now has `written` contiguous bytes on disk (never less than
    // before). Wakes the waiters.
    void publish(size_t chunk, uint64_t written);
    // Wakes every waiter: something else they wait for changed (the download's state).
    void wake_all();

    // Reader: registers `wake` to run on `ring` after the next publish or wake_all, unless
    // `ready()` — checked under the same lock, typically "available_from(pos) > 0 or the
    // download is over" — says there is something to do; then it returns false and registers
    // nothing.
    bool wait(ring::Ring& ring, std::function<void()> wake, const std::function<bool()>& ready);

    size_t waiters() const;

  private:
    struct Waiter {
        ring::Ring* ring;
        std::function<void()> wake;
    };

    std::vector<ChunkRange> chunks_;
    uint64_t chunk_size_ = 0;
    uint64_t size_ = 0;
    std::unique_ptr<std::atomic<uint64_t>[]> written_;
    mutable std::mutex mu_;
    std::vector<Waiter> waiters_;
};

}  // namespace xs3::fetch
