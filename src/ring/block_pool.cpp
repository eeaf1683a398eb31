// BlockPool: aligned blocks kept for reuse.
#include "xs3/ring/block_pool.hpp"

namespace xs3::ring {

BlockPool::BlockPool(size_t block_size, size_t max_idle)
    : block_size_((block_size + kAlignment - 1) / kAlignment * kAlignment), max_idle_(max_idle) {
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
        b.reset(static_cast<char*>(raw));
    }
    ++outstanding_;
    return b;
}

void BlockPool::release(Block block) noexcept {
    if (!block) return;
    --outstanding_;
    if (idle_.size() < max_idle_) idle_.push_back(std::move(block));
}

}  // namespace xs3::ring
