// BufferRing: a ring of kernel-provided receive buffers (IORING_REGISTER_PBUF_RING) that multishot
// recv picks from. liburing 2.3 lacks io_uring_setup_buf_ring, so the ring memory is mmapped and
// registered by hand. A consumer gets the buffer id in the CQE flags, reads the bytes, and must
// give the buffer back with recycle() once it no longer needs them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "xs3/base/status.hpp"
#include "xs3/ring/ring.hpp"

namespace xs3::ring {

class BufferRing {
  public:
    // `count` must be a power of two ≤ 32768.
    static Result<std::unique_ptr<BufferRing>> create(Ring& ring, uint16_t group_id, unsigned count,
                                                      unsigned buffer_size);
    ~BufferRing();
    BufferRing(const BufferRing&) = delete;
    BufferRing& operator=(const BufferRing&) = delete;

    uint16_t group_id() const noexcept { return group_id_; }
    unsigned buffer_size() const noexcept { return buffer_size_; }
    char* buffer(uint16_t bid) noexcept { return storage_.get() + size_t{bid} * buffer_size_; }
    // Returns buffer `bid` to the kernel.
    void recycle(uint16_t bid) noexcept;
    // Buffer id carried by a CQE that has IORING_CQE_F_BUFFER.
    static uint16_t buffer_id(uint32_t cqe_flags) noexcept {
        return static_cast<uint16_t>(cqe_flags >> IORING_CQE_BUFFER_SHIFT);
    }

  private:
    BufferRing() = default;
    Ring* ring_ = nullptr;
    io_uring_buf_ring* br_ = nullptr;
    size_t br_bytes_ = 0;
    std::unique_ptr<char[]> storage_;
    unsigned count_ = 0;
    unsigned buffer_size_ = 0;
    uint16_t group_id_ = 0;
    bool registered_ = false;
};

}  // namespace xs3::ring
