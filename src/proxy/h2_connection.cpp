// H2Connection: the HTTP/2 transport — input to the codec, one Exchange per request stream,
// produce() into the SocketOutput, the send timeout, GOAWAY on shutdown and idle, and the
// connection's lifetime. Responses and their bodies (H2BodyQueues, the read-ahead into pooled
// blocks) are in h2_responses.cpp; Stream and BlockRead in h2_stream.hpp.
#include "xs3/proxy/h2_connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "xs3/base/log.hpp"
#include "xs3/proxy/h2_body_queue.hpp"
#include "xs3/proxy/worker.hpp"

#include "h2_stream.hpp"

namespace xs3::proxy {
namespace {
// Output queued on the socket before produce() stops: a couple of full SENDMSGs (256 iovecs,
// 2 MiB of 16 KiB frames), so a few multiplexed connections keep as much in the kernel as many
// HTTP/1.1 ones do (docs/design.md has the measurements).
constexpr uint64_t kOutputHighWater = 4 * 1024 * 1024;
// After finish_after_response(): how long to wait for the PING that ends the graceful GOAWAY.
constexpr auto kShutdownPingWait = std::chrono::seconds(1);
// After the last byte: how long to keep reading (and dropping) what the client still sends, so
// our final frames are not lost to a reset caused by unread input.
constexpr auto kLinger = std::chrono::seconds(2);
}  // namespace

H2Connection::H2Connection(Worker& worker, UniqueFd fd, uint64_t id, std::string received,
                           std::optional<H2Upgrade> upgrade, std::string first_output)
    : ClientConnection(worker, id, std::move(fd)),
      frame_from_memory_(worker.shared().options.output.file_mode == net::FileSendMode::copy),
      received_(std::move(received)),
      upgrade_(std::move(upgrade)),
      first_output_(std::move(first_output)),
      codec_(worker.shared().options.h2),
      budget_(std::make_shared<uint64_t>(0)) {
    wire([this](const char* d, size_t n) { on_input(d, n); },
         [this](int res) { on_input_end(res); }, [this] { pump(); },
         [this](int e) { on_output_error(e); });
}

H2Connection::~H2Connection() {
    w_.ring().cancel_timer(idle_timer_);
    w_.ring().cancel_timer(shutdown_timer_);
    w_.ring().cancel_timer(stall_timer_);
    streams_.clear();
}

void H2Connection::start() {
    XS3_LOG_DEBUG("connection speaks HTTP/2", kv("conn", id_),
                  kv("via", upgrade_ ? "upgrade" : "prior knowledge"));
    if (!first_output_.empty()) output_.push_bytes(std::move(first_output_));
    if (upgrade_) {
        Status st = codec_.upgrade(upgrade_->settings, std::move(upgrade_->request));
        upgrade_.reset();
        if (!st.ok()) {
            XS3_LOG_INFO("h2c upgrade failed", kv("conn", id_), kv("error", st.to_string()));
            close("h2c upgrade failed");
            return;
        }
    }
    std::string bytes = std::move(received_);
    if (!bytes.empty()) {
        on_input(bytes.data(), bytes.size());
    } else {
        handle_events();
        pump();
    }
    if (state_ == State::closed) return;
    input_.start();
    arm_idle_timer();
}

// ---- send timeout -------------------------------------------------------------------------

void H2Connection::on_send_timeout() noexcept {
    if (state_ == State::closed) return;
    w_.shared().counters.send_timeouts.fetch_add(1, std::memory_order_relaxed);
    XS3_LOG_INFO("send timeout: the client takes no bytes; closing", kv("conn", id_),
                 kv("streams", streams_.size()), kv("sent", output_.bytes_sent()),
                 kv("queued", output_.queued()));
    close("send timeout");
}

void H2Connection::arm_stall_check() noexcept {
    const auto timeout = send_timeout();
    if (timeout.count() <= 0 || stall_timer_ || state_ == State::closed) return;
    // A quarter of the timeout: a stream held by its window is reset between 1 and 1.25 times
    // the timeout after it stopped, with one timer per connection that has answers under way.
    auto period = std::max<ring::Clock::duration>(timeout / 4, std::chrono::milliseconds(100));
    Worker* w = &w_;
    uint64_t id = id_;
    stall_timer_ = w_.ring().add_timer(period, [w, id] {
        if (auto* c = w->find<H2Connection>(id)) {
            c->stall_timer_ = {};
            c->check_stalls();
        }
    });
}

void H2Connection::check_stalls() noexcept {
    if (state_ == State::closed) return;
    const auto now = ring::Clock::now();
    bool watching = false;
    std::vector<int32_t> stalled;
    for (auto& [id, sp] : streams_) {
        Stream& s = *sp;
        if (!s.responded || s.failed || s.closed) continue;
        if (!s.body && s.body_end && s.queue.empty()) continue;  // everything handed to the codec
        watching = true;
        // Held by the client: bytes are ready, and its window lets none of them go. (Bytes the
        // body has not produced yet are the origin's delay, not the client's.)
        if (codec_.send_window(id) > 0 || !body_ready_now(s)) {
            s.blocked_since = {};
            continue;
        }
        if (s.blocked_since == ring::Clock::time_point{})
            s.blocked_since = now;
        else if (now - s.blocked_since >= send_timeout())
            stalled.push_back(id);
    }
    for (int32_t id : stalled) {
        Stream* s = find_stream(id);
        if (s == nullptr) continue;
        s->timed_out = true;
        s->failed = true;
        w_.shared().counters.send_timeouts.fetch_add(1, std::memory_order_relaxed);
        XS3_LOG_INFO("send timeout: the client's window has held the stream; resetting it",
                     kv("conn", id_), kv("stream", id),
                     kv("key", s->exchange ? s->exchange->key() : std::string()),
                     kv("sent", s->access.sent));
        Status st = codec_.reset_stream(id, http::h2_error::cancel);
        (void)st;
    }
    if (!stalled.empty()) schedule_pump();
    if (watching) arm_stall_check();
}

// ---- input --------------------------------------------------------------------------------

void H2Connection::on_input(const char* data, size_t n) noexcept {
    if (state_ == State::closed) return;
    if (state_ == State::lingering) return;  // read and dropped
    Status st = codec_.feed(data, n);
    (void)st;  // a failed codec reports itself as a protocol_error event
    handle_events();
    pump();
}

void H2Connection::on_input_end(int res) noexcept {
    if (state_ == State::closed) return;
    if (res != 0) {
        close("recv failed");
        return;
    }
    peer_eof_ = true;
    if (state_ == State::lingering) {
        close("peer closed");
        return;
    }
    maybe_finish();
}

// ---- events from the codec ----------------------------------------------------------------

void H2Connection::handle_events() noexcept {
    // Answers given inside the loop (a synchronous exchange) only ask for a pump: the caller
    // pumps after this, so events are never handled recursively.
    const bool nested = in_events_;
    in_events_ = true;
    http::H2Event ev;
    while (state_ != State::closed && codec_.next_event(ev)) {
        switch (ev.kind) {
            case http::H2Event::Kind::request:
                start_stream(ev.stream_id, std::move(ev.request));
                break;
            case http::H2Event::Kind::stream_closed:
                end_stream(ev.stream_id, ev.error_code, ev.by_peer);
                break;
            case http::H2Event::Kind::close_connection:
                XS3_LOG_DEBUG("h2 connection finished", kv("conn", id_), kv("why", ev.message),
                              kv("code", ev.error_code), kv("by_client", ev.by_peer));
                if (ev.error_code != http::h2_error::no_error && !ev.by_peer)
                    XS3_LOG_INFO("h2 connection closed with GOAWAY", kv("conn", id_),
                                 kv("why", ev.message), kv("code", ev.error_code));
                if (state_ == State::open) state_ = State::closing;
                break;
            case http::H2Event::Kind::protocol_error:
                XS3_LOG_INFO("h2 protocol error", kv("conn", id_), kv("why", ev.message));
                close("h2 protocol error");
                break;
        }
    }
    in_events_ = nested;
    maybe_finish();
}

void H2Connection::schedule_pump() noexcept {
    if (pumping_ || in_events_)
        pump_again_ = true;  // the pump in progress, or the one after the events, does it
    else
        pump();
}

void H2Connection::start_stream(int32_t stream_id, http::Request request) {
    w_.ring().cancel_timer(idle_timer_);
    set_waiting(false);
    auto owned = std::make_unique<Stream>(*this, stream_id);
    Stream& s = *owned;
    streams_[stream_id] = std::move(owned);
    bool log = w_.shared().options.access_log;
    if (log && peer_.empty()) peer_ = peer_address(fd());
    s.access.begin(request, log, "h2", id_, stream_id);
    s.exchange = std::make_shared<Exchange>(w_, s, std::move(request));
    // The exchange may answer (and the stream end) inside start(): keep it alive through it.
    auto x = s.exchange;
    x->start();
}

void H2Connection::end_stream(int32_t stream_id, uint32_t error_code, bool by_peer) {
    auto it = streams_.find(stream_id);
    if (it == streams_.end()) return;
    std::unique_ptr<Stream> s = std::move(it->second);
    streams_.erase(it);
    if (error_code != http::h2_error::no_error)
        XS3_LOG_DEBUG("h2 stream reset", kv("conn", id_), kv("stream", stream_id),
                      kv("code", error_code), kv("by_client", by_peer),
                      kv("key", s->exchange ? s->exchange->key() : std::string()));
    s->closed = true;
    s->queue.clear();
    end_request(s->access, peer_,
                error_code == http::h2_error::no_error ? (s->responded ? "complete" : "aborted")
                : by_peer                              ? "reset"
                : s->timed_out                         ? "timeout"
                                                       : "cut");
    // The exchange or the body may be on the stack (their callback led here): free them late.
    w_.ring().dispose_later(std::move(s));
    if (streams_.empty()) arm_idle_timer();
}

H2Connection::Stream* H2Connection::find_stream(int32_t stream_id) noexcept {
    auto it = streams_.find(stream_id);
    return it == streams_.end() ? nullptr : it->second.get();
}

std::function<void()> H2Connection::for_stream(int32_t stream_id,
                                               std::function<void(H2Connection&, Stream&)> fn) {
    Worker* w = &w_;
    uint64_t id = id_;
    return [w, id, stream_id, fn = std::move(fn)] {
        H2Connection* c = w->find<H2Connection>(id);
        if (c == nullptr || c->state_ == State::closed) return;
        if (Stream* s = c->find_stream(stream_id)) fn(*c, *s);
    };
}

// ---- output -------------------------------------------------------------------------------

void H2Connection::pump() noexcept {
    if (state_ == State::closed || state_ == State::lingering) return;
    if (pumping_) {
        pump_again_ = true;
        return;
    }
    pumping_ = true;
    do {
        pump_again_ = false;
        retry_starved();
        while (state_ != State::closed && output_.queued() < kOutputHighWater) {
            in_produce_ = true;
            codec_.produce(static_cast<size_t>(kOutputHighWater - output_.queued()));
            in_produce_ = false;
            if (codec_.output().empty()) break;
            if (!transfer()) break;
        }
        if (state_ != State::closed) handle_events();
    } while (pump_again_ && state_ != State::closed);
    pumping_ = false;
    watch_output();
    maybe_finish();
}

bool H2Connection::transfer() noexcept {
    const http::H2Output& out = codec_.output();
    uint64_t total = 0;
    output_.cork();
    for (size_t i = 0; i < out.segment_count(); ++i) {
        http::H2Segment seg = out.segment(i);
        if (seg.kind == http::H2Segment::Kind::bytes) {
            output_.push_bytes(seg.bytes);
        } else {
            Stream* s = find_stream(seg.stream_id);
            if (s == nullptr || !s->queue.take(seg.offset, seg.length, output_)) {
                // A DATA header is queued without its payload: the connection cannot go on.
                XS3_LOG_ERROR("h2 payload missing", kv("conn", id_), kv("stream", seg.stream_id),
                              kv("offset", seg.offset), kv("length", seg.length));
                output_.uncork();
                close("h2 payload missing");
                return false;
            }
            // Bytes promised in this produce() still counted as queued, so the body may not
            // have been pulled further: pull (and read ahead) now that they are gone.
            top_up(*s);
            if (s->deferred && body_ready_now(*s)) resume(*s);
        }
        total += seg.length;
    }
    codec_.consume(static_cast<size_t>(total));
    output_.uncork();
    return true;
}

void H2Connection::maybe_finish() noexcept {
    if (state_ == State::closed || state_ == State::lingering || pumping_) return;
    if (!output_.idle()) return;
    if (state_ == State::open && peer_eof_ && streams_.empty()) {
        close("peer closed");
        return;
    }
    if (state_ != State::closing) return;
    // The codec is done and everything it produced is on the socket: half-close and drain.
    state_ = State::lingering;
    ::shutdown(fd(), SHUT_WR);
    if (peer_eof_) {
        close("h2 connection finished");
        return;
    }
    w_.ring().cancel_timer(idle_timer_);
    Worker* w = &w_;
    uint64_t id = id_;
    idle_timer_ = w_.ring().add_timer(kLinger, [w, id] {
        if (auto* c = w->find<H2Connection>(id)) {
            c->idle_timer_ = {};
            c->close("h2 connection finished");
        }
    });
}

void H2Connection::arm_idle_timer() {
    w_.ring().cancel_timer(idle_timer_);
    if (state_ != State::open || !streams_.empty()) return;
    set_waiting(true);
    auto after = w_.shared().options.idle_timeout;
    if (after.count() <= 0) return;
    Worker* w = &w_;
    uint64_t id = id_;
    idle_timer_ = w_.ring().add_timer(after, [w, id] {
        H2Connection* c = w->find<H2Connection>(id);
        if (c == nullptr) return;
        c->idle_timer_ = {};
        if (c->state_ != State::open || !c->streams_.empty()) return;
        XS3_LOG_DEBUG("h2 connection idle: GOAWAY", kv("conn", id));
        c->codec_.finish_shutdown();
        c->pump();
    });
}

void H2Connection::finish_after_response() {
    if (state_ != State::open || shutting_down_) return;
    shutting_down_ = true;
    codec_.begin_shutdown();
    Worker* w = &w_;
    uint64_t id = id_;
    shutdown_timer_ = w_.ring().add_timer(kShutdownPingWait, [w, id] {
        if (auto* c = w->find<H2Connection>(id)) {
            c->shutdown_timer_ = {};
            c->codec_.finish_shutdown();
            c->pump();
        }
    });
    pump();
}

void H2Connection::on_output_error(int error) noexcept {
    if (state_ == State::closed) return;
    if (error == -EIO) {
        w_.shared().counters.responses_cut.fetch_add(1, std::memory_order_relaxed);
        XS3_LOG_WARN("response cut off", kv("conn", id_),
                     kv("why", "a file ended before the bytes it should hold"),
                     kv("sent", output_.bytes_sent()));
        close("short file");
        return;
    }
    XS3_LOG_DEBUG("send failed", kv("conn", id_), kv("error", std::string(strerror(-error))));
    close("send failed");
}

// ---- lifetime -----------------------------------------------------------------------------

void H2Connection::close(const char* why) {
    if (state_ == State::closed) return;
    XS3_LOG_DEBUG("connection closed", kv("conn", id_), kv("why", why),
                  kv("requests", codec_.stats().requests),
                  kv("client_resets", codec_.stats().peer_resets));
    state_ = State::closed;
    set_waiting(false);
    w_.ring().cancel_timer(idle_timer_);
    w_.ring().cancel_timer(shutdown_timer_);
    w_.ring().cancel_timer(stall_timer_);
    close_io();
    for (auto& r : reads_)
        if (r->busy) w_.ring().cancel(&r->op);
    // Exchanges and bodies may be on the call stack: free the streams late.
    for (auto& [id, s] : streams_) {
        s->closed = true;
        s->queue.clear();
        end_request(s->access, peer_, "aborted");
        w_.ring().dispose_later(std::move(s));
    }
    streams_.clear();
    starved_.clear();
    check_finished();
}

}  // namespace xs3::proxy
