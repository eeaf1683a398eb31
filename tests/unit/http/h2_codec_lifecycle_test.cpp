// H2Codec's connection lifecycle: Upgrade h2c, graceful shutdown, GOAWAY from either side,
// terminate(), and stream ids that are connection errors.
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

TEST_CASE("h2: Upgrade h2c: stream 1 is the HTTP/1.1 request, answered on stream 1") {
    const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
                                         {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    std::string payload(64, '\0');
    ssize_t n = nghttp2_pack_settings_payload((uint8_t*)payload.data(), payload.size(), iv, 2);
    REQUIRE(n == 12);
    payload.resize(size_t(n));
    const std::string value = base64url(payload);
    auto decoded = decode_http2_settings(value);
    REQUIRE(decoded.ok());
    CHECK(*decoded == payload);

    auto h1_request = [&](Method m, const char* name) {
        Request r;
        r.method = m;
        r.method_name = name;
        r.target = "/bucket/key";
        r.path = "/bucket/key";
        r.headers.add("Host", "example.com");
        r.headers.add("Connection", "Upgrade, HTTP2-Settings");
        r.headers.add("Upgrade", "h2c");
        r.headers.add("HTTP2-Settings", value);
        r.headers.add("Accept", "*/*");
        r.upgrade_h2c = true;
        return r;
    };

    SUBCASE("GET") {
        Server s;
        REQUIRE(s.codec.upgrade(*decoded, h1_request(Method::get, "GET")).ok());
        REQUIRE(s.count(Kind::request) == 0);  // taken on the next take_events
        s.take_events();
        REQUIRE(s.count(Kind::request) == 1);
        const H2Event& ev = s.events[0];
        CHECK(ev.stream_id == 1);
        CHECK(ev.end_stream);
        CHECK(ev.request.version_major == 2);
        CHECK_FALSE(ev.request.upgrade_h2c);
        CHECK(ev.request.path == "/bucket/key");
        CHECK(ev.request.headers.size() == 2);
        CHECK(*ev.request.headers.get("host") == "example.com");
        CHECK(*ev.request.headers.get("accept") == "*/*");
        CHECK_FALSE(ev.request.headers.has("upgrade"));
        CHECK_FALSE(ev.request.headers.has("http2-settings"));

        // 100000 bytes > 65535: it can only complete if the HTTP2-Settings window was applied.
        s.respond(1, make_body(100000, 5));
        Client::Options co;
        co.upgrade = true;
        co.upgrade_payload = payload;
        co.auto_window_update = false;
        co.connection_window_increase = 1 << 20;
        Client c(co);
        exchange(c, s);
        CHECK(c.streams[1].status == 200);
        CHECK(c.streams[1].body == make_body(100000, 5));
        CHECK(c.streams[1].end_stream);
        CHECK(s.closed_event(1)->error_code == h2_error::no_error);
        CHECK_FALSE(s.codec.upgrade(*decoded, h1_request(Method::get, "GET")).ok());
    }
    SUBCASE("HEAD") {
        Server s;
        REQUIRE(s.codec.upgrade(*decoded, h1_request(Method::head, "HEAD")).ok());
        s.take_events();
        s.respond(1, make_body(1234, 5));
        Client::Options co;
        co.upgrade = true;
        co.upgrade_payload = payload;
        co.upgrade_head = true;
        Client c(co);
        exchange(c, s);
        CHECK(c.streams[1].status == 200);
        CHECK(*c.streams[1].header("content-length") == "1234");
        CHECK(c.streams[1].data_frames == 0);
        CHECK(c.streams[1].end_stream);
        CHECK(c.streams[1].close_code == NGHTTP2_NO_ERROR);
        CHECK(s.source_calls == 0);
    }
    SUBCASE("refused") {
        Server s;
        CHECK_FALSE(s.codec.upgrade("12345", h1_request(Method::get, "GET")).ok());
        Server late;
        REQUIRE(late.feed(client_preface()).ok());
        CHECK_FALSE(late.codec.upgrade(*decoded, h1_request(Method::get, "GET")).ok());
    }
}

TEST_CASE("h2: graceful shutdown: notice, PING round trip, final GOAWAY, streams finish") {
    Server s;
    Client c;
    int32_t a = c.request(get_fields("/a"));
    int32_t b = c.request(get_fields("/b"));
    exchange(c, s);
    s.respond(a, "first");
    s.bodies[b].available = 0;
    s.respond(b, "second");
    exchange(c, s);
    CHECK(c.streams[a].body == "first");

    s.codec.begin_shutdown();
    // One drain: the notice and the PING, not yet the final GOAWAY.
    std::string out = s.drain();
    auto goaways = of_type(parse_frames(out), NGHTTP2_GOAWAY);
    REQUIRE(goaways.size() == 1);
    CHECK((be32(goaways[0].payload, 0) & 0x7fffffffu) == 0x7fffffffu);
    CHECK(be32(goaways[0].payload, 4) == NGHTTP2_NO_ERROR);
    CHECK(of_type(parse_frames(out), NGHTTP2_PING).size() == 1);
    c.feed(out);
    exchange(c, s);  // the client acks the PING; the final GOAWAY names stream b
    REQUIRE(c.goaways.size() == 2);
    CHECK(c.goaways[1].first == b);
    CHECK(c.goaways[1].second == NGHTTP2_NO_ERROR);
    CHECK_FALSE(s.codec.wants_close());  // b is still open

    s.bodies[b].available = std::string::npos;
    CHECK(s.codec.resume_data(b));
    exchange(c, s);
    CHECK(c.streams[b].body == "second");
    CHECK(s.codec.wants_close());
    REQUIRE(s.events.back().kind == Kind::close_connection);
    CHECK(s.events.back().error_code == h2_error::no_error);
    CHECK_FALSE(s.events.back().by_peer);
    CHECK(s.codec.open_streams() == 0);
}

TEST_CASE("h2: finish_shutdown at once; streams opened after the final GOAWAY are ignored") {
    Server s;
    HpackEncoder enc;
    std::string wire = client_preface() + frame(NGHTTP2_HEADERS,
                                                NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM,
                                                1, enc.encode(get_fields("/a")));
    REQUIRE(s.feed(wire).ok());
    s.codec.begin_shutdown();
    s.codec.finish_shutdown();
    auto goaways = of_type(parse_frames(s.drain()), NGHTTP2_GOAWAY);
    REQUIRE(goaways.size() == 2);
    CHECK(be32(goaways[1].payload, 0) == 1);
    REQUIRE(s.feed(frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 3,
                         enc.encode(get_fields("/late"))))
                .ok());
    CHECK(s.count(Kind::request) == 1);
    s.respond(1, "a");
    s.drain();
    CHECK(s.codec.wants_close());
    CHECK(s.events.back().kind == Kind::close_connection);
}

TEST_CASE("h2: a client GOAWAY ends the connection once its streams are done") {
    Server s;
    Client c;
    int32_t a = c.request(get_fields("/a"));
    exchange(c, s);
    REQUIRE(nghttp2_submit_goaway(c.session, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0) ==
            0);
    exchange(c, s);
    CHECK_FALSE(s.codec.wants_close());
    s.respond(a, "bye");
    exchange(c, s);
    CHECK(c.streams[a].body == "bye");
    CHECK(s.codec.wants_close());
    REQUIRE(s.events.back().kind == Kind::close_connection);
    CHECK(s.events.back().by_peer);
}

TEST_CASE("h2: a protocol error nghttp2 catches ends with GOAWAY PROTOCOL_ERROR") {
    Server s;
    REQUIRE(s.feed(client_preface() + frame(NGHTTP2_DATA, 0, 0, "x")).ok());
    CHECK(only_goaway_code(s.drain()) == NGHTTP2_PROTOCOL_ERROR);
    CHECK(s.codec.wants_close());
    REQUIRE(s.events.back().kind == Kind::close_connection);
    CHECK(s.events.back().error_code == h2_error::protocol_error);
    CHECK_FALSE(s.events.back().by_peer);
    // nghttp2's reason, from the GOAWAY's debug data ("DATA: stream_id == 0").
    CHECK(s.events.back().message.rfind("h2: ", 0) == 0);
    CHECK(s.events.back().message.find("DATA") != std::string::npos);
    CHECK(s.count(Kind::protocol_error) == 0);  // answered with GOAWAY, not fatal
}

TEST_CASE("h2: terminate() sends GOAWAY with its code and stops reading") {
    Server s;
    Client c;
    c.request(get_fields("/a"));
    exchange(c, s);
    s.codec.terminate(h2_error::internal_error, "h2: test says stop");
    exchange(c, s);
    REQUIRE(c.goaways.size() == 1);
    CHECK(c.goaways[0].second == NGHTTP2_INTERNAL_ERROR);
    CHECK(s.codec.wants_close());
    REQUIRE(s.events.back().kind == Kind::close_connection);
    CHECK(s.events.back().message == "h2: test says stop");
}

TEST_CASE("h2: a HEADERS frame going back to a lower stream id is a connection error") {
    Server s;
    answer_all(s, [](int32_t) { return std::string("ok"); });
    HpackEncoder enc;
    std::string wire = client_preface() + frame(NGHTTP2_HEADERS,
                                                NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM,
                                                5, enc.encode(get_fields("/five")));
    REQUIRE(s.feed(wire).ok());
    s.drain();
    REQUIRE(s.count(Kind::request) == 1);
    // Stream 3 was never used, but it is lower than 5 (RFC 9113 5.1.1).
    REQUIRE(s.feed(frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 3,
                         enc.encode(get_fields("/three"))))
                .ok());
    CHECK(only_goaway_code(s.drain()) == NGHTTP2_PROTOCOL_ERROR);
    CHECK(s.count(Kind::request) == 1);  // /three never reaches the transport
    REQUIRE(s.events.back().kind == Kind::close_connection);
    CHECK(s.events.back().error_code == h2_error::protocol_error);
    CHECK(s.events.back().message == "h2: HEADERS on a closed or lower stream id");
}

TEST_CASE("h2: a HEADERS frame reusing a finished stream's id is a connection error") {
    Server s;
    answer_all(s, [](int32_t) { return std::string("ok"); });
    HpackEncoder enc;
    auto get = [&](int32_t id, const char* path) {
        return frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id,
                     enc.encode(get_fields(path)));
    };
    // One HPACK encoder: the blocks must be encoded in the order they are sent.
    std::string wire = client_preface();
    wire += get(1, "/a");
    wire += get(3, "/b");
    REQUIRE(s.feed(wire).ok());
    s.drain();
    REQUIRE(s.closed_event(1) != nullptr);
    REQUIRE(s.closed_event(3) != nullptr);
    REQUIRE(s.feed(get(3, "/again")).ok());
    CHECK(only_goaway_code(s.drain()) == NGHTTP2_PROTOCOL_ERROR);
    CHECK(s.count(Kind::request) == 2);
}

TEST_CASE("h2: trailers for a stream answered before the client ended it are not an error") {
    Server s;
    HpackEncoder enc;
    // A PUT whose body is still coming; it is answered at once (405), which closes the stream.
    REQUIRE(s.feed(client_preface() + frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1,
                                            enc.encode(get_fields("/up", "PUT"))))
                .ok());
    REQUIRE(s.count(Kind::request) == 1);
    ResponseHead head;
    head.status = 405;
    REQUIRE(s.codec.submit_response(1, head, nullptr).ok());
    s.drain();
    REQUIRE(s.closed_event(1) != nullptr);
    // The client had not heard yet: its trailers arrive, then a new request.
    answer_all(s, [](int32_t) { return std::string("fine"); });
    std::string more = frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1,
                             enc.encode({{"x-checksum", "abc"}}));
    more += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 3,
                  enc.encode(get_fields("/next")));
    REQUIRE(s.feed(more).ok());
    auto frames = parse_frames(s.drain());
    CHECK(of_type(frames, NGHTTP2_GOAWAY).empty());
    CHECK(s.count(Kind::request) == 2);
    CHECK(s.events.back().kind != Kind::close_connection);
}
