// BlockPool: reusable, 4 KiB-aligned memory blocks of one size, for the copy path of responses
// (read from a file, then send) and for O_DIRECT cache writes. Blocks above the allocator's mmap
// threshold would otherwise be mmapped and unmapped once per use. One pool per thread (no locking);
// a block may be handed back on that thread only.
#pragma once

#include <cstddef>
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

    // `block_size` is rounded up to kAlignment; at most `max_idle` blocks are kept for reuse.
    explicit BlockPool(size_t block_size, size_t max_idle = 64);
    BlockPool(const BlockPool&) = delete;
    BlockPool& operator=(const BlockPool&) = delete;

    size_t block_size() const noexcept { return block_size_; }
    // A block of block_size() bytes, or nullptr when memory is exhausted.
    Block acquire() noexcept;
    void release(Block block) noexcept;
    size_t idle() const noexcept { return idle_.size(); }
    // Blocks handed out and not yet released (for tests and metrics).
    size_t outstanding() const noexcept { return outstanding_; }

  private:
    size_t block_size_;
    size_t max_idle_;
    size_t outstanding_ = 0;
    std::vector<Block> idle_;
};

}  // namespace xs3::ring
