// Test peers for H2Codec: raw frame building/parsing with HPACK, a "transport" that drives the
// codec and fills DATA payload placeholders from strings, and an nghttp2 client session that
// records what it receives.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xs3/http/h2_codec.hpp"

namespace h2test {

using Fields = std::vector<std::pair<std::string, std::string>>;

// Deterministic bytes for bodies.
std::string make_body(size_t n, unsigned seed);
std::string base64url(std::string_view bytes);

// --- raw frames ---------------------------------------------------------------------------------
struct Frame {
    uint8_t type = 0;
    uint8_t flags = 0;
    int32_t stream_id = 0;
    std::string payload;
};
std::string frame(uint8_t type, uint8_t flags, int32_t stream_id, std::string_view payload);
// The 24-byte magic and an empty SETTINGS frame.
std::string client_preface();
std::string rst_stream_frame(int32_t stream_id, uint32_t code);
// Splits `wire` into frames; every byte must belong to a whole frame.
std::vector<Frame> parse_frames(std::string_view wire);
uint32_t be32(std::string_view p, size_t at);
// Frames of `type` in `frames`.
std::vector<Frame> of_type(const std::vector<Frame>& frames, uint8_t type);

class HpackEncoder {
  public:
    HpackEncoder();
    ~HpackEncoder();
    std::string encode(const Fields& fields);

  private:
    nghttp2_hd_deflater* deflater_ = nullptr;
};

class HpackDecoder {
  public:
    HpackDecoder();
    ~HpackDecoder();
    Fields decode(std::string_view block);

  private:
    nghttp2_hd_inflater* inflater_ = nullptr;
};

// GET request fields with :authority "example.com".
Fields get_fields(std::string_view path, std::string_view method = "GET");

// --- the codec, driven as a transport would ---------------------------------------------------
class Server : public xs3::http::H2BodySource {
  public:
    struct Body {
        std::string data;
        size_t available = std::string::npos;  // bytes "on disk"; npos: all
        size_t fail_at = std::string::npos;    // offset at which the source answers error
        size_t eof_at = std::string::npos;     // offset at which the source answers eof
    };

    explicit Server(xs3::http::H2Options options = {});

    xs3::http::H2Codec codec;
    std::map<int32_t, Body> bodies;
    std::vector<xs3::http::H2Event> events;  // every event taken so far
    // Called for each request event as it is taken.
    std::function<void(Server&, const xs3::http::H2Event&)> on_request;
    size_t budget = 1 << 20;
    // Bytes written per step before produce() runs again (a socket taking partial writes); 0: all.
    size_t write_step = 0;
    size_t max_queued = 0;  // largest produce() result seen
    int source_calls = 0;

    xs3::Status feed(std::string_view bytes);
    void take_events();
    // produce() / fill / consume() until nothing is left; returns what went on the wire.
    std::string drain();
    // Answers 200 with `data` as the body (Content-Length set).
    void respond(int32_t stream_id, std::string data, int status = 200);

    size_t count(xs3::http::H2Event::Kind kind) const;
    const xs3::http::H2Event* closed_event(int32_t stream_id) const;

    xs3::http::H2BodyChunk body_available(int32_t stream_id, uint64_t offset,
                                          size_t max) noexcept override;
};

// --- an nghttp2 client ------------------------------------------------------------------------
struct ClientOptions {
    std::vector<nghttp2_settings_entry> settings;
    bool auto_window_update = true;
    int32_t connection_window_increase = 0;
    // Upgrade instead of a preface-first start: the SETTINGS payload sent in HTTP2-Settings.
    bool upgrade = false;
    std::string upgrade_payload;
    bool upgrade_head = false;
};

class Client {
  public:
    using Options = ClientOptions;
    struct StreamResult {
        int status = 0;
        Fields headers;
        std::string body;
        int data_frames = 0;
        bool end_stream = false;
        bool closed = false;
        uint32_t close_code = 0;
        bool rst = false;
        uint32_t rst_code = 0;
        const std::string* header(std::string_view name) const;
    };
    struct Received {
        uint8_t type;
        uint8_t flags;
        int32_t stream_id;
        size_t length;
    };

    explicit Client(Options options = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    int32_t request(const Fields& fields, bool end_stream = true);
    std::string output();
    void feed(std::string_view bytes);

    nghttp2_session* session = nullptr;
    std::map<int32_t, StreamResult> streams;
    std::vector<Received> frames;
    std::vector<std::pair<int32_t, uint32_t>> goaways;  // last stream id, error code
};

// Client and server talk until neither has anything more to say.
void exchange(Client& client, Server& server, int max_rounds = 1000);

}  // namespace h2test
