// H1Connection: reading, parsing, answering through exchanges, sending and the connection's
// lifetime.
#include "xs3/proxy/connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "xs3/base/log.hpp"
#include "xs3/proxy/server.hpp"
#include "xs3/ring/buffer_ring.hpp"

namespace xs3::proxy {
namespace {
constexpr size_t kPlainRecvSize = 16 * 1024;
// Body bytes queued on the socket before we stop pulling: file regions cost no memory, and
// memory chunks are bounded by their producers, so this only keeps the pipeline full.
constexpr uint64_t kBodyHighWater = 2 * 1024 * 1024;
}  // namespace

H1Connection::H1Connection(Worker& worker, int fd, uint64_t id)
    : w_(worker),
      fd_(fd),
      id_(id),
      parser_(worker.shared().options.limits),
      output_(worker.ring(), fd, worker.pipes(), worker.copy_blocks(),
              worker.shared().options.output) {
    output_.set_handlers([this] { pump_body(); }, [this](int e) { on_output_error(e); },
                         [this] { maybe_free(); });
}

H1Connection::~H1Connection() {
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
        --inflight_;
    }
    if (state_ == State::closed) {
        maybe_free();
        return;
    }
    if (res == 0) {
        peer_eof_ = true;
    } else if (res < 0 && res != -ENOBUFS && res != -EINTR && res != -ECANCELED) {
        close("recv failed");
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
            start_exchange(parser_.take_request());
        } else if (r.state == http::H1Parser::FeedResult::error) {
            respond_parse_error();
            return;
        } else {
            break;  // need_more: all bytes consumed
        }
    }
    if (state_ == State::reading) arm_timer();
}

void H1Connection::start_exchange(http::Request req) {
    w_.ring().cancel_timer(timer_);
    state_ = State::handling;
    keep_alive_ = req.keep_alive;
    exchange_ = std::make_shared<Exchange>(w_, *this, std::move(req));
    // Keep the exchange alive while it runs: respond() may come synchronously from start().
    auto x = exchange_;
    x->start();
}

void H1Connection::respond_parse_error() {
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
    auto [head, body] = s3_error_response(status, code, parser_.error_reason(), "/");
    respond(std::move(head), std::make_unique<MemoryBody>(std::move(body)));
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
        auto [head, body] =
            s3_error_response(408, "RequestTimeout", "request headers not received in time", "/");
        respond(std::move(head), std::make_unique<MemoryBody>(std::move(body)));
    } else {
        close("idle timeout");
    }
}

void H1Connection::respond(http::ResponseHead head, std::unique_ptr<Body> body) noexcept {
    if (state_ != State::handling) {
        if (body) w_.ring().dispose_later(std::move(body));
        return;
    }
    head.headers.add("Server", std::string(http::server_header_value()));
    head.headers.add("Date", w_.dates().now());
    if (!keep_alive_ || finish_after_) head.headers.add("Connection", "close");
    std::string out;
    size_t dropped = http::serialize_response_head(head, out);
    if (dropped > 0)
        XS3_LOG_WARN("response header fields dropped (invalid bytes)", kv("count", dropped),
                     kv("key", exchange_ ? exchange_->key() : std::string()));
    state_ = State::sending;
    body_ = std::move(body);
    body_waiting_ = false;
    // The body must be exactly the Content-Length promised: fewer bytes would leave the client
    // waiting on a keep-alive connection, more would corrupt the next response.
    body_left_ = 0;
    if (body_) {
        const std::string* cl = head.headers.get("Content-Length");
        body_left_ = cl ? std::strtoull(cl->c_str(), nullptr, 10) : 0;
    }
    output_.push_bytes(std::move(out));
    pump_body();
}

void H1Connection::pump_body() noexcept {
    if (state_ != State::sending) return;
    while (body_ && !body_waiting_) {
        uint64_t queued = output_.queued();
        if (queued >= kBodyHighWater) return;  // the next on_sent pulls more
        BodyChunk c = body_->next(kBodyHighWater - queued);
        uint64_t n = c.kind == BodyChunk::Kind::file   ? c.length
                     : c.kind == BodyChunk::Kind::data ? c.data.size()
                                                       : 0;
        if (n > body_left_) {
            cut("the body has more bytes than its Content-Length",
                Status(Code::internal, "body overrun"));
            return;
        }
        body_left_ -= n;
        switch (c.kind) {
            case BodyChunk::Kind::file:
                output_.push_file(c.fd, c.offset, c.length, std::move(c.keep));
                break;
            case BodyChunk::Kind::data:
                output_.push_bytes(std::move(c.data));
                break;
            case BodyChunk::Kind::wait:
                body_waiting_ = true;
                body_->wait(for_this_request([](H1Connection& conn) {
                    if (!conn.body_waiting_) return;
                    conn.body_waiting_ = false;
                    conn.pump_body();
                }));
                return;
            case BodyChunk::Kind::end:
                w_.ring().dispose_later(std::move(body_));
                if (body_left_ != 0) {
                    cut("the body ended before its Content-Length",
                        Status(Code::internal, std::to_string(body_left_) + " bytes missing"));
                    return;
                }
                break;
            case BodyChunk::Kind::error:
                cut("the body cannot be completed", c.error);
                return;
        }
        if (state_ != State::sending) return;  // the output failed while queueing
    }
    if (!body_ && output_.idle()) response_done();
}

void H1Connection::on_output_error(int error) noexcept {
    if (state_ == State::closed) return;
    if (error == -EIO) {
        cut("a file ended before the bytes it should hold", Status(Code::io_error, "short file"));
        return;
    }
    XS3_LOG_DEBUG("send failed", kv("conn", id_), kv("error", std::string(strerror(-error))));
    close("send failed");
}

void H1Connection::cut(const char* why, const Status& status) {
    w_.shared().counters.responses_cut.fetch_add(1, std::memory_order_relaxed);
    XS3_LOG_WARN("response cut off", kv("conn", id_),
                 kv("key", exchange_ ? exchange_->key() : std::string()), kv("why", why),
                 kv("error", status.ok() ? std::string("-") : status.to_string()),
                 kv("sent", output_.bytes_sent()));
    close(why);
}

void H1Connection::response_done() {
    if (exchange_) w_.ring().dispose_later(std::move(exchange_));
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
    // Sends on a socket we shut down fail fast; cancel covers ops parked in io-wq.
    if (output_.inflight() > 0) ::shutdown(fd_, SHUT_RDWR);
    output_.cancel();
    // Both may be on the call stack (a callback of theirs led here): free them next turn.
    if (body_) w_.ring().dispose_later(std::move(body_));
    if (exchange_) w_.ring().dispose_later(std::move(exchange_));
    maybe_free();
}

void H1Connection::finish_after_response() {
    finish_after_ = true;
    if (idle()) close("shutting down");
}

void H1Connection::maybe_free() noexcept {
    if (state_ != State::closed || inflight_ > 0 || output_.inflight() > 0 || freeing_) return;
    freeing_ = true;
    w_.forget(this);
}

}  // namespace xs3::proxy
