// ChunkProgress: per-chunk progress atomics and lost-wake-up-free waiting.
#include "xs3/fetch/progress.hpp"

namespace xs3::fetch {

void ChunkProgress::init(const ChunkPlan& plan) {
    chunks_ = plan.chunks;
    chunk_size_ = plan.chunk_size;
    size_ = chunks_.empty() ? 0 : chunks_.back().offset + chunks_.back().length;
    written_.reset(new std::atomic<uint64_t>[chunks_.size() + 1]);
    for (size_t i = 0; i <= chunks_.size(); ++i)
        written_[i].store(0, std::memory_order_relaxed);
}

uint64_t ChunkProgress::available_from(uint64_t pos) const noexcept {
    if (pos >= size_ || chunk_size_ == 0) return 0;
    size_t i = static_cast<size_t>(pos / chunk_size_);
    uint64_t start = chunks_[i].offset;
    uint64_t w = written_[i].load(std::memory_order_acquire);
    return start + w > pos ? start + w - pos : 0;
}

uint64_t ChunkProgress::contiguous_prefix() const noexcept {
    uint64_t prefix = 0;
    for (size_t i = 0; i < chunks_.size(); ++i) {
        uint64_t w = written_[i].load(std::memory_order_acquire);
        prefix += w;
        if (w < chunks_[i].length) break;
    }
    return prefix;
}

uint64_t ChunkProgress::written(size_t chunk) const noexcept {
    return chunk < chunks_.size() ? written_[chunk].load(std::memory_order_acquire) : 0;
}

void ChunkProgress::publish(size_t chunk, uint64_t written) {
    written_[chunk].store(written, std::memory_order_release);
    wake_all();
}

void ChunkProgress::wake_all() {
    std::vector<Waiter> ws;
    {
        std::lock_guard lk(mu_);
        if (waiters_.empty()) return;
        ws.swap(waiters_);
    }
    // A waiter on this very ring runs next turn without an eventfd round trip.
    ring::Ring* here = ring::Ring::current();
    for (auto& w : ws) {
        if (w.ring == here)
            w.ring->defer(std::move(w.wake));
        else
            w.ring->post(std::move(w.wake));
    }
}

bool ChunkProgress::wait(ring::Ring& ring, std::function<void()> wake,
                         const std::function<bool()>& ready) {
    std::lock_guard lk(mu_);
    if (ready()) return false;
    waiters_.push_back({&ring, std::move(wake)});
    return true;
}

size_t ChunkProgress::waiters() const {
    std::lock_guard lk(mu_);
    return waiters_.size();
}

}  // namespace xs3::fetch
