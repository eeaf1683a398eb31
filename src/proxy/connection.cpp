// H1Connection: reading, parsing, sending and the connection's lifetime.
#include "xs3/proxy/connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "xs3/base/log.hpp"
#include "xs3/proxy/handler_types.hpp"
#include "xs3/proxy/server.hpp"
#include "xs3/ring/buffer_ring.hpp"

namespace xs3::proxy {
namespace {
constexpr size_t kPlainRecvSize = 16 * 1024;
}

H1Connection::H1Connection(Worker& worker, int fd, uint64_t id)
    : w_(worker), fd_(fd), id_(id), parser_(worker.shared().options.limits) {}

H1Connection::~H1Connection() {
    if (pipe_.valid()) w_.pipes().release(pipe_, pipe_bytes_ == 0);
    if (fd_ >= 0) ::close(fd_);
    w_.shared().connections.fetch_sub(1, std::memory_order_relaxed);
}

void H1Connection::start() {
    arm_recv();
    arm_timer();
}

void H1Connection::arm_recv() noexcept {
    if (recv_armed_ || state_ == State::closed || peer_eof_) return;
    io_uring_sqe* sqe = w_.ring().get_sqe(&recv_op_);
    if (sqe == nullptr) {
        close("submission queue full");
        return;
    }
    ring::BufferRing* br = w_.recv_buffers();
    if (br != nullptr) {
        if (w_.ring().features().recv_multishot) {
            io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
            recv_multishot_ = true;
        } else {
            io_uring_prep_recv(sqe, fd_, nullptr, 0, 0);
        }
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = br->group_id();
    } else {
        if (!plain_recv_buf_) plain_recv_buf_.reset(new char[kPlainRecvSize]);
        io_uring_prep_recv(sqe, fd_, plain_recv_buf_.get(), kPlainRecvSize, 0);
    }
    recv_armed_ = true;
    ++inflight_;
}

void H1Connection::on_recv(int res, uint32_t flags) noexcept {
    bool more = flags & IORING_CQE_F_MORE;
    if (res > 0) {
        if (flags & IORING_CQE_F_BUFFER) {
            uint16_t bid = ring::BufferRing::buffer_id(flags);
            inbuf_.append(w_.recv_buffers()->buffer(bid), static_cast<size_t>(res));
            w_.recv_buffers()->recycle(bid);
        } else if (plain_recv_buf_) {
            inbuf_.append(plain_recv_buf_.get(), static_cast<size_t>(res));
        }
    }
    if (!more) {
        recv_armed_ = false;
        op_done();
    }
    if (state_ == State::closed) {
        maybe_free();
        return;
    }
    if (res == 0) {
        peer_eof_ = true;
    } else if (res < 0 && res != -ENOBUFS && res != -EINTR && res != -ECANCELED) {
        close("recv failed");
        maybe_free();
        return;
    }
    if (res == -ENOBUFS && !more) {
        // Every provided buffer is in use: try again shortly instead of spinning.
        auto id = id_;
        Worker* w = &w_;
        w_.ring().add_timer(std::chrono::milliseconds(1), [w, id] {
            if (auto* c = w->find(id)) c->arm_recv();
        });
    }
    if (state_ == State::reading) {
        process_input();
    } else if (inbuf_.size() > w_.shared().options.limits.max_header_bytes * 4 + 65536 &&
               recv_armed_) {
        // A client pipelining far ahead of us: stop reading until we catch up.
        w_.ring().cancel(&recv_op_);
    }
    if (state_ == State::reading && peer_eof_) {
        if (!parser_.mid_request() || inbuf_.empty()) close("peer closed");
    }
    if (!recv_armed_ && !peer_eof_ && state_ == State::reading && res != -ENOBUFS) arm_recv();
}

void H1Connection::process_input() {
    while (state_ == State::reading && !inbuf_.empty()) {
        auto r = parser_.feed(inbuf_.data(), inbuf_.size());
        inbuf_.erase(0, r.consumed);
        if (r.state == http::H1Parser::FeedResult::request_ready) {
            start_request(parser_.take_request());
        } else if (r.state == http::H1Parser::FeedResult::error) {
            XS3_LOG_INFO("bad request", kv("status", parser_.error_status()),
                         kv("reason", parser_.error_reason()));
            keep_alive_ = false;
            inbuf_.clear();
            int status = parser_.error_status();
            std::string_view code = status == 431   ? "RequestHeaderSectionTooLarge"
                                    : status == 505 ? "HttpVersionNotSupported"
                                    : status == 413 ? "EntityTooLarge"
                                    : status == 414 ? "KeyTooLongError"
                                                    : "BadRequest";
            state_ = State::handling;
            respond_error(status, code, parser_.error_reason());
            return;
        } else {
            break;  // need_more: all bytes consumed
        }
    }
    if (state_ == State::reading) arm_timer();
}

void H1Connection::arm_timer() {
    w_.ring().cancel_timer(timer_);
    if (state_ != State::reading) return;
    const auto& o = w_.shared().options;
    bool mid = parser_.mid_request();
    auto after = mid ? o.header_timeout : o.idle_timeout;
    if (after.count() <= 0) return;
    Worker* w = &w_;
    uint64_t id = id_;
    timer_ = w_.ring().add_timer(after, [w, id] {
        if (auto* c = w->find(id)) {
            c->timer_ = {};
            c->on_timer();
        }
    });
}

void H1Connection::on_timer() {
    if (state_ != State::reading) return;
    if (parser_.mid_request()) {
        keep_alive_ = false;
        state_ = State::handling;
        respond_error(408, "RequestTimeout", "request headers not received in time");
    } else {
        close("idle timeout");
    }
}

void H1Connection::send_out() noexcept {
    io_uring_sqe* sqe = w_.ring().get_sqe(&send_op_);
    if (sqe == nullptr) {
        close("submission queue full");
        return;
    }
    int flags = MSG_NOSIGNAL;
    if (body_ == BodyKind::file || body_ == BodyKind::download) flags |= MSG_MORE;
    io_uring_prep_send(sqe, fd_, out_.data() + out_off_, out_.size() - out_off_, flags);
    send_in_flight_ = true;
    ++inflight_;
}

void H1Connection::on_send(int res, uint32_t) noexcept {
    op_done();
    send_in_flight_ = false;
    if (state_ == State::closed) {
        maybe_free();
        return;
    }
    if (res == -EINTR || res == -EAGAIN) {
        send_out();
        return;
    }
    if (res <= 0) {
        close("send failed");
        maybe_free();
        return;
    }
    out_off_ += static_cast<size_t>(res);
    if (out_off_ < out_.size()) {
        send_out();
        return;
    }
    out_.clear();
    out_off_ = 0;
    if (body_ == BodyKind::stream) {
        stream_send();
    } else if (body_ == BodyKind::file || body_ == BodyKind::download) {
        body_step();
    } else {
        response_done();
    }
}

void H1Connection::response_done() {
    body_ = BodyKind::none;
    entry_.reset();
    download_.reset();
    passthrough_.reset();
    origin_head_.reset();
    file_fd_ = -1;
    waiting_body_ = false;
    ++req_gen_;
    if (!keep_alive_ || finish_after_) {
        // Half-close first so the client reads the whole response before the FIN.
        ::shutdown(fd_, SHUT_WR);
        close("response complete, not keep-alive");
        return;
    }
    state_ = State::reading;
    process_input();
    if (state_ == State::reading) {
        if (peer_eof_) {
            close("peer closed");
            return;
        }
        arm_recv();
        arm_timer();
    }
}

void H1Connection::op_done() noexcept {
    --inflight_;
}

std::function<void()> H1Connection::for_this_request(std::function<void(H1Connection&)> fn) {
    Worker* w = &w_;
    uint64_t id = id_;
    uint64_t gen = req_gen_;
    return [w, id, gen, fn = std::move(fn)] {
        H1Connection* c = w->find(id);
        if (c != nullptr && c->req_gen_ == gen && c->state_ != State::closed) fn(*c);
    };
}

void H1Connection::close(const char* why) {
    if (state_ == State::closed) return;
    XS3_LOG_DEBUG("connection closed", kv("conn", id_), kv("why", why));
    state_ = State::closed;
    ++req_gen_;
    w_.ring().cancel_timer(timer_);
    if (recv_armed_) w_.ring().cancel(&recv_op_);
    if (splices_pending_ > 0) {
        w_.ring().cancel(&splice_in_op_);
        w_.ring().cancel(&splice_out_op_);
    }
    // Sends on a socket we shut down fail fast; cancel covers ops parked in io-wq.
    if (inflight_ > 0) {
        ::shutdown(fd_, SHUT_RDWR);
        w_.ring().cancel(&send_op_);
    }
    origin_head_.reset();
    passthrough_.reset();
    maybe_free();
}

void H1Connection::finish_after_response() {
    finish_after_ = true;
    if (idle()) close("shutting down");
}

void H1Connection::maybe_free() noexcept {
    if (state_ != State::closed || inflight_ > 0 || freeing_) return;
    freeing_ = true;
    w_.forget(this);
}

void H1Connection::respond_simple(int status, std::string_view content_type, std::string body) {
    http::ResponseHead head;
    head.status = status;
    head.headers.add("Content-Type", std::string(content_type));
    head.headers.add("Content-Length", std::to_string(body.size()));
    if (is_head_) body.clear();
    send_head(std::move(head), BodyKind::none, body);
}

}  // namespace xs3::proxy
