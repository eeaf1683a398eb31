// BlockPool: aligned blocks kept for reuse, and budgeted buffers.
#include "xs3/ring/block_pool.hpp"

#include <sys/mman.h>

namespace xs3::ring {
namespace {
// Idle small buffers kept per size class: enough for a worker's busy connections, at most 1 MiB.
constexpr size_t kSmallIdleBytes = 1 << 20;
constexpr size_t kSmallIdleMax = 256;

// A fresh block is mapped by the allocator but not backed: its first use takes a page fault per
// 4 KiB, each an exception into the kernel (on this machine's paravirtualised guest ~10 us apiece:
// 7.7 % of a cold GET's CPU went to first-touch faults of a new process's chunk buffers). One
// madvise backs the whole block in one call (Linux 5.14; older kernels answer EINVAL and the
// faults stay as they were).
void prefault(void* p, size_t n) noexcept {
#ifdef MADV_POPULATE_WRITE
    (void)::madvise(p, n, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}

size_t small_class(size_t size) noexcept {
    size_t c = 0;
    while ((BlockPool::kAlignment << c) < size)
        ++c;
    return c;
}
}  // namespace

BlockPool::BlockPool(size_t block_size, size_t max_idle, size_t budget)
    : block_size_((block_size + kAlignment - 1) / kAlignment * kAlignment),
      max_idle_(max_idle),
      budget_(budget) {
    if (block_size_ == 0) block_size_ = kAlignment;
}

BlockPool::Block BlockPool::acquire() noexcept {
    Block b;
    if (!idle_.empty()) {
        b = std::move(idle_.back());
        idle_.pop_back();
    } else {
        void* raw = nullptr;
        if (::posix_memalign(&raw, kAlignment, block_size_) != 0) return nullptr;
        prefault(raw, block_size_);
        b.reset(static_cast<char*>(raw));
    }
    ++outstanding_;
    ++acquisitions_;
    return b;
}

void BlockPool::drop_idle() noexcept {
    idle_.clear();
    for (auto& v : small_idle_)
        v.clear();
}

bool BlockPool::drop_idle_if_quiet(uint64_t& mark) noexcept {
    const bool quiet = acquisitions_ == mark && outstanding_ == 0;
    mark = acquisitions_;
    if (!quiet) return false;
    drop_idle();
    return true;
}

void BlockPool::release(Block block) noexcept {
    if (!block) return;
    --outstanding_;
    if (idle_.size() < max_idle_) idle_.push_back(std::move(block));
}

BlockPool::Buffer BlockPool::acquire_buffer(size_t size, bool force) noexcept {
    Buffer b;
    if (size == 0 || size > block_size_) return b;
    size_t cls = small_class(size);
    bool small =
        size <= block_size_ / 4 && cls < kSmallClasses && (kAlignment << cls) < block_size_;
    size_t capacity = small ? kAlignment << cls : block_size_;
    if (buffered_ + capacity > budget_) {
        if (!force) return b;
        if (capacity > kForcedMax) {  // beyond the budget: one step of at most kForcedMax
            cls = small_class(kForcedMax);
            small = kForcedMax < block_size_;
            capacity = small ? kForcedMax : block_size_;
        }
    }
    if (!small) {
        b.mem = acquire();
        if (!b.mem) return b;
        --outstanding_;  // counted again below, once, like a small buffer
        --acquisitions_;
    } else if (!small_idle_[cls].empty()) {
        b.mem = std::move(small_idle_[cls].back());
        small_idle_[cls].pop_back();
    } else {
        b.mem.reset(static_cast<char*>(std::malloc(capacity)));
        if (!b.mem) return b;
    }
    b.capacity = capacity;
    buffered_ += capacity;
    ++outstanding_;
    ++acquisitions_;
    return b;
}

void BlockPool::release(Buffer buffer) noexcept {
    if (!buffer.mem) return;
    buffered_ -= buffer.capacity;
    if (buffer.capacity == block_size_) {
        release(std::move(buffer.mem));
        return;
    }
    --outstanding_;
    size_t cls = small_class(buffer.capacity);
    if (small_idle_[cls].size() < kSmallIdleMax &&
        (small_idle_[cls].size() + 1) * buffer.capacity <= kSmallIdleBytes)
        small_idle_[cls].push_back(std::move(buffer.mem));
    buffer.mem.reset();
}

}  // namespace xs3::ring
