// H1Connection: one HTTP/1.1 client connection on a worker's ring. It reads with multishot recv
// into provided buffers, parses with http::H1Parser one request at a time (pipelined requests wait
// in the input buffer), runs each request as an Exchange (exchange.hpp: routing, S3, cache) and
// writes the answer through a SocketOutput, pulling the body (body.hpp) as the socket drains.
//
// Lifetime: ops in flight are counted (recv here, sends in the SocketOutput); close() cancels
// them, and the object is freed only when both counts are zero (Worker::forget, at the end of the
// turn). Wake-ups from elsewhere come back through Worker::find(id) with the request generation,
// so a late one for a closed connection or an old request is dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "xs3/http/h1_parser.hpp"
#include "xs3/net/socket_output.hpp"
#include "xs3/proxy/body.hpp"
#include "xs3/proxy/exchange.hpp"
#include "xs3/ring/ring.hpp"

namespace xs3::proxy {

class Worker;

class H1Connection final : public ResponseSink {
  public:
    H1Connection(Worker& worker, int fd, uint64_t id);
    ~H1Connection();
    H1Connection(const H1Connection&) = delete;
    H1Connection& operator=(const H1Connection&) = delete;

    void start();
    // Closes now: in-flight ops are cancelled, the response (if any) is cut off.
    void close(const char* why);
    // Stop after the current response (graceful shutdown).
    void finish_after_response();
    bool idle() const noexcept { return state_ == State::reading && !parser_.mid_request(); }
    uint64_t id() const noexcept { return id_; }

    // ResponseSink
    void respond(http::ResponseHead head, std::unique_ptr<Body> body) noexcept override;

  private:
    enum class State { reading, handling, sending, closed };

    void arm_recv() noexcept;
    void on_recv(int res, uint32_t flags) noexcept;
    void process_input();
    void start_exchange(http::Request req);
    void respond_parse_error();
    void arm_timer();
    void on_timer();
    void pump_body() noexcept;
    void on_output_error(int error) noexcept;
    void cut(const char* why, const Status& status = Status());
    void maybe_free() noexcept;
    void response_done();
    // A task that runs `fn` only if the connection is still open and on the same request.
    std::function<void()> for_this_request(std::function<void(H1Connection&)> fn);

    Worker& w_;
    int fd_;
    const uint64_t id_;
    State state_ = State::reading;
    unsigned inflight_ = 0;  // recv ops; sends are counted by output_
    bool freeing_ = false;
    bool keep_alive_ = true;
    bool peer_eof_ = false;
    bool finish_after_ = false;
    uint64_t req_gen_ = 0;

    // Input.
    http::H1Parser parser_;
    std::string inbuf_;
    bool recv_armed_ = false;
    bool recv_multishot_ = false;
    std::unique_ptr<char[]> plain_recv_buf_;  // when the kernel has no buffer rings
    ring::Ring::TimerId timer_;

    // The current request and response.
    std::shared_ptr<Exchange> exchange_;
    std::unique_ptr<Body> body_;
    bool body_waiting_ = false;
    uint64_t body_left_ = 0;  // body bytes still owed to the Content-Length

    net::SocketOutput output_;

    ring::MemberOp<H1Connection, &H1Connection::on_recv> recv_op_{this};
};

}  // namespace xs3::proxy
