// BlockPool: reusable, 4 KiB-aligned memory blocks of one size, for the copy path of responses
// (read from a file, then send) and for O_DIRECT cache writes. Blocks above the allocator's mmap
// threshold would otherwise be mmapped and unmapped once per use. One pool per thread (no locking);
// a block may be handed back on that thread only.
//
// Buffers (acquire_buffer) are the budgeted side: file bytes read ahead for sending. Large ones
// are pooled blocks, small ones an allocation of their own size (a 4 KiB object should not hold a
// 1 MiB block), and all of them count against the pool's byte budget, so the read-ahead of every
// connection on a worker together stays bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

namespace xs3::ring {

class BlockPool {
  public:
    struct Free {
        void operator()(char* p) const noexcept { std::free(p); }
    };
    using Block = std::unique_ptr<char, Free>;
    static constexpr size_t kAlignment = 4096;

    // A budgeted buffer: `capacity` bytes at `mem` (a pooled block when capacity == block_size()).
    struct Buffer {
        Block mem;
        size_t capacity = 0;
        char* data() const noexcept { return mem.get(); }
        explicit operator bool() const noexcept { return mem != nullptr; }
    };

    // `block_size` is rounded up to kAlignment; at most `max_idle` blocks are kept for reuse;
    // buffers handed out by acquire_buffer() hold at most `budget` bytes together (beyond it only
    // a forced one is given).
    explicit BlockPool(size_t block_size, size_t max_idle = 64, size_t budget = SIZE_MAX);
    BlockPool(const BlockPool&) = delete;
    BlockPool& operator=(const BlockPool&) = delete;

    size_t block_size() const noexcept { return block_size_; }
    // A block of block_size() bytes, or nullptr when memory is exhausted. Not budgeted.
    Block acquire() noexcept;
    void release(Block block) noexcept;
    size_t idle() const noexcept { return idle_.size(); }
    // Frees every idle block and small buffer: the memory a pool that went quiet gives back.
    void drop_idle() noexcept;
    // Blocks handed out and not yet released (for tests and metrics), buffers included.
    size_t outstanding() const noexcept { return outstanding_; }

    // A buffer for `size` (1..block_size()) bytes: a pooled block for sizes above a quarter of a
    // block, otherwise a smaller buffer of the next power of two from 4 KiB, kept for reuse too
    // (malloc of a few KiB per hit measured ~10% of a small hit's CPU: such sizes bypass
    // glibc's per-thread cache and consolidate its bins). Small ones are not aligned (they serve
    // buffered reads). Empty when the budget would be exceeded (unless `force`: a caller holding
    // no buffer must always make progress) or memory is exhausted.
    //
    // A forced buffer beyond the budget holds at most kForcedMax bytes, so its capacity may be
    // less than `size` (the caller reads capacity bytes): what connections hold beyond the budget
    // is one such step each, whatever the block size (with 1 MiB blocks, 1,000 connections over
    // the budget would otherwise pin 1 GiB).
    static constexpr size_t kForcedMax = 256 * 1024;
    static_assert(kForcedMax % kAlignment == 0 && (kForcedMax & (kForcedMax - 1)) == 0,
                  "a forced buffer is one of the small size classes");
    Buffer acquire_buffer(size_t size, bool force) noexcept;
    void release(Buffer buffer) noexcept;
    size_t budget() const noexcept { return budget_; }
    // Bytes held by buffers handed out and not yet released.
    size_t buffered() const noexcept { return buffered_; }
    // Buffers and blocks handed out so far.
    uint64_t acquisitions() const noexcept { return acquisitions_; }
    // Called every period by the pool's owner with the same `mark`: frees the idle memory when
    // nothing was handed out since the last call and nothing is outstanding (the pool went
    // quiet for a whole period), and returns whether it did.
    bool drop_idle_if_quiet(uint64_t& mark) noexcept;

  private:
    size_t block_size_;
    size_t max_idle_;
    size_t budget_;
    size_t buffered_ = 0;
    size_t outstanding_ = 0;
    uint64_t acquisitions_ = 0;
    std::vector<Block> idle_;
    // Idle small buffers by size class: 4 KiB << index.
    static constexpr size_t kSmallClasses = 16;
    std::vector<Block> small_idle_[kSmallClasses];
};

}  // namespace xs3::ring
