// H1Connection bodies: splice file -> pipe -> socket for hits and downloads (waiting on the
// download's progress when the bytes are not there yet), and queued sends for passthrough.
#include <sys/socket.h>

#include "xs3/base/log.hpp"
#include "xs3/proxy/connection.hpp"
#include "xs3/proxy/handler_types.hpp"
#include "xs3/proxy/server.hpp"

namespace xs3::proxy {

void H1Connection::body_step() noexcept {
    if (state_ != State::sending) return;
    if (pipe_bytes_ == 0 && pos_ >= end_) {
        response_done();
        return;
    }
    if (!pipe_.valid()) {
        auto p = w_.pipes().acquire();
        if (!p.ok()) {
            XS3_LOG_ERROR("no pipe for splice", kv("error", p.status().to_string()));
            cut("no pipe");
            return;
        }
        pipe_ = *p;
    }
    if (pipe_bytes_ > 0) {
        // Bytes left in the pipe from a short send: drain them first.
        io_uring_sqe* sqe = w_.ring().get_sqe(&splice_out_op_);
        if (sqe == nullptr) {
            cut("submission queue full");
            return;
        }
        io_uring_prep_splice(sqe, pipe_.read_fd, -1, fd_, -1, static_cast<unsigned>(pipe_bytes_),
                             SPLICE_F_MOVE);
        splices_pending_ = 1;
        inflight_ += 1;
        return;
    }
    uint64_t avail = end_ - pos_;
    if (download_) {
        avail = std::min(avail, download_->available_from(pos_));
        if (avail == 0) {
            auto st = download_->state();
            if (st == fetch::Download::State::failed) {
                cut("download failed");
                return;
            }
            if (st == fetch::Download::State::complete) {
                XS3_LOG_ERROR("download complete but bytes missing", kv("key", key_),
                              kv("pos", pos_));
                cut("internal: bytes missing");
                return;
            }
            auto wake = for_this_request([](H1Connection& c) {
                if (!c.waiting_body_) return;
                c.waiting_body_ = false;
                c.body_step();
            });
            waiting_body_ = true;
            if (!download_->wait(pos_, w_.ring(), wake)) w_.ring().defer(wake);
            return;
        }
    }
    unsigned n = static_cast<unsigned>(
        std::min<uint64_t>({avail, w_.shared().options.splice_size, pipe_.capacity}));
    if (!w_.ring().reserve_sqes(2)) {
        cut("submission queue full");
        return;
    }
    io_uring_sqe* in = w_.ring().get_sqe(&splice_in_op_);
    io_uring_sqe* out = w_.ring().get_sqe(&splice_out_op_);
    io_uring_prep_splice(in, file_fd_, static_cast<int64_t>(file_base_ + pos_), pipe_.write_fd, -1,
                         n, SPLICE_F_MOVE);
    in->flags |= IOSQE_IO_LINK;
    io_uring_prep_splice(out, pipe_.read_fd, -1, fd_, -1, n, SPLICE_F_MOVE);
    splices_pending_ = 2;
    inflight_ += 2;
}

void H1Connection::on_splice_in(int res, uint32_t) noexcept {
    op_done();
    if (res > 0) {
        pos_ += static_cast<uint64_t>(res);
        pipe_bytes_ += static_cast<uint64_t>(res);
    } else {
        splice_failed_ = true;
        splice_error_ = res == 0 ? -EIO : res;  // EOF before the promised bytes: never pad
    }
    splice_settled();
}

void H1Connection::on_splice_out(int res, uint32_t) noexcept {
    op_done();
    if (res > 0) {
        pipe_bytes_ -= std::min<uint64_t>(pipe_bytes_, static_cast<uint64_t>(res));
    } else if (res != -ECANCELED) {
        // (-ECANCELED means the linked file side came up short: the pipe is drained next step.)
        splice_failed_ = true;
        splice_error_ = res == 0 ? -EPIPE : res;
    }
    splice_settled();
}

void H1Connection::splice_settled() noexcept {
    if (--splices_pending_ > 0) return;
    if (state_ == State::closed) {
        maybe_free();
        return;
    }
    if (splice_failed_) {
        splice_failed_ = false;
        XS3_LOG_DEBUG("splice failed", kv("conn", id_), kv("error", splice_error_));
        cut("splice failed");
        return;
    }
    body_step();
}

void H1Connection::cut(const char* why) {
    w_.shared().counters.responses_cut.fetch_add(1, std::memory_order_relaxed);
    XS3_LOG_WARN("response cut off", kv("conn", id_), kv("key", key_), kv("why", why),
                 kv("sent_up_to", pos_), kv("end", end_));
    close(why);
}

void H1Connection::stream_send() noexcept {
    if (state_ != State::sending || send_in_flight_) return;
    if (!out_.empty() && out_off_ < out_.size()) {
        send_out();
        return;
    }
    out_.clear();
    out_off_ = 0;
    if (passthrough_ && passthrough_->done()) {
        response_done();
        return;
    }
    if (passthrough_) passthrough_->resume_if_paused();
}

}  // namespace xs3::proxy
