// H2Codec: the server side of one cleartext HTTP/2 connection on top of nghttp2, with no I/O.
// Bytes from the client go in through feed(); requests come out as http::Request events; responses
// go in with submit_response(); what to write comes out of produce() as H2Output segments, where
// DATA payloads are placeholders the transport fills from the body's file (splice or read), so
// body bytes never pass through nghttp2 or this class.
//
//   codec.feed(buf, n);                                  // recv completed
//   H2Event ev;
//   while (codec.next_event(ev)) handle(ev);             // requests, closes, connection end
//   codec.produce(budget);                               // then write the segments in order:
//   for (i...) seg = codec.output().segment(i)           //   bytes: send them
//                                                        //   payload: splice/read seg.length
//                                                        //   bytes of seg.stream_id's body
//                                                        //   from seg.offset
//   codec.consume(written);                              // per completed write
//   if (codec.wants_close()) close the socket;
//
// Prior knowledge (the client starts with the connection preface) needs nothing more. For
// `Upgrade: h2c` the HTTP/1.1 side answers 101 itself, then calls upgrade() with the decoded
// HTTP2-Settings (decode_http2_settings) and the request, which becomes stream 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "xs3/base/status.hpp"
#include "xs3/http/h2_fields.hpp"
#include "xs3/http/h2_output.hpp"
#include "xs3/http/h2_reset_guard.hpp"
#include "xs3/http/request.hpp"
#include "xs3/http/response.hpp"

struct nghttp2_session;

namespace xs3::http {

// HTTP/2 error codes (RFC 9113 7) the transport may use or see, without including nghttp2.h.
namespace h2_error {
inline constexpr uint32_t no_error = 0x0;
inline constexpr uint32_t protocol_error = 0x1;
inline constexpr uint32_t internal_error = 0x2;
inline constexpr uint32_t flow_control_error = 0x3;
inline constexpr uint32_t refused_stream = 0x7;
inline constexpr uint32_t cancel = 0x8;
inline constexpr uint32_t enhance_your_calm = 0xb;
}  // namespace h2_error

struct H2Options {
    // SETTINGS_MAX_CONCURRENT_STREAMS; streams beyond it are refused (RST_STREAM REFUSED_STREAM).
    uint32_t max_concurrent_streams = 100;
    // SETTINGS_MAX_HEADER_LIST_SIZE, and enforced: a request whose header list (RFC 9113 counting)
    // is larger is answered 431 without reaching the transport.
    uint32_t max_header_list_size = 16 * 1024;
    // SETTINGS_INITIAL_WINDOW_SIZE: our receive window per stream. Request bodies are read and
    // discarded (nghttp2 sends WINDOW_UPDATE as they arrive), so the RFC default is plenty.
    uint32_t initial_window_size = 65535;
    // Largest DATA payload per frame (never above what the client's SETTINGS_MAX_FRAME_SIZE
    // allows). Bigger frames mean fewer 9-byte headers between payload splices.
    size_t max_data_frame_payload = 16384;
    // CONTINUATION frames allowed after one HEADERS; one more is a CONTINUATION flood (GOAWAY
    // ENHANCE_YOUR_CALM). A header block of more than 2 * max_header_list_size + 256 compressed
    // bytes is treated the same way: HPACK never makes a legal block that much larger.
    uint32_t max_continuations = 8;
    // Rapid reset: more than max_resets_per_window of the last reset_window streams reset by the
    // client before their response was complete -> GOAWAY ENHANCE_YOUR_CALM. Three in four is
    // still a client (hedged requests cancel half of theirs); an attack resets them all.
    uint32_t reset_window = 128;
    uint32_t max_resets_per_window = 96;
    // Request body bytes read (and discarded) per stream before it is reset ENHANCE_YOUR_CALM.
    uint64_t max_request_body_bytes = 1024 * 1024;
};

// What a body source can say about a stream's body at `offset`.
struct H2BodyChunk {
    enum class State { ready, deferred, eof, error };
    State state = State::deferred;
    size_t length = 0;  // ready: bytes that can be written now, 1..max
    bool last = false;  // ready: they end the body

    static H2BodyChunk ready(size_t n, bool last = false) { return {State::ready, n, last}; }
    static H2BodyChunk deferred() { return {State::deferred, 0, false}; }
    static H2BodyChunk eof() { return {State::eof, 0, false}; }
    static H2BodyChunk error() { return {State::error, 0, false}; }
};

// Implemented by the transport. Called from inside H2Codec::produce(), so it must not call any
// H2Codec method; when it answers deferred, the transport calls resume_data() later.
class H2BodySource {
  public:
    // How many bytes of stream_id's body, starting at `offset`, can be written now (at most max).
    // ready(n): the codec emits a DATA frame whose payload placeholder asks for exactly those n
    //   bytes; the transport must then be able to produce them (a failure after that point can only
    //   be answered by closing the connection: the frame header is already on its way).
    // deferred: nothing now; the stream is not scheduled until resume_data(stream_id).
    // eof: the body has ended (only needed when no body_length was given).
    // error: the body cannot be completed; the stream is reset INTERNAL_ERROR.
    virtual H2BodyChunk body_available(int32_t stream_id, uint64_t offset, size_t max) noexcept = 0;

  protected:
    ~H2BodySource() = default;
};

struct H2Event {
    enum class Kind {
        // A request's header block is complete. end_stream: the client sent END_STREAM with it
        // (no body follows; if one does, it is read and discarded).
        request,
        // A stream the transport was given has closed: error_code no_error means the response
        // was written completely; otherwise the RST_STREAM code, sent by the client (by_peer) or
        // by us. Delivered only after every segment queued for the stream has been consumed, so
        // the stream's file may be released then.
        stream_closed,
        // The connection is finished (GOAWAY sent or received, no streams left, output written):
        // close it. error_code: the GOAWAY's code; by_peer: the client sent it; message: why.
        // Streams still open then (a terminating GOAWAY cuts them) get no stream_closed event.
        close_connection,
        // The connection cannot continue (not an HTTP/2 preface, flood detected by nghttp2, ...):
        // close it now without writing more; open streams are gone too. message says why.
        protocol_error,
    };
    Kind kind = Kind::request;
    int32_t stream_id = 0;
    Request request;
    bool end_stream = false;
    uint32_t error_code = 0;
    bool by_peer = false;
    std::string message;
};

struct H2Stats {
    uint64_t requests = 0;            // delivered to the transport
    uint64_t rejected_malformed = 0;  // RST_STREAM PROTOCOL_ERROR by our own checks
    uint64_t rejected_oversized = 0;  // answered 431
    uint64_t peer_resets = 0;         // streams the client reset before their response was complete
    uint64_t local_resets = 0;        // streams we reset (reset_stream, body errors, body limit)
    uint64_t dropped_fields = 0;      // response fields left out as invalid (h2_response_fields)
};

class H2Codec {
  public:
    explicit H2Codec(H2Options options = {});
    ~H2Codec();
    H2Codec(const H2Codec&) = delete;
    H2Codec& operator=(const H2Codec&) = delete;

    // HTTP/1.1 Upgrade: `settings_payload` is decode_http2_settings(value); `request` is the
    // HTTP/1.1 request (its body already read), delivered as stream 1 with end_stream set.
    // Must come before the first feed(). Fails on a bad payload or when called twice.
    Status upgrade(std::string_view settings_payload, Request request);

    // Processes client bytes. Fails (and stays failed) on a fatal error; a protocol error that
    // nghttp2 answers with GOAWAY is not fatal here: the GOAWAY is produced, then
    // close_connection follows.
    Status feed(const char* data, size_t len) noexcept;

    // Takes the next event; false when there is none.
    bool next_event(H2Event& out);

    // Answers a stream delivered by a request event. body == nullptr: no body. With a body,
    // body_length (when known) is enforced: a body that ends short resets the stream, one that
    // offers more is cut at the length. HEAD requests and 204/304 answers never carry DATA,
    // whatever `body` says; END_STREAM then goes with the headers. `body` must stay valid until
    // the stream_closed event or reset_stream().
    Status submit_response(int32_t stream_id, const ResponseHead& head, H2BodySource* body,
                           std::optional<uint64_t> body_length = std::nullopt);
    // After body_available() answered deferred: the body has more bytes (or ended, or failed).
    // Returns false when the stream is not waiting for its body (harmless).
    bool resume_data(int32_t stream_id);
    // Resets one stream (other streams carry on). The body source is not called again.
    Status reset_stream(int32_t stream_id, uint32_t error_code = h2_error::internal_error);
    // How many DATA bytes the client lets us send on the stream now: the smaller of its stream
    // window and the connection window (0 or less: flow control holds the stream; 0 for a
    // stream nghttp2 does not know).
    int64_t send_window(int32_t stream_id) const noexcept;

    // Graceful shutdown: GOAWAY(2^31-1) and a PING now; the final GOAWAY (last processed
    // stream) when the PING comes back, one round trip later. Streams in flight finish.
    void begin_shutdown();
    // The final GOAWAY now (the transport's shutdown deadline, or an idle connection).
    void finish_shutdown();
    // GOAWAY with error_code; nothing more is read and the connection closes once it is written.
    void terminate(uint32_t error_code, std::string_view reason);

    // Pulls frames from nghttp2 until about max_bytes are queued (at most one frame more) or
    // nothing is left to send. Returns output().queued().
    size_t produce(size_t max_bytes);
    const H2Output& output() const noexcept { return output_; }
    // The first n queued bytes (payload included) have been written.
    void consume(size_t n) noexcept;
    // True when produce() would find something to send (frames or ready DATA).
    bool want_write() const noexcept;

    // True when the socket should be closed: after a fatal error (at once), or when nghttp2 is
    // done with the session and every queued byte was consumed.
    bool wants_close() const noexcept;
    bool failed() const noexcept { return !status_.ok(); }
    const Status& status() const noexcept { return status_; }
    // Streams delivered to the transport whose stream_closed event has not been taken yet; 0 with
    // empty output means the connection is idle.
    size_t open_streams() const noexcept { return delivered_open_; }
    const H2Stats& stats() const noexcept { return stats_; }

  private:
    friend struct H2Callbacks;

    struct Stream {
        explicit Stream(size_t max_list) : builder(max_list) {}
        H2RequestBuilder builder;
        bool delivered = false;      // a request event was queued
        bool head = false;           // HEAD: the response has no body
        bool peer_ended = false;     // END_STREAM received
        bool responded = false;      // submit_response called
        bool response_done = false;  // our END_STREAM was queued
        bool reset_by_peer = false;
        bool reset_local = false;
        uint64_t body_received = 0;
        H2BodySource* source = nullptr;
        std::optional<uint64_t> body_length;
        uint64_t body_offset = 0;  // payload bytes queued so far
    };
    struct PendingClose {
        uint64_t release_at;  // output position after which the event is visible
        H2Event event;
    };

    Stream* find(int32_t stream_id) noexcept;
    void fail(Status s) noexcept;
    void set_close_reason(uint32_t code, bool by_peer, const char* reason);
    void calm_down(const char* reason);
    // For a HEADERS frame: false (and the connection terminated with PROTOCOL_ERROR) when its
    // stream id is not greater than every one before, unless the stream is open or was closed
    // before the client ended its side.
    bool check_stream_id(int32_t stream_id);
    void remember_half_open(int32_t stream_id);
    void reset_locally(int32_t stream_id, Stream& st, uint32_t error_code);
    int body_failed(Stream& st) noexcept;
    void finish_request(int32_t stream_id, Stream& st);

    H2Options options_;
    nghttp2_session* session_ = nullptr;
    Status status_;
    H2Output output_;
    H2ResetGuard reset_guard_;
    H2Stats stats_;
    std::unordered_map<int32_t, Stream> streams_;
    std::deque<H2Event> events_;
    std::deque<PendingClose> closes_;
    size_t delivered_open_ = 0;
    size_t budget_ = 0;   // of the produce() in progress
    bool dying_ = false;  // in the destructor: callbacks do nothing
    bool fed_ = false;
    bool terminating_ = false;  // a terminating GOAWAY is queued; nothing more is delivered
    bool shutdown_ping_sent_ = false;
    bool final_goaway_ = false;
    bool close_event_taken_ = false;
    // What the close_connection event reports: the first GOAWAY sent or received.
    bool close_reason_set_ = false;
    uint32_t close_code_ = 0;
    bool close_by_peer_ = false;
    std::string close_reason_;
    std::string last_error_;  // nghttp2's or our last complaint, for close_reason_
    // Stream ids: the highest a HEADERS frame used, and the last streams that closed while the
    // client's side was still open (it may send trailers for them until it hears).
    static constexpr size_t kHalfOpenRemembered = 256;
    int32_t highest_stream_id_ = 0;
    std::deque<int32_t> half_open_;
    // The header block being received.
    uint32_t block_continuations_ = 0;
    uint64_t block_bytes_ = 0;
};

}  // namespace xs3::http
