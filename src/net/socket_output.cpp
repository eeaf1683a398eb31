// SocketOutput: queued segments written in order through the ring (SENDMSG, SPLICE pairs, or
// READ + SEND pairs).
#include "xs3/net/socket_output.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include "xs3/base/log.hpp"

namespace xs3::net {

SocketOutput::SocketOutput(ring::Ring& ring, int fd, ring::PipePool& pipes, ring::BlockPool& blocks,
                           OutputOptions options)
    : ring_(ring), fd_(fd), pipes_(pipes), blocks_(blocks), options_(options) {
    if (options_.splice_size == 0) options_.splice_size = 64 * 1024;
}

SocketOutput::~SocketOutput() {
    if (pipe_.valid()) pipes_.release(pipe_, pipe_bytes_ == 0);
    if (block_) blocks_.release(std::move(block_));
}

void SocketOutput::set_handlers(OnSent on_sent, OnError on_error, std::function<void()> on_quiet) {
    on_sent_ = std::move(on_sent);
    on_error_ = std::move(on_error);
    on_quiet_ = std::move(on_quiet);
}

bool SocketOutput::op_returned() noexcept {
    --inflight_;
    if (!cancelled_) return true;
    if (inflight_ == 0 && on_quiet_) on_quiet_();
    return false;
}

void SocketOutput::push_bytes(std::string_view bytes) {
    push_bytes(std::string(bytes));
}

void SocketOutput::push_bytes(std::string&& bytes) {
    if (bytes.empty() || failed_ || cancelled_) return;
    queued_ += bytes.size();
    // Coalesce with a byte segment that has not started yet.
    if (!segments_.empty() && segments_.back().kind == Segment::Kind::bytes &&
        segments_.back().view == nullptr && segments_.back().done == 0 &&
        segments_.size() > sending_segments_ && segments_.back().bytes.size() < 64 * 1024) {
        Segment& back = segments_.back();
        back.bytes += bytes;
        back.length = back.bytes.size();
    } else {
        Segment s;
        s.kind = Segment::Kind::bytes;
        s.length = bytes.size();
        s.bytes = std::move(bytes);
        segments_.push_back(std::move(s));
    }
    step();
}

void SocketOutput::push_view(const char* data, size_t n, Keep keep) {
    Segment s;
    s.kind = Segment::Kind::bytes;
    s.view = data;
    s.length = n;
    s.keep = std::move(keep);
    enqueue(std::move(s));
}

void SocketOutput::push_file(int fd, uint64_t offset, uint64_t length, Keep keep) {
    Segment s;
    s.kind = Segment::Kind::file;
    s.fd = fd;
    s.offset = offset;
    s.length = length;
    s.keep = std::move(keep);
    enqueue(std::move(s));
}

void SocketOutput::enqueue(Segment&& s) {
    if (s.length == 0 || failed_ || cancelled_) return;
    queued_ += s.length;
    segments_.push_back(std::move(s));
    step();
}

void SocketOutput::cancel() noexcept {
    if (cancelled_) return;
    cancelled_ = true;
    segments_.clear();
    queued_ = 0;
    if (inflight_ > 0) {
        ring_.cancel(&send_op_);
        ring_.cancel(&splice_in_op_);
        ring_.cancel(&splice_out_op_);
        ring_.cancel(&read_op_);
        ring_.cancel(&block_send_op_);
    }
}

void SocketOutput::pop_finished() noexcept {
    while (!segments_.empty() && segments_.front().remaining() == 0)
        segments_.pop_front();
}

bool SocketOutput::more_after_front(uint64_t this_step) const noexcept {
    return queued_ - pipe_bytes_ > this_step;
}

void SocketOutput::consumed(uint64_t n) noexcept {
    queued_ -= std::min(queued_, n);
    bytes_sent_ += n;
}

void SocketOutput::fail(int error) noexcept {
    if (failed_ || cancelled_) return;
    failed_ = true;
    if (on_error_) on_error_(error);
}

void SocketOutput::uncork() noexcept {
    corked_ = false;
    step();
}

void SocketOutput::step() noexcept {
    if (busy_ || corked_ || failed_ || cancelled_) return;
    pop_finished();
    if (pipe_bytes_ > 0) {
        drain_pipe();  // bytes of an earlier file region wait in the pipe: they go first
        return;
    }
    if (segments_.empty()) return;
    Segment& s = segments_.front();
    if (s.kind == Segment::Kind::bytes)
        send_gathered();
    else if (options_.file_mode == FileSendMode::splice)
        splice_file(s);
    else
        copy_file(s);
}

// ---- bytes -------------------------------------------------------------------------------

void SocketOutput::send_gathered() noexcept {
    size_t n = 0;
    uint64_t total = 0;
    for (auto& s : segments_) {
        if (s.kind != Segment::Kind::bytes || n == kMaxIov) break;
        iov_[n].iov_base = const_cast<char*>(s.data()) + s.done;
        iov_[n].iov_len = static_cast<size_t>(s.remaining());
        total += s.remaining();
        ++n;
    }
    io_uring_sqe* sqe = ring_.get_sqe(&send_op_);
    std::memset(&msg_, 0, sizeof msg_);
    msg_.msg_iov = iov_;
    msg_.msg_iovlen = n;
    int flags = MSG_NOSIGNAL | (more_after_front(total) ? MSG_MORE : 0);
    io_uring_prep_sendmsg(sqe, fd_, &msg_, static_cast<unsigned>(flags));
    sending_segments_ = n;  // their strings must not move until the send completes
    busy_ = true;
    ++inflight_;
}

void SocketOutput::on_send(int res, uint32_t) noexcept {
    busy_ = false;
    sending_segments_ = 0;
    if (!op_returned()) return;
    if (res == -EINTR || res == -EAGAIN) {
        step();
        return;
    }
    if (res <= 0) {
        fail(res == 0 ? -EPIPE : res);
        return;
    }
    uint64_t left = static_cast<uint64_t>(res);
    consumed(left);
    for (auto& s : segments_) {
        if (left == 0 || s.kind != Segment::Kind::bytes) break;
        uint64_t take = std::min(left, s.remaining());
        s.done += take;
        left -= take;
    }
    pop_finished();
    step();
    if (on_sent_) on_sent_();
}

// ---- files: splice ------------------------------------------------------------------------

void SocketOutput::splice_file(Segment& s) noexcept {
    if (!pipe_.valid()) {
        auto p = pipes_.acquire();
        if (!p.ok()) {
            XS3_LOG_ERROR("no pipe for splice", kv("error", p.status().to_string()));
            fail(-EMFILE);
            return;
        }
        pipe_ = *p;
    }
    unsigned n = static_cast<unsigned>(
        std::min<uint64_t>({s.remaining(), options_.splice_size, pipe_.capacity}));
    ring_.reserve_sqes(2);  // a linked pair: no submit may fall between the two
    io_uring_sqe* in = ring_.get_sqe(&splice_in_op_);
    io_uring_sqe* out = ring_.get_sqe(&splice_out_op_);
    io_uring_prep_splice(in, s.fd, static_cast<int64_t>(s.offset + s.done), pipe_.write_fd, -1, n,
                         SPLICE_F_MOVE);
    in->flags |= IOSQE_IO_LINK;
    unsigned more = more_after_front(n) ? SPLICE_F_MORE : 0;
    io_uring_prep_splice(out, pipe_.read_fd, -1, fd_, -1, n, SPLICE_F_MOVE | more);
    busy_ = true;
    pair_pending_ = 2;
    pair_error_ = 0;
    inflight_ += 2;
}

void SocketOutput::drain_pipe() noexcept {
    io_uring_sqe* sqe = ring_.get_sqe(&splice_out_op_);
    unsigned more = more_after_front(pipe_bytes_) ? SPLICE_F_MORE : 0;
    io_uring_prep_splice(sqe, pipe_.read_fd, -1, fd_, -1, static_cast<unsigned>(pipe_bytes_),
                         SPLICE_F_MOVE | more);
    busy_ = true;
    pair_pending_ = 1;
    pair_error_ = 0;
    ++inflight_;
}

void SocketOutput::on_splice_in(int res, uint32_t) noexcept {
    if (op_returned()) {
        if (res > 0) {
            Segment& s = segments_.front();
            s.done += static_cast<uint64_t>(res);
            pipe_bytes_ += static_cast<uint64_t>(res);
        } else if (res != -EINTR && res != -EAGAIN) {
            pair_error_ = res == 0 ? -EIO : res;  // a file shorter than promised: never pad
        }
    }
    splice_pair_settled();
}

void SocketOutput::on_splice_out(int res, uint32_t) noexcept {
    if (op_returned()) {
        if (res > 0) {
            pipe_bytes_ -= std::min<uint64_t>(pipe_bytes_, static_cast<uint64_t>(res));
            consumed(static_cast<uint64_t>(res));
        } else {
            // (-ECANCELED: the linked file side came up short; the pipe is drained next step.)
            pair_send_failed(res);
        }
    }
    splice_pair_settled();
}

void SocketOutput::pair_send_failed(int res) noexcept {
    // -ECANCELED: the linked first half came up short (its own error or result says what next);
    // -EINTR/-EAGAIN: the caller sends again. A first error wins.
    if (res != -ECANCELED && res != -EINTR && res != -EAGAIN && pair_error_ == 0)
        pair_error_ = res == 0 ? -EPIPE : res;
}

bool SocketOutput::pair_settled() noexcept {
    if (--pair_pending_ > 0) return false;
    busy_ = false;
    if (cancelled_) return false;
    if (pair_error_ != 0) {
        fail(pair_error_);
        return false;
    }
    return true;
}

void SocketOutput::splice_pair_settled() noexcept {
    if (!pair_settled()) return;
    pop_finished();
    step();
    if (on_sent_) on_sent_();
}

// ---- files: copy --------------------------------------------------------------------------

void SocketOutput::copy_file(Segment& s) noexcept {
    if (!block_) {
        block_ = blocks_.acquire();
        if (!block_) {
            fail(-ENOMEM);
            return;
        }
    }
    block_len_ = std::min<uint64_t>(s.remaining(), blocks_.block_size());
    block_read_ = 0;
    block_sent_ = 0;
    ring_.reserve_sqes(2);  // a linked pair: no submit may fall between the two
    // Linked: the send starts in the kernel as soon as the read is done. A short read cancels
    // it (-ECANCELED) and the rest is sent from on_read.
    io_uring_sqe* rd = ring_.get_sqe(&read_op_);
    io_uring_sqe* wr = ring_.get_sqe(&block_send_op_);
    io_uring_prep_read(rd, s.fd, block_.get(), static_cast<unsigned>(block_len_),
                       s.offset + s.done);
    rd->flags |= IOSQE_IO_LINK;
    int flags = MSG_NOSIGNAL | (more_after_front(block_len_) ? MSG_MORE : 0);
    io_uring_prep_send(wr, fd_, block_.get(), static_cast<size_t>(block_len_), flags);
    busy_ = true;
    pair_pending_ = 2;
    pair_error_ = 0;
    inflight_ += 2;
}

void SocketOutput::on_read(int res, uint32_t) noexcept {
    if (op_returned()) {
        if (res > 0)
            block_read_ = static_cast<uint64_t>(res);
        else
            pair_error_ = res == 0 ? -EIO : res;  // the file ended early: never pad
    }
    block_pair_settled();
}

void SocketOutput::on_block_send(int res, uint32_t) noexcept {
    if (op_returned()) {
        if (res > 0) {
            block_sent_ += static_cast<uint64_t>(res);
            consumed(static_cast<uint64_t>(res));
        } else {
            pair_send_failed(res);
        }
    }
    block_pair_settled();
}

void SocketOutput::block_pair_settled() noexcept {
    if (!pair_settled()) return;
    if (block_sent_ < block_read_) {
        // A short send, or a short read that cancelled the linked send: send the rest.
        io_uring_sqe* sqe = ring_.get_sqe(&block_send_op_);
        uint64_t left = block_read_ - block_sent_;
        int flags = MSG_NOSIGNAL | (more_after_front(left) ? MSG_MORE : 0);
        io_uring_prep_send(sqe, fd_, block_.get() + block_sent_, static_cast<size_t>(left), flags);
        busy_ = true;
        pair_pending_ = 1;
        ++inflight_;
        return;
    }
    Segment& s = segments_.front();
    s.done += block_read_;
    pop_finished();
    bool more_files = !segments_.empty() && segments_.front().kind == Segment::Kind::file;
    if (!more_files && block_) blocks_.release(std::move(block_));
    step();
    if (on_sent_) on_sent_();
}

}  // namespace xs3::net
