// SocketInput: multishot (or re-armed single-shot) recv with provided buffers.
#include "xs3/net/socket_input.hpp"

#include <cerrno>

namespace xs3::net {
namespace {
constexpr size_t kPlainRecvSize = 16 * 1024;
}  // namespace

SocketInput::SocketInput(ring::Ring& ring, int fd, ring::BufferRing* buffers)
    : ring_(ring), fd_(fd), buffers_(buffers) {}

SocketInput::~SocketInput() {
    ring_.cancel_timer(retry_timer_);
}

void SocketInput::set_handlers(OnData on_data, OnEnd on_end, std::function<void()> on_quiet) {
    on_data_ = std::move(on_data);
    on_end_ = std::move(on_end);
    on_quiet_ = std::move(on_quiet);
}

void SocketInput::start() noexcept {
    paused_ = false;
    if (armed_ || retry_ || ended_ || cancelled_) return;
    arm();
}

void SocketInput::arm() noexcept {
    io_uring_sqe* sqe = ring_.get_sqe(&recv_op_);
    if (buffers_ != nullptr) {
        if (ring_.features().recv_multishot)
            io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
        else
            io_uring_prep_recv(sqe, fd_, nullptr, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = buffers_->group_id();
    } else {
        if (!plain_buf_) plain_buf_.reset(new char[kPlainRecvSize]);
        io_uring_prep_recv(sqe, fd_, plain_buf_.get(), kPlainRecvSize, 0);
    }
    armed_ = true;
    ++inflight_;
}

void SocketInput::pause() noexcept {
    if (paused_ || cancelled_) return;
    paused_ = true;
    if (retry_) {
        ring_.cancel_timer(retry_timer_);
        retry_ = false;
    }
    if (armed_)
        ring_.cancel(&recv_op_);
    else if (inflight_ == 0 && on_quiet_)
        on_quiet_();
}

void SocketInput::cancel() noexcept {
    if (cancelled_) return;
    cancelled_ = true;
    if (retry_) {
        ring_.cancel_timer(retry_timer_);
        retry_ = false;
    }
    if (armed_ && !paused_) ring_.cancel(&recv_op_);
    paused_ = true;
}

void SocketInput::end(int res) noexcept {
    if (ended_ || cancelled_) return;
    ended_ = true;
    if (on_end_) on_end_(res);
}

void SocketInput::on_recv(int res, uint32_t flags) noexcept {
    const bool more = flags & IORING_CQE_F_MORE;
    if (!more) {
        armed_ = false;
        --inflight_;
    }
    if (res > 0) {
        const char* data = nullptr;
        uint16_t bid = 0;
        const bool provided = flags & IORING_CQE_F_BUFFER;
        if (provided) {
            bid = ring::BufferRing::buffer_id(flags);
            data = buffers_->buffer(bid);
        } else {
            data = plain_buf_.get();
        }
        if (!cancelled_ && data != nullptr && on_data_) on_data_(data, static_cast<size_t>(res));
        if (provided) buffers_->recycle(bid);
    } else if (res == 0) {
        end(0);
    } else if (res == -ENOBUFS) {
        // Every provided buffer is in use: try again shortly instead of spinning.
        if (!more && !paused_ && !cancelled_ && !retry_) {
            retry_ = true;
            retry_timer_ = ring_.add_timer(std::chrono::milliseconds(1), [this] {
                retry_timer_ = {};
                retry_ = false;
                if (!paused_ && !cancelled_ && !ended_ && !armed_) arm();
            });
        }
    } else if (res != -EINTR && res != -ECANCELED && res != -EAGAIN) {
        end(res);
    }
    if (armed_ || inflight_ > 0) return;
    if (paused_ || cancelled_) {
        if (on_quiet_) on_quiet_();
        return;
    }
    if (!ended_ && !retry_) arm();
}

}  // namespace xs3::net
