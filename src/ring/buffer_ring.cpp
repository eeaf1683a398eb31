// BufferRing: mmap + io_uring_register_buf_ring by hand (liburing 2.3 has no helper for it).
#include "xs3/ring/buffer_ring.hpp"

#include <sys/mman.h>

namespace xs3::ring {

Result<std::unique_ptr<BufferRing>> BufferRing::create(Ring& ring, uint16_t group_id,
                                                       unsigned count, unsigned buffer_size) {
    if (count == 0 || count > 32768 || (count & (count - 1)) != 0)
        return Status(Code::invalid_argument, "buffer ring size must be a power of two ≤ 32768");
    std::unique_ptr<BufferRing> b(new BufferRing());
    b->ring_ = &ring;
    b->count_ = count;
    b->buffer_size_ = buffer_size;
    b->group_id_ = group_id;
    b->br_bytes_ = sizeof(io_uring_buf) * count;
    void* mem =
        mmap(nullptr, b->br_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) return status_from_errno(errno, "mmap buffer ring");
    b->br_ = static_cast<io_uring_buf_ring*>(mem);

    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(b->br_);
    reg.ring_entries = count;
    reg.bgid = group_id;
    int ret = io_uring_register_buf_ring(ring.raw(), &reg, 0);
    if (ret != 0) return status_from_errno(ret, "io_uring_register_buf_ring");
    b->registered_ = true;

    b->storage_.reset(new char[size_t{count} * buffer_size]);
    io_uring_buf_ring_init(b->br_);
    int mask = io_uring_buf_ring_mask(count);
    for (unsigned i = 0; i < count; ++i)
        io_uring_buf_ring_add(b->br_, b->buffer(static_cast<uint16_t>(i)), buffer_size,
                              static_cast<unsigned short>(i), mask, static_cast<int>(i));
    io_uring_buf_ring_advance(b->br_, static_cast<int>(count));
    return b;
}

BufferRing::~BufferRing() {
    if (registered_) io_uring_unregister_buf_ring(ring_->raw(), group_id_);
    if (br_ != nullptr) munmap(br_, br_bytes_);
}

void BufferRing::recycle(uint16_t bid) noexcept {
    io_uring_buf_ring_add(br_, buffer(bid), buffer_size_, bid, io_uring_buf_ring_mask(count_), 0);
    io_uring_buf_ring_advance(br_, 1);
}

}  // namespace xs3::ring
