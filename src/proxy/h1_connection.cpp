// H1Connection: reading, parsing, answering through exchanges, sending, the hand-over to HTTP/2
// and the connection's lifetime.
#include "xs3/proxy/h1_connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "xs3/base/log.hpp"
#include "xs3/http/h2_settings.hpp"
#include "xs3/proxy/worker.hpp"

namespace xs3::proxy {
namespace {
// Body bytes queued on the socket before we stop pulling: file regions cost no memory, and
// memory chunks are bounded by their producers, so this only keeps the pipeline full.
constexpr uint64_t kBodyHighWater = 2 * 1024 * 1024;
// RFC 9113 3.4: what a client speaking HTTP/2 with prior knowledge sends first.
constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::string_view kSwitchingProtocols =
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
// How long a connection keeps reading (and dropping) what a client still sends after the answer
// to a request whose body was never read.
constexpr std::chrono::milliseconds kLinger{2000};
}  // namespace

H1Connection::H1Connection(Worker& worker, UniqueFd fd, uint64_t id)
    : ClientConnection(worker, id, std::move(fd)), parser_(worker.shared().options.limits) {
    wire([this](const char* d, size_t n) { on_input(d, n); },
         [this](int res) { on_input_end(res); }, [this] { pump_body(); },
         [this](int e) { on_output_error(e); });
}

H1Connection::~H1Connection() = default;

void H1Connection::start() {
    set_waiting(true);
    input_.start();
    arm_timer();
}

void H1Connection::on_input(const char* data, size_t n) noexcept {
    if (state_ == State::closed) return;
    inbuf_.append(data, n);
    after_input();
}

void H1Connection::on_input_end(int res) noexcept {
    if (state_ == State::closed) return;
    if (res != 0) {
        close("recv failed");
        return;
    }
    peer_eof_ = true;
    after_input();
}

void H1Connection::on_input_quiet() noexcept {
    if (state_ != State::handing_over) {
        check_finished();
        return;
    }
    // Every byte the kernel had for us is in inbuf_: the socket can change hands. Not from
    // inside this callback (the SocketInput is on the stack).
    Worker* w = &w_;
    uint64_t id = id_;
    w_.ring().defer([w, id] {
        if (auto* c = w->find<H1Connection>(id)) c->hand_over();
    });
}

void H1Connection::after_input() noexcept {
    if (state_ == State::closed || state_ == State::handing_over) return;
    if (discard_input_) {
        // The unread body of a refused request (or anything after it): never parsed.
        inbuf_.clear();
        if (peer_eof_ && state_ == State::lingering) close("peer closed after the answer");
        return;
    }
    if (state_ == State::reading) {
        process_input();
    } else if (inbuf_.size() > w_.shared().options.limits.max_header_bytes * 4 + 65536) {
        // A client pipelining far ahead of us: stop reading until we catch up.
        input_.pause();
    }
    if (state_ == State::reading && peer_eof_) {
        if (!parser_.mid_request() || inbuf_.empty()) close("peer closed");
    }
}

bool H1Connection::check_h2_preface() {
    if (!first_bytes_) return false;
    size_t n = std::min(inbuf_.size(), kH2Preface.size());
    if (kH2Preface.compare(0, n, std::string_view(inbuf_).substr(0, n)) != 0) {
        first_bytes_ = false;
        return false;
    }
    if (n == kH2Preface.size()) begin_hand_over();
    return true;  // the whole preface (handing over), or a prefix of it: wait for more
}

void H1Connection::process_input() {
    if (check_h2_preface()) return;
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

bool H1Connection::try_upgrade(http::Request& req) {
    const std::string* value = req.headers.get("HTTP2-Settings");
    if (value == nullptr) return false;
    auto settings = http::decode_http2_settings(*value);
    if (!settings.ok()) {
        // RFC 9113 3.2 lets a server ignore an upgrade: answer this one over HTTP/1.1.
        XS3_LOG_DEBUG("Upgrade: h2c ignored", kv("conn", id_),
                      kv("error", settings.status().message()));
        return false;
    }
    upgrade_ = H2Upgrade{std::move(req), std::move(settings).value()};
    begin_hand_over();
    return true;
}

void H1Connection::begin_hand_over() {
    state_ = State::handing_over;
    set_waiting(false);
    w_.ring().cancel_timer(timer_);
    input_.pause();  // on_input_quiet follows once the last recv is back
}

void H1Connection::hand_over() noexcept {
    if (state_ != State::handing_over || input_.inflight() > 0) return;
    state_ = State::closed;
    ++req_gen_;
    UniqueFd fd = release_fd();  // the H2 connection owns the socket now
    close_io();
    std::string first_output;
    if (upgrade_) first_output = kSwitchingProtocols;
    w_.hand_over_to_h2(std::move(fd), std::move(inbuf_), std::move(upgrade_),
                       std::move(first_output));
    check_finished();
}

void H1Connection::start_exchange(http::Request req) {
    w_.ring().cancel_timer(timer_);
    head_deadline_ = {};
    first_bytes_ = false;
    if (req.upgrade_h2c && !finish_after_ && try_upgrade(req)) return;
    state_ = State::handling;
    set_waiting(false);
    keep_alive_ = req.keep_alive;
    http10_ = req.version_minor == 0;
    if (req.body_unread) {
        // Answered at the end of its head (the proxy refuses it whatever the body holds);
        // nothing the client sends afterwards can be framed.
        discard_input_ = true;
        inbuf_.clear();
    }
    begin_access(req);
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
    set_waiting(false);
    // Say which request it was, as far as it was read.
    http::Request partial;
    partial.method_name = std::string(parser_.current_method());
    partial.target = std::string(parser_.current_target());
    begin_access(partial);
    size_t q = partial.target.find('?');
    auto path = http::percent_decode(std::string_view(partial.target).substr(0, q));
    auto [head, body] =
        s3_error_response(status, code, parser_.error_reason(),
                          path.ok() ? *path : partial.target.substr(0, q), w_.new_request_id());
    respond(std::move(head), std::make_unique<MemoryBody>(std::move(body)));
}

void H1Connection::arm_timer() {
    if (state_ != State::reading) {
        w_.ring().cancel_timer(timer_);
        return;
    }
    const auto& o = w_.shared().options;
    const ring::Clock::time_point now = ring::Clock::now();
    ring::Clock::time_point deadline;
    if (parser_.mid_request() || !inbuf_.empty()) {
        // A request head (or the HTTP/2 preface) has begun: it must be complete within
        // header_timeout of its first byte. Bytes arriving do not move the deadline, so a client
        // dribbling a byte a second is timed out like one sending nothing.
        if (head_deadline_ == ring::Clock::time_point{}) head_deadline_ = now + o.header_timeout;
        deadline = head_deadline_;
    } else {
        head_deadline_ = {};
        if (o.idle_timeout.count() <= 0) {
            w_.ring().cancel_timer(timer_);
            return;
        }
        deadline = now + o.idle_timeout;
    }
    if (timer_ && timer_.deadline == deadline) return;
    w_.ring().cancel_timer(timer_);
    Worker* w = &w_;
    uint64_t id = id_;
    timer_ = w_.ring().add_timer(deadline - now, [w, id] {
        if (auto* c = w->find<H1Connection>(id)) {
            c->timer_ = {};
            c->on_timer();
        }
    });
}

void H1Connection::on_timer() {
    if (state_ != State::reading) return;
    if (parser_.mid_request() || !inbuf_.empty())
        w_.shared().counters.header_timeouts.fetch_add(1, std::memory_order_relaxed);
    if (parser_.mid_request()) {
        XS3_LOG_DEBUG("request head not complete in time: 408", kv("conn", id_));
        keep_alive_ = false;
        state_ = State::handling;
        set_waiting(false);
        http::Request none;
        begin_access(none);
        auto [head, body] = s3_error_response(
            408, "RequestTimeout", "request headers not received in time", "", w_.new_request_id());
        respond(std::move(head), std::make_unique<MemoryBody>(std::move(body)));
    } else if (!inbuf_.empty()) {
        close("header timeout (a prefix of the HTTP/2 preface)");
    } else {
        close("idle timeout");
    }
}

void H1Connection::on_send_timeout() noexcept {
    if (state_ == State::closed) return;
    w_.shared().counters.send_timeouts.fetch_add(1, std::memory_order_relaxed);
    XS3_LOG_INFO("send timeout: the client takes no bytes; closing", kv("conn", id_),
                 kv("key", exchange_ ? exchange_->key() : std::string()),
                 kv("sent", output_.bytes_sent()), kv("queued", output_.queued()));
    finish_access("timeout");
    close("send timeout");
}

void H1Connection::respond(http::ResponseHead head, std::unique_ptr<Body> body) noexcept {
    if (state_ != State::handling) {
        if (body) w_.ring().dispose_later(std::move(body));
        return;
    }
    head.headers.add("Server", std::string(http::server_header_value()));
    head.headers.add("Date", w_.dates().now());
    if (!keep_alive_ || finish_after_)
        head.headers.add("Connection", "close");
    else if (http10_)
        // An HTTP/1.0 client keeps the connection only when the answer says so (RFC 9112 C.2.2);
        // without it, it takes each answer as the last on the connection (ab -k reconnects).
        head.headers.add("Connection", "keep-alive");
    std::string out;
    size_t dropped = http::serialize_response_head(head, out);
    if (dropped > 0)
        XS3_LOG_WARN("response header fields dropped (invalid bytes)", kv("count", dropped),
                     kv("key", exchange_ ? exchange_->key() : std::string()));
    state_ = State::sending;
    if (access_.active) {
        access_.answered(head, exchange_ ? exchange_->cache_status() : "");
        access_.sent_at_start = output_.bytes_sent();
    }
    body_ = std::move(body);
    body_waiting_ = false;
    // The body must be exactly the Content-Length promised: fewer bytes would leave the client
    // waiting on a keep-alive connection, more would corrupt the next response.
    body_left_ = 0;
    if (body_) {
        const std::string* cl = head.headers.get("Content-Length");
        body_left_ = cl ? std::strtoull(cl->c_str(), nullptr, 10) : 0;
    }
    // Corked: the head leaves together with the first body bytes (for a small file, the read
    // and one SENDMSG of head + bytes are one submission).
    output_.cork();
    output_.push_bytes(std::move(out));
    pump_body();
    output_.uncork();
}

void H1Connection::pump_body() noexcept {
    if (state_ == State::cutting) {
        if (output_.idle()) close(cut_why_);
        return;
    }
    pull_body();
    // Whatever was queued, and however pulling ended, bytes waiting to go out are watched.
    watch_output();
}

void H1Connection::pull_body() noexcept {
    if (state_ != State::sending) return;
    // Enough queued for the output's read-ahead and the block being sent.
    const uint64_t high_water = std::max(kBodyHighWater, 2 * output_.read_ahead());
    while (body_ && !body_waiting_) {
        uint64_t queued = output_.queued();
        if (queued >= high_water) return;  // the next on_sent pulls more
        BodyChunk c = body_->next(high_water - queued);
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
    finish_access("cut");
    // What is queued goes out first: the head and body bytes before the failure are right, and a
    // client then sees the response it was promised cut short, not a connection closed before
    // any head (a body that fails at its first look is cut while the head is still queued). The
    // send timeout bounds the wait for a client that does not read.
    if (state_ == State::sending && !output_.failed() && !output_.idle()) {
        state_ = State::cutting;
        cut_why_ = why;
        body_waiting_ = false;
        if (body_) w_.ring().dispose_later(std::move(body_));
        return;  // pump_body (on_sent) closes once the output is idle
    }
    close(why);
}

void H1Connection::begin_access(http::Request& req) {
    bool log = w_.shared().options.access_log;
    if (log && peer_.empty()) peer_ = peer_address(fd());
    access_.begin(req, log, "h1", id_, 0);
}

void H1Connection::finish_access(const char* outcome) {
    if (!access_.active) return;
    access_.sent = access_.status != 0 ? output_.bytes_sent() - access_.sent_at_start : 0;
    end_request(access_, peer_, outcome);
}

void H1Connection::response_done() {
    finish_access("complete");
    if (exchange_) w_.ring().dispose_later(std::move(exchange_));
    ++req_gen_;
    if (!keep_alive_ || finish_after_) {
        // Half-close first so the client reads the whole response before the FIN.
        ::shutdown(fd(), SHUT_WR);
        if (discard_input_ && !peer_eof_) {
            linger();
            return;
        }
        close("response complete, not keep-alive");
        return;
    }
    state_ = State::reading;
    set_waiting(true);
    process_input();
    if (state_ == State::reading) {
        if (peer_eof_) {
            close("peer closed");
            return;
        }
        input_.start();
        arm_timer();
    }
}

void H1Connection::linger() {
    state_ = State::lingering;
    input_.start();  // it may have been paused while the answer was being sent
    Worker* w = &w_;
    uint64_t id = id_;
    timer_ = w_.ring().add_timer(kLinger, [w, id] {
        if (auto* c = w->find<H1Connection>(id)) {
            c->timer_ = {};
            c->close("lingering close ended");
        }
    });
}

std::function<void()> H1Connection::for_this_request(std::function<void(H1Connection&)> fn) {
    Worker* w = &w_;
    uint64_t id = id_;
    uint64_t gen = req_gen_;
    return [w, id, gen, fn = std::move(fn)] {
        H1Connection* c = w->find<H1Connection>(id);
        if (c != nullptr && c->req_gen_ == gen && c->state_ != State::closed) fn(*c);
    };
}

void H1Connection::close(const char* why) {
    if (state_ == State::closed) return;
    XS3_LOG_DEBUG("connection closed", kv("conn", id_), kv("why", why));
    finish_access("aborted");
    state_ = State::closed;
    set_waiting(false);
    ++req_gen_;
    w_.ring().cancel_timer(timer_);
    close_io();
    // Both may be on the call stack (a callback of theirs led here): free them next turn.
    if (body_) w_.ring().dispose_later(std::move(body_));
    if (exchange_) w_.ring().dispose_later(std::move(exchange_));
    check_finished();
}

void H1Connection::finish_after_response() {
    finish_after_ = true;
    if (idle()) close("shutting down");
}

}  // namespace xs3::proxy
