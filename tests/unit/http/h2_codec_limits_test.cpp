// H2Codec under limits and abuse: concurrent streams, header list size, malformed requests,
// request bodies, rapid reset and CONTINUATION floods.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "h2_codec_test_util.hpp"
#include "h2_test_peer.hpp"
#include "xs3/http/h2_codec.hpp"
#include "xs3/http/h2_settings.hpp"
#include "xs3_build_config.h"

using namespace xs3::http;
using namespace h2test;
using Kind = H2Event::Kind;

namespace {

// HEADERS + RST_STREAM(CANCEL) for `count` streams from the first+1-th client stream on.
std::string reset_flood(HpackEncoder& enc, int first, int count) {
    std::string wire;
    for (int i = first; i < first + count; ++i) {
        int32_t id = 1 + 2 * i;
        wire += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id,
                      enc.encode(get_fields("/flood")));
        wire += rst_stream_frame(id, NGHTTP2_CANCEL);
    }
    return wire;
}

// HEADERS (no END_HEADERS) and `frames` CONTINUATION frames that never end the block.
std::string continuation_flood(HpackEncoder& enc, int32_t stream_id, int frames) {
    std::string wire = frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, stream_id,
                             enc.encode({{":method", "GET"}}));
    for (int i = 0; i < frames; ++i)
        wire += frame(NGHTTP2_CONTINUATION, 0, stream_id, enc.encode({{"x-a", "b"}}));
    return wire;
}

}  // namespace

TEST_CASE("h2: streams beyond max_concurrent_streams are refused") {
    H2Options o;
    o.max_concurrent_streams = 2;
    Server s(o);
    Client c;
    int32_t a = c.request(get_fields("/a"));
    int32_t b = c.request(get_fields("/b"));
    int32_t third = c.request(get_fields("/c"));
    // All three leave before the client has seen our SETTINGS.
    exchange(c, s);
    CHECK(s.count(Kind::request) == 2);
    CHECK(request_event(s, a) != nullptr);
    CHECK(request_event(s, b) != nullptr);
    CHECK(c.streams[third].rst);
    CHECK(c.streams[third].rst_code == NGHTTP2_REFUSED_STREAM);

    s.respond(a, "done");
    exchange(c, s);
    CHECK(c.streams[a].body == "done");
    int32_t next = c.request(get_fields("/d"));
    exchange(c, s);
    CHECK(request_event(s, next) != nullptr);
}

TEST_CASE("h2: a header list above the limit is answered 431; the connection goes on") {
    H2Options o;
    o.max_header_list_size = 1024;
    Server s(o);
    answer_all(s, [](int32_t) { return std::string("ok"); });
    Client c;
    Fields big = get_fields("/big");
    big.emplace_back("x-big", std::string(2000, 'b'));
    int32_t a = c.request(big);
    exchange(c, s);
    CHECK(s.count(Kind::request) == 0);
    CHECK(c.streams[a].status == 431);
    CHECK(c.streams[a].end_stream);
    CHECK(c.streams[a].data_frames == 0);
    CHECK(s.codec.stats().rejected_oversized == 1);

    int32_t b = c.request(get_fields("/small"));
    exchange(c, s);
    REQUIRE(request_event(s, b) != nullptr);
    CHECK(request_event(s, b)->request.path == "/small");
    CHECK(c.streams[b].body == "ok");
}

TEST_CASE("h2: malformed requests are reset PROTOCOL_ERROR without reaching the transport") {
    Server s;
    HpackEncoder enc;
    HpackDecoder dec;
    std::string wire = client_preface();
    // No :path.
    wire += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1,
                  enc.encode({{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}}));
    // Host differs from :authority (our own check).
    wire += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 3,
                  enc.encode({{":method", "GET"},
                              {":scheme", "http"},
                              {":path", "/x"},
                              {":authority", "a.example"},
                              {"host", "b.example"}}));
    // Fine.
    wire += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 5,
                  enc.encode(get_fields("/ok")));
    REQUIRE(s.feed(wire).ok());
    auto frames = parse_frames(s.drain());
    CHECK(rst_code(frames, 1) == NGHTTP2_PROTOCOL_ERROR);
    CHECK(rst_code(frames, 3) == NGHTTP2_PROTOCOL_ERROR);
    CHECK(s.codec.stats().rejected_malformed == 1);  // stream 1 is nghttp2's own catch
    REQUIRE(s.count(Kind::request) == 1);
    CHECK(s.events[0].stream_id == 5);
    CHECK(of_type(frames, NGHTTP2_GOAWAY).empty());
}

TEST_CASE("h2: request bodies are read and discarded; an early answer ends the upload") {
    H2Options o;
    o.max_request_body_bytes = 4096;
    Server s(o);
    HpackEncoder enc;
    HpackDecoder dec;
    std::string wire = client_preface() +
                       frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1,
                             enc.encode(get_fields("/upload", "POST"))) +
                       frame(NGHTTP2_DATA, 0, 1, std::string(1000, 'd'));
    REQUIRE(s.feed(wire).ok());
    REQUIRE(s.count(Kind::request) == 1);
    CHECK_FALSE(s.events[0].end_stream);
    CHECK(s.events[0].request.method == Method::other);
    CHECK(s.events[0].request.method_name == "POST");
    ResponseHead head;
    head.status = 405;
    head.headers.add("Allow", "GET, HEAD");
    head.headers.add("Connection", "close");
    REQUIRE(s.codec.submit_response(1, head, nullptr).ok());
    auto frames = parse_frames(s.drain());
    Fields resp = response_fields(dec, frames, 1);
    CHECK(field(resp, ":status") == "405");
    CHECK(field(resp, "allow") == "GET, HEAD");
    CHECK(field(resp, "connection") == "<none>");
    CHECK(rst_code(frames, 1) == NGHTTP2_NO_ERROR);
    REQUIRE(s.closed_event(1) != nullptr);
    CHECK(s.closed_event(1)->error_code == h2_error::no_error);

    // A body beyond max_request_body_bytes on an unanswered stream.
    std::string more = frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 3,
                             enc.encode(get_fields("/upload", "POST")));
    for (int i = 0; i < 5; ++i)
        more += frame(NGHTTP2_DATA, 0, 3, std::string(1000, 'd'));
    REQUIRE(s.feed(more).ok());
    frames = parse_frames(s.drain());
    CHECK(rst_code(frames, 3) == NGHTTP2_ENHANCE_YOUR_CALM);
    REQUIRE(s.closed_event(3) != nullptr);
    CHECK(s.closed_event(3)->error_code == h2_error::enhance_your_calm);
    CHECK_FALSE(s.closed_event(3)->by_peer);
}

TEST_CASE("h2: request bodies are acknowledged with WINDOW_UPDATE as they are discarded") {
    Server s;
    HpackEncoder enc;
    std::string wire = client_preface() + frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1,
                                                enc.encode(get_fields("/upload", "PUT")));
    for (int i = 0; i < 3; ++i)
        wire +=
            frame(NGHTTP2_DATA, i == 2 ? NGHTTP2_FLAG_END_STREAM : 0, 1, std::string(16000, 'u'));
    REQUIRE(s.feed(wire).ok());
    auto updates = of_type(parse_frames(s.drain()), NGHTTP2_WINDOW_UPDATE);
    uint64_t connection = 0;
    for (const Frame& f : updates) {
        if (f.stream_id == 0) connection += be32(f.payload, 0);
    }
    // 48000 bytes arrived in a 65535-byte connection window: the client gets room back.
    CHECK(connection >= 32768);
    REQUIRE(s.count(Kind::request) == 1);
    CHECK_FALSE(s.events[0].end_stream);
}

TEST_CASE("h2: rapid reset flood -> GOAWAY ENHANCE_YOUR_CALM, and the codec stays bounded") {
    Server s;
    HpackEncoder enc;
    REQUIRE(s.feed(client_preface() + reset_flood(enc, 0, 1000)).ok());
    const size_t requests = s.count(Kind::request);
    CHECK(requests == 97);  // the 97th reset in the window trips the guard
    CHECK(s.codec.stats().peer_resets == 97);
    std::string out = s.drain();
    CHECK(out.size() < 1024);
    CHECK(only_goaway_code(out) == NGHTTP2_ENHANCE_YOUR_CALM);
    CHECK(s.codec.wants_close());
    REQUIRE(s.events.back().kind == Kind::close_connection);
    CHECK(s.events.back().error_code == h2_error::enhance_your_calm);
    CHECK(s.events.back().message.find("reset") != std::string::npos);

    // More of the same changes nothing.
    const size_t events = s.events.size();
    CHECK(s.feed(reset_flood(enc, 1000, 100)).ok());
    CHECK(s.drain().empty());
    CHECK(s.events.size() == events);
    CHECK(s.codec.open_streams() == 0);
}

TEST_CASE("h2: a client that cancels half its streams never trips the reset guard") {
    Server s;
    HpackEncoder enc;
    s.on_request = [](Server& srv, const H2Event& ev) {
        // Streams the client already reset are refused with a clear status; others answered.
        ResponseHead head;
        head.status = 200;
        xs3::Status st = srv.codec.submit_response(ev.stream_id, head, nullptr);
        CHECK((st.ok() || st.code() == xs3::Code::cancelled || st.code() == xs3::Code::not_found));
    };
    REQUIRE(s.feed(client_preface()).ok());
    std::string out;
    int resets = 0;
    for (int batch = 0; batch < 40; ++batch) {
        std::string wire;
        for (int k = 0; k < 10; ++k) {
            int32_t id = 1 + 2 * (batch * 10 + k);
            wire += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id,
                          enc.encode(get_fields("/obj")));
            if (id % 4 == 1) {  // every other stream
                wire += rst_stream_frame(id, NGHTTP2_CANCEL);
                ++resets;
            }
        }
        REQUIRE(s.feed(wire).ok());
        out += s.drain();
    }
    auto frames = parse_frames(out);
    CHECK(of_type(frames, NGHTTP2_GOAWAY).empty());
    CHECK(s.codec.stats().peer_resets == uint64_t(resets));
    CHECK(of_type(frames, NGHTTP2_HEADERS).size() == size_t(400 - resets));
    CHECK(s.count(Kind::request) == 400);
    CHECK(s.codec.open_streams() == 0);
    CHECK_FALSE(s.codec.wants_close());
}

TEST_CASE("h2: CONTINUATION floods end the connection with ENHANCE_YOUR_CALM") {
    SUBCASE("too many frames") {
        Server s;
        HpackEncoder enc;
        REQUIRE(s.feed(client_preface() + continuation_flood(enc, 1, 100)).ok());
        CHECK(only_goaway_code(s.drain()) == NGHTTP2_ENHANCE_YOUR_CALM);
        CHECK(s.count(Kind::request) == 0);
        CHECK(s.codec.wants_close());
        REQUIRE(s.events.back().kind == Kind::close_connection);
        CHECK(s.events.back().message.find("CONTINUATION") != std::string::npos);
        // The rest of the block is ignored, however long.
        CHECK(s.feed(frame(NGHTTP2_CONTINUATION, NGHTTP2_FLAG_END_HEADERS, 1,
                           enc.encode({{"x", "y"}})))
                  .ok());
        CHECK(s.drain().empty());
        CHECK(s.count(Kind::request) == 0);
    }
    SUBCASE("eight are a request, even byte by byte") {
        Server s;
        HpackEncoder enc;
        std::string wire = client_preface() + frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1,
                                                    enc.encode(get_fields("/eight")));
        for (int i = 0; i < 8; ++i) {
            wire += frame(NGHTTP2_CONTINUATION, i == 7 ? NGHTTP2_FLAG_END_HEADERS : 0, 1,
                          enc.encode({{"x-" + std::to_string(i), "v"}}));
        }
        feed_bytewise(s, wire);
        REQUIRE(s.count(Kind::request) == 1);
        CHECK(s.events[0].request.path == "/eight");
        CHECK(*s.events[0].request.headers.get("x-7") == "v");
        CHECK(of_type(parse_frames(s.drain()), NGHTTP2_GOAWAY).empty());
    }
    SUBCASE("too many frames, fed byte by byte") {
        Server s;
        HpackEncoder enc;
        feed_bytewise(s, client_preface() + continuation_flood(enc, 1, 20));
        CHECK(only_goaway_code(s.drain()) == NGHTTP2_ENHANCE_YOUR_CALM);
        CHECK(s.count(Kind::request) == 0);
    }
    SUBCASE("a block far above the header list limit") {
        H2Options o;
        o.max_header_list_size = 4096;
        Server s(o);
        // :method GET, then a literal field "x-a" whose 60000-byte value arrives in
        // CONTINUATION frames: each frame decodes fine, the block just keeps growing.
        std::string start = "\x82";
        start += std::string("\x00\x03x-a\x7f\xe1\xd3\x03", 9);
        std::string wire =
            client_preface() + frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1, start);
        for (int i = 0; i < 3; ++i)
            wire += frame(NGHTTP2_CONTINUATION, 0, 1, std::string(4000, 'a'));
        REQUIRE(s.feed(wire).ok());
        CHECK(only_goaway_code(s.drain()) == NGHTTP2_ENHANCE_YOUR_CALM);
        CHECK(s.count(Kind::request) == 0);
    }
}

#if XS3_HAVE_NGHTTP2_MAX_CONTINUATIONS
TEST_CASE("h2: this nghttp2 has its own CONTINUATION limit (CVE-2024-28182)") {
    // A bare nghttp2 server session, none of our limits: the library's backstop alone.
    nghttp2_session_callbacks* cbs;
    REQUIRE(nghttp2_session_callbacks_new(&cbs) == 0);
    nghttp2_session* session;
    REQUIRE(nghttp2_session_server_new(&session, cbs, nullptr) == 0);
    nghttp2_session_callbacks_del(cbs);
    HpackEncoder enc;
    std::string wire =
        client_preface() + frame(NGHTTP2_HEADERS, 0, 1, enc.encode({{":method", "GET"}}));
    for (int i = 0; i < 20; ++i)
        wire += frame(NGHTTP2_CONTINUATION, 0, 1, enc.encode({{"x-a", "b"}}));
    ssize_t rv = nghttp2_session_mem_recv(session, (const uint8_t*)wire.data(), wire.size());
    CHECK(rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS);
    nghttp2_session_del(session);
}
#endif

TEST_CASE("h2: a CONTINUATION flood on a refused stream ends the connection too") {
    // nghttp2 ignores a refused stream's header block without calling on_begin_frame, so only
    // its own limit sees these frames.
    H2Options o;
    o.max_concurrent_streams = 1;
    Server s(o);
    HpackEncoder enc;
    std::string wire =
        client_preface() +
        frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, enc.encode(get_fields("/a"))) +
        continuation_flood(enc, 3, 200);
    xs3::Status st = s.feed(wire);
#if XS3_HAVE_NGHTTP2_MAX_CONTINUATIONS
    CHECK_FALSE(st.ok());
    CHECK(st.message().find("CONTINUATION") != std::string::npos);
    CHECK(s.codec.wants_close());
    CHECK(s.count(Kind::protocol_error) == 1);
#else
    // Without nghttp2's limit (older than 1.61 and not patched) such a block is not bounded.
    WARN_MESSAGE(st.ok(), "this nghttp2 has no CONTINUATION limit of its own");
#endif
    CHECK(s.count(Kind::request) == 1);
}
