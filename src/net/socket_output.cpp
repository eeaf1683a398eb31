// SocketOutput: queued segments written in order through the ring (gathered SENDMSGs fed by
// read-ahead buffers, or SPLICE pairs).
#include "xs3/net/socket_output.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include "xs3/base/log.hpp"

namespace xs3::net {

SocketOutput::SocketOutput(ring::Ring& ring, int fd, ring::PipePool& pipes, ring::BlockPool& blocks,
                           OutputOptions options)
    : ring_(ring), fd_(fd), pipes_(pipes), blocks_(blocks), options_(options) {
    if (options_.splice_size == 0) options_.splice_size = 1024 * 1024;
    if (options_.copy_depth == 0) options_.copy_depth = 1;
}

SocketOutput::~SocketOutput() {
    if (pipe_.valid()) pipes_.release(pipe_, pipe_bytes_ == 0);
    for (auto& f : fills_)
        blocks_.release(std::move(f->buf));
}

void SocketOutput::set_handlers(OnSent on_sent, OnError on_error, std::function<void()> on_quiet) {
    on_sent_ = std::move(on_sent);
    on_error_ = std::move(on_error);
    on_quiet_ = std::move(on_quiet);
}

uint64_t SocketOutput::read_ahead() const noexcept {
    if (options_.file_mode != FileSendMode::copy) return 0;
    return uint64_t{options_.copy_depth} * blocks_.block_size();
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
    if (length == 0 || failed_ || cancelled_) return;
    if (!segments_.empty()) {
        Segment& back = segments_.back();
        if (back.kind == Segment::Kind::file && back.fd == fd && back.keep == keep &&
            back.offset + back.length == offset) {
            back.length += length;
            queued_ += length;
            step();
            return;
        }
    }
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
    s.seq = next_seq_++;
    segments_.push_back(std::move(s));
    step();
}

void SocketOutput::cancel() noexcept {
    if (cancelled_) return;
    cancelled_ = true;
    queued_ = 0;
    // Segments and buffers stay until this object goes: a send or read still in the kernel may
    // point into them.
    if (inflight_ > 0) {
        ring_.cancel(&send_op_);
        ring_.cancel(&splice_in_op_);
        ring_.cancel(&splice_out_op_);
        for (auto& f : fills_)
            if (f->reading) ring_.cancel(&f->op);
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
    if (corked_ || failed_ || cancelled_) return;
    pop_finished();
    if (!busy_) {
        if (pipe_bytes_ > 0) {
            drain_pipe();  // bytes of an earlier file region wait in the pipe: they go first
        } else if (!segments_.empty()) {
            Segment& s = segments_.front();
            if (s.kind == Segment::Kind::file && options_.file_mode == FileSendMode::splice)
                splice_file(s);
            else
                send_gathered();
        }
    }
    // Reads of the next file bytes go on while the send is in flight.
    if (options_.file_mode == FileSendMode::copy) start_reads();
}

// ---- gathered sends -----------------------------------------------------------------------

void SocketOutput::send_gathered() noexcept {
    size_t n = 0;
    size_t segs = 0;
    uint64_t total = 0;
    Fill* link = nullptr;  // a READ this send is linked behind
    auto fit = fills_.begin();
    for (auto& s : segments_) {
        if (n == kMaxIov) break;
        if (s.kind == Segment::Kind::bytes) {
            iov_[n].iov_base = const_cast<char*>(s.data()) + s.done;
            iov_[n].iov_len = static_cast<size_t>(s.remaining());
            total += s.remaining();
            ++n;
            ++segs;
            continue;
        }
        if (options_.file_mode != FileSendMode::copy) break;
        // A file region: its read buffers, in order, as far as they are read. While more of the
        // region is still to be read, a send takes at most depth - 1 of them, so a buffer is
        // free for the next read during the send (double buffering at depth 2).
        ++segs;
        bool ready = true;
        const size_t most =
            s.read_to < s.length ? std::max<size_t>(1, options_.copy_depth - 1) : SIZE_MAX;
        size_t taken = 0;
        for (; fit != fills_.end() && (*fit)->seq == s.seq; ++fit) {
            Fill& f = **fit;
            if (f.reading || f.got < f.len || n == kMaxIov || taken == most) {
                ready = false;
                break;
            }
            ++taken;
            iov_[n].iov_base = f.buf.data() + f.sent;
            iov_[n].iov_len = static_cast<size_t>(f.len - f.sent);
            total += f.len - f.sent;
            ++n;
        }
        if (!ready) break;
        if (s.read_to < s.length) {
            // The next bytes are not read yet and nothing is reading them: read them now, with
            // this send linked behind the read (a small answer is then one submission) — but
            // only when the send has nothing else to carry or the read finishes the region.
            // Otherwise what is ready (a response head) leaves now, unlinked, and the reads are
            // started behind it: a large body's first byte must not wait for its first block.
            const bool link_costs_nothing = n == 0 || s.length - s.read_to <= blocks_.block_size();
            if (n < kMaxIov && link_costs_nothing) {
                ring_.reserve_sqes(2);
                link = new_fill(s);
                if (link != nullptr) {
                    iov_[n].iov_base = link->buf.data();
                    iov_[n].iov_len = static_cast<size_t>(link->len);
                    total += link->len;
                    ++n;
                } else if (fills_.empty()) {
                    fail(-ENOMEM);
                    return;
                }
            }
            break;
        }
    }
    if (n == 0) return;
    if (link != nullptr) submit_read(*link, true);
    io_uring_sqe* sqe = ring_.get_sqe(&send_op_);
    std::memset(&msg_, 0, sizeof msg_);
    msg_.msg_iov = iov_;
    msg_.msg_iovlen = n;
    // No MSG_WAITALL: a short send completes with its count, so progress is reported (on_sent)
    // as the client takes bytes — the send-timeout watch counts on it, and a slow but reading
    // client must not look stalled for the whole of a large gathered send.
    int flags = MSG_NOSIGNAL | (more_after_front(total) ? MSG_MORE : 0);
    io_uring_prep_sendmsg(sqe, fd_, &msg_, static_cast<unsigned>(flags));
    sending_segments_ = segs;  // their memory must not move until the send completes
    busy_ = true;
    ++inflight_;
}

void SocketOutput::on_send(int res, uint32_t) noexcept {
    busy_ = false;
    sending_segments_ = 0;
    if (!op_returned()) return;
    // -ECANCELED: the READ this send was linked behind came up short (its handler reads the rest
    // or has failed the output); nothing was sent.
    if (res == -EINTR || res == -EAGAIN || res == -ECANCELED) {
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
        if (left == 0) break;
        if (s.kind == Segment::Kind::bytes) {
            uint64_t take = std::min(left, s.remaining());
            s.done += take;
            left -= take;
            continue;
        }
        while (left > 0 && !fills_.empty() && fills_.front()->seq == s.seq) {
            Fill& f = *fills_.front();
            uint64_t take = std::min(left, f.len - f.sent);
            f.sent += take;
            s.done += take;
            left -= take;
            if (f.sent < f.len) break;
            release_fill();
        }
        if (s.remaining() > 0) break;
    }
    pop_finished();
    step();
    if (on_sent_) on_sent_();
}

// ---- copy mode: read-ahead buffers ---------------------------------------------------------

SocketOutput::Fill* SocketOutput::new_fill(Segment& s) noexcept {
    if (fills_.size() >= options_.copy_depth) return nullptr;
    uint64_t n = std::min<uint64_t>(s.length - s.read_to, blocks_.block_size());
    // Over the pool's budget only the first buffer of a connection is given: it always moves,
    // in steps of at most BlockPool::kForcedMax.
    ring::BlockPool::Buffer buf = blocks_.acquire_buffer(static_cast<size_t>(n), fills_.empty());
    if (!buf) return nullptr;
    n = std::min<uint64_t>(n, buf.capacity);
    std::unique_ptr<Fill> f;
    if (!spare_fills_.empty()) {
        f = std::move(spare_fills_.back());
        spare_fills_.pop_back();
    } else {
        f = std::make_unique<Fill>(this);
    }
    f->seq = s.seq;
    f->fd = s.fd;
    f->file_offset = s.offset + s.read_to;
    f->len = n;
    f->got = 0;
    f->sent = 0;
    f->reading = false;
    f->buf = std::move(buf);
    s.read_to += n;
    fills_.push_back(std::move(f));
    return fills_.back().get();
}

void SocketOutput::submit_read(Fill& f, bool link) noexcept {
    io_uring_sqe* sqe = ring_.get_sqe(&f.op);
    io_uring_prep_read(sqe, f.fd, f.buf.data() + f.got, static_cast<unsigned>(f.len - f.got),
                       f.file_offset + f.got);
    // Linked: the send behind starts in the kernel as soon as the read is done; a short read
    // cancels it (-ECANCELED).
    if (link) sqe->flags |= IOSQE_IO_LINK;
    f.reading = true;
    ++inflight_;
}

void SocketOutput::start_reads() noexcept {
    // Buffers are taken in queue order, so the Fills always cover a prefix of the file bytes.
    for (auto& s : segments_) {
        if (failed_ || cancelled_ || fills_.size() >= options_.copy_depth) return;
        if (s.kind != Segment::Kind::file) continue;
        while (s.read_to < s.length) {
            Fill* f = new_fill(s);
            if (f == nullptr) {
                if (fills_.empty()) fail(-ENOMEM);
                return;  // depth or budget: the next completed send tries again
            }
            submit_read(*f, false);
        }
    }
}

void SocketOutput::FillOp::complete(int res, uint32_t) noexcept {
    out_->on_fill_read(*fill_, res);
}

void SocketOutput::on_fill_read(Fill& f, int res) noexcept {
    f.reading = false;
    if (!op_returned()) return;
    if (failed_) return;
    if (res == -EINTR || res == -EAGAIN) {
        submit_read(f, false);
        return;
    }
    if (res <= 0) {
        fail(res == 0 ? -EIO : res);  // a file shorter than promised: never pad
        return;
    }
    f.got += static_cast<uint64_t>(res);
    if (f.got < f.len) {
        submit_read(f, false);  // short: read the rest into the same buffer
        return;
    }
    step();
}

void SocketOutput::release_fill() noexcept {
    std::unique_ptr<Fill> f = std::move(fills_.front());
    fills_.pop_front();
    blocks_.release(std::move(f->buf));
    if (spare_fills_.size() < options_.copy_depth) spare_fills_.push_back(std::move(f));
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
    ring_.reserve_sqes(2);
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

}  // namespace xs3::net
