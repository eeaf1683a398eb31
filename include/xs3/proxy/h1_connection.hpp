// H1Connection: one HTTP/1.1 client connection on a worker's ring. It reads through a
// SocketInput (multishot recv into provided buffers), parses with http::H1Parser one request at a
// time (pipelined requests wait in the input buffer), runs each request as an Exchange
// (exchange.hpp: routing, S3, cache) and writes the answer through a SocketOutput, pulling the
// body (body.hpp) as the socket drains.
//
// Every connection starts here. One whose first bytes are the HTTP/2 connection preface, or whose
// request asks for `Upgrade: h2c`, is handed to an H2Connection (Worker::hand_over_to_h2): reading
// stops, the bytes received so far (and the upgrade's request) go with the socket, and this object
// is forgotten without closing it.
//
// Lifetime (net::Connection): ops in flight are counted (recv in the SocketInput, sends in the
// SocketOutput); close() cancels them, and the object is freed only when both counts are zero
// (Worker::forget, at the end of the turn). Wake-ups from elsewhere come back through
// Worker::find(id) with the request generation, so a late one for a closed connection or an old
// request is dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "xs3/http/h1_parser.hpp"
#include "xs3/proxy/access_log.hpp"
#include "xs3/proxy/body.hpp"
#include "xs3/proxy/client_connection.hpp"
#include "xs3/proxy/exchange.hpp"
#include "xs3/ring/ring.hpp"

namespace xs3::proxy {

// What an HTTP/1.1 connection hands to HTTP/2 with `Upgrade: h2c`: the request (stream 1) and
// its decoded HTTP2-Settings.
struct H2Upgrade {
    http::Request request;
    std::string settings;
};

class H1Connection final : public ClientConnection, public ResponseSink {
  public:
    H1Connection(Worker& worker, UniqueFd fd, uint64_t id);
    ~H1Connection() override;

    void start() override;
    void close(const char* why) override;
    void finish_after_response() override;
    bool idle() const noexcept override {
        return state_ == State::reading && !parser_.mid_request();
    }
    DebugState debug_state() const noexcept override {
        switch (state_) {
            case State::reading:
                return {"h1", parser_.mid_request() ? "reading" : "idle", 0};
            case State::handling:
                return {"h1", "handling", 0};
            case State::sending:
                return {"h1", "sending", 0};
            case State::cutting:
                return {"h1", "cutting", 0};
            case State::handing_over:
                return {"h1", "handing_over", 0};
            case State::lingering:
                return {"h1", "lingering", 0};
            case State::closed:
                break;
        }
        return {"h1", "closed", 0};
    }

    // ResponseSink
    void respond(http::ResponseHead head, std::unique_ptr<Body> body) noexcept override;
    const std::string& client_ip() noexcept override { return remote_ip(); }

  private:
    // lingering: the last answer is out and our side is shut; what the client still sends (the
    // body of a refused request) is read and dropped until it closes, so a reset caused by
    // unread input cannot destroy the answer before the client has read it.
    // cutting: the response cannot be completed; what is queued (the head, a correct prefix of
    // the body) goes out, then the connection closes.
    enum class State { reading, handling, sending, cutting, handing_over, lingering, closed };

    void on_input(const char* data, size_t n) noexcept;
    void on_input_end(int res) noexcept;
    void on_input_quiet() noexcept override;
    void on_send_timeout() noexcept override;
    void after_input() noexcept;
    void process_input();
    // True when the bytes so far are (a prefix of) the HTTP/2 preface: then they are not HTTP/1.
    bool check_h2_preface();
    void start_exchange(http::Request req);
    bool try_upgrade(http::Request& req);
    void begin_hand_over();
    void hand_over() noexcept;
    void respond_parse_error();
    void arm_timer();
    void on_timer();
    void pump_body() noexcept;
    void pull_body() noexcept;
    void on_output_error(int error) noexcept;
    void cut(const char* why, const Status& status = Status());
    void response_done();
    void linger();
    void begin_access(http::Request& req);
    void finish_access(const char* outcome);
    // A task that runs `fn` only if the connection is still open and on the same request.
    std::function<void()> for_this_request(std::function<void(H1Connection&)> fn);

    State state_ = State::reading;
    bool keep_alive_ = true;
    bool http10_ = false;  // the request is HTTP/1.0: keeping the connection must be said
    bool peer_eof_ = false;
    bool finish_after_ = false;
    bool first_bytes_ = true;     // nothing parsed yet: the HTTP/2 preface may still come
    bool discard_input_ = false;  // a request's body was left unread: drop what follows
    uint64_t req_gen_ = 0;

    // Input.
    http::H1Parser parser_;
    std::string inbuf_;
    ring::Ring::TimerId timer_;
    ring::Clock::time_point head_deadline_{};  // the request head in progress must be done by
    std::optional<H2Upgrade> upgrade_;         // while handing over an `Upgrade: h2c` request

    // The current request and response.
    std::shared_ptr<Exchange> exchange_;
    AccessRecord access_;  // the request being answered, for --access-log
    std::string peer_;     // the client's address, once a request is logged
    std::unique_ptr<Body> body_;
    bool body_waiting_ = false;
    uint64_t body_left_ = 0;    // body bytes still owed to the Content-Length
    const char* cut_why_ = "";  // why the response is being cut (cutting)
};

}  // namespace xs3::proxy
