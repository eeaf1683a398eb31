// H2Connection's streams and block reads, shared by h2_connection.cpp (the transport, stream
// lifetimes, output) and h2_responses.cpp (responses, their bodies, the read-ahead). Internal
// to proxy.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "xs3/proxy/access_log.hpp"
#include "xs3/proxy/exchange.hpp"
#include "xs3/proxy/h2_body_queue.hpp"
#include "xs3/proxy/h2_connection.hpp"

namespace xs3::proxy {

namespace h2_detail {
struct ReadBuffer;  // h2_responses.cpp
}  // namespace h2_detail

// One in-flight READ of a stream's file bytes into a buffer. Owned by the connection (not the
// stream, which may be reset while the read is in the kernel).
struct H2Connection::BlockRead {
    explicit BlockRead(H2Connection& c) : conn(c) {}
    void on_complete(int res, uint32_t) noexcept { conn.on_read(*this, res); }

    H2Connection& conn;
    bool busy = false;
    int32_t stream_id = 0;
    int fd = -1;
    uint64_t file_offset = 0;
    size_t length = 0;
    std::shared_ptr<h2_detail::ReadBuffer> buffer;
    H2BodyQueue::Keep file_keep;  // the file stays open while the kernel reads it
    ring::MemberOp<BlockRead, &BlockRead::on_complete> op{this};
};

// A response whose HEADERS wait for the READ of its (small) body, to leave with its DATA.
struct HeldResponse {
    http::ResponseHead head;
    std::optional<uint64_t> length;
};

// One request stream: the exchange answering it, and its body on the way to DATA frames.
class H2Connection::Stream final : public ResponseSink {
  public:
    Stream(H2Connection& conn, int32_t id) : conn_(conn), id(id) {}

    void respond(http::ResponseHead head, std::unique_ptr<Body> body) noexcept override {
        if (closed) {
            // The client reset the stream (or the connection closed) before the answer.
            if (body) conn_.w_.ring().dispose_later(std::move(body));
            return;
        }
        conn_.on_response(*this, std::move(head), std::move(body));
    }
    const std::string& client_ip() noexcept override { return conn_.remote_ip(); }

    H2Connection& conn_;
    const int32_t id;
    bool closed = false;
    bool responded = false;
    bool waiting = false;    // the body has a wake-up registered
    bool body_end = false;   // the body returned end: everything is in the queue
    bool reading = false;    // a BlockRead is in flight
    bool starved = false;    // in starved_: waiting for read budget
    bool failed = false;     // the body cannot be completed: the stream is (being) reset
    bool deferred = false;   // body_available() said deferred: the codec waits for resume_data
    bool timed_out = false;  // reset after --send-timeout with its window shut
    // Since when the client's flow-control window has held this stream's ready bytes back (as
    // seen by the stall check); zero while it is not held.
    ring::Clock::time_point blocked_since{};
    std::unique_ptr<Body> body;
    std::unique_ptr<HeldResponse> held;  // answered, its HEADERS not yet given to the codec
    H2BodyQueue queue;
    AccessRecord access;                 // for --access-log
    std::shared_ptr<Exchange> exchange;  // last: goes first when the stream is freed
};

}  // namespace xs3::proxy
