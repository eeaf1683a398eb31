// H2Connection: one cleartext HTTP/2 client connection on a worker's ring. An H1Connection hands
// it the socket once it sees the connection preface (prior knowledge) or an `Upgrade: h2c`
// request (answered 101 here, the request becoming stream 1). Bytes from the SocketInput go to
// the http::H2Codec; each request stream runs an Exchange (the same request logic as HTTP/1.1)
// with the stream as its ResponseSink; the stream's Body is pulled into an H2BodyQueue and offered
// to the codec as the stream's H2BodySource.
//
// Output: produce() runs only while the SocketOutput holds less than a high-water mark; its
// segments are handed over in order right away (frame bytes copied, payload placeholders filled
// from the stream's queue) and consumed, so the codec never holds output and a stream's close
// event means its bytes are queued (their keeps hold files and blocks until they are sent).
//
// File bytes: in copy mode (the default) a stream's file regions are read ahead into pooled
// blocks (copy_size, 1 MiB) with one READ each, and DATA frames are sent from memory as views:
// a 1 MiB body is one READ and a few gathered SENDMSGs instead of a READ + SEND per 16 KiB frame.
// Body memory (read buffers and data chunks) is bounded per connection: a stream that would go
// over waits for bytes to leave. In splice mode each payload is spliced from the file instead.
//
// Lifetime (net::Connection): like H1Connection — recv, sends and block reads in flight are
// counted, close() cancels them, Worker::forget once all are back. A stream's exchange and body are
// freed late (dispose_later), together with the stream, which ignores answers once it is closed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "xs3/http/h2_codec.hpp"
#include "xs3/proxy/client_connection.hpp"
#include "xs3/proxy/h1_connection.hpp"
#include "xs3/ring/ring.hpp"

namespace xs3::proxy {

class H2Connection final : public ClientConnection, private http::H2BodySource {
  public:
    // `received`: bytes already read (the preface, or what followed an upgrade request);
    // `upgrade`: the HTTP/1.1 request that asked for h2c; `first_output`: written before anything
    // else (the 101 of an upgrade).
    H2Connection(Worker& worker, UniqueFd fd, uint64_t id, std::string received,
                 std::optional<H2Upgrade> upgrade, std::string first_output);
    ~H2Connection() override;

    void start() override;
    void close(const char* why) override;
    void finish_after_response() override;
    bool idle() const noexcept override { return streams_.empty(); }
    DebugState debug_state() const noexcept override {
        const char* st = state_ == State::open        ? (streams_.empty() ? "idle" : "open")
                         : state_ == State::closing   ? "closing"
                         : state_ == State::lingering ? "lingering"
                                                      : "closed";
        return {"h2", st, streams_.size()};
    }

  private:
    class Stream;
    struct BlockRead;
    enum class State { open, closing, lingering, closed };

    // H2BodySource (called inside codec_.produce()).
    http::H2BodyChunk body_available(int32_t stream_id, uint64_t offset,
                                     size_t max) noexcept override;

    void on_input(const char* data, size_t n) noexcept;
    void on_input_end(int res) noexcept;
    void handle_events() noexcept;
    void start_stream(int32_t stream_id, http::Request request);
    void end_stream(int32_t stream_id, uint32_t error_code, bool by_peer);
    void on_response(Stream& s, http::ResponseHead head, std::unique_ptr<Body> body) noexcept;
    // Hands a response's HEADERS (and its body, if any) to the codec; the caller pumps. False
    // when the codec refused them: the stream's body is dropped and the stream marked failed.
    bool submit_head(Stream& s, const http::ResponseHead& head,
                     std::optional<uint64_t> length) noexcept;
    void top_up(Stream& s) noexcept;
    void fail_stream(Stream& s, const char* why, const Status& status) noexcept;
    void read_ahead(Stream& s) noexcept;
    void on_read(BlockRead& r, int res) noexcept;
    void body_ready(Stream& s) noexcept;
    // Whether body_available() would now answer something other than deferred.
    bool body_ready_now(const Stream& s) const noexcept;
    void resume(Stream& s) noexcept;
    void pump() noexcept;
    void schedule_pump() noexcept;
    bool transfer() noexcept;
    void starve(Stream& s) noexcept;
    void retry_starved() noexcept;
    void maybe_finish() noexcept;
    void arm_idle_timer();
    void on_send_timeout() noexcept override;
    // --send-timeout per stream: a stream whose ready bytes the client's flow-control window
    // holds back for that long is reset (CANCEL); checked while answers are under way.
    void arm_stall_check() noexcept;
    void check_stalls() noexcept;
    void on_output_error(int error) noexcept;
    Stream* find_stream(int32_t stream_id) noexcept;
    // A task that runs `fn` only while the connection and the stream are still there.
    std::function<void()> for_stream(int32_t stream_id,
                                     std::function<void(H2Connection&, Stream&)> fn);

    State state_ = State::open;
    bool peer_eof_ = false;
    bool shutting_down_ = false;
    bool pumping_ = false;
    bool pump_again_ = false;
    bool in_produce_ = false;
    bool in_events_ = false;
    const bool frame_from_memory_;  // copy mode: file bytes are read into blocks first
    std::string received_;
    std::optional<H2Upgrade> upgrade_;
    std::string first_output_;
    std::string peer_;  // the client's address, once a stream is logged (--access-log)

    http::H2Codec codec_;
    std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
    std::vector<int32_t> starved_;  // streams waiting for read budget
    // Bytes of body memory (read buffers, data chunks) held by this connection's streams and its
    // output; shared with the buffers, which may outlive the connection (a stream freed late).
    std::shared_ptr<uint64_t> budget_;
    std::vector<std::unique_ptr<BlockRead>> reads_;  // in flight: counted as the owner's ops
    ring::Ring::TimerId idle_timer_;
    ring::Ring::TimerId shutdown_timer_;
    ring::Ring::TimerId stall_timer_;
};

}  // namespace xs3::proxy
