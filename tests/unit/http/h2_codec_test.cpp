// H2Codec: SETTINGS and preface, header blocks, concurrent streams and their bodies, produce()'s
// budget, flow control, deferred and cut bodies, resets, bodiless answers. (Limits and floods:
// h2_codec_limits_test.cpp; upgrade, shutdown and connection errors: h2_codec_lifecycle_test.cpp.)
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

constexpr size_t frame_slack = 16384 + 9 + 256;  // produce() may pass its budget by one frame

// Two GETs whose 5000-byte bodies stop after 1000 bytes: the client's stream window is 1000 and
// it sends no WINDOW_UPDATE unless a test submits one.
struct StalledPair {
    static ClientOptions tiny_window() {
        ClientOptions co;
        co.settings = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1000}};
        co.auto_window_update = false;
        co.connection_window_increase = 1 << 20;
        return co;
    }
    StalledPair() {
        answer_all(s, [](int32_t id) { return make_body(5000, unsigned(id)); });
        a = c.request(get_fields("/a"));
        b = c.request(get_fields("/b"));
        exchange(c, s);
    }
    Server s;
    Client c{tiny_window()};
    int32_t a = 0;
    int32_t b = 0;
};

}  // namespace

TEST_CASE("h2: the server's SETTINGS come first and carry the options; the client's are acked") {
    H2Options o;
    o.max_concurrent_streams = 7;
    o.initial_window_size = 12345;
    o.max_header_list_size = 5000;
    Server s(o);
    auto frames = parse_frames(s.drain());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type == NGHTTP2_SETTINGS);
    CHECK((frames[0].flags & NGHTTP2_FLAG_ACK) == 0);
    std::map<uint16_t, uint32_t> settings;
    const std::string& p = frames[0].payload;
    REQUIRE(p.size() % 6 == 0);
    for (size_t i = 0; i < p.size(); i += 6) {
        settings[uint16_t(uint8_t(p[i]) << 8 | uint8_t(p[i + 1]))] = be32(p, i + 2);
    }
    CHECK(settings[NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS] == 7);
    CHECK(settings[NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE] == 12345);
    CHECK(settings[NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE] == 5000);

    REQUIRE(s.feed(client_preface()).ok());
    frames = parse_frames(s.drain());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type == NGHTTP2_SETTINGS);
    CHECK(frames[0].flags == NGHTTP2_FLAG_ACK);
    CHECK(s.events.empty());
    CHECK_FALSE(s.codec.wants_close());
    CHECK(s.codec.open_streams() == 0);
}

TEST_CASE("h2: a bad preface is a fatal error") {
    Server s;
    xs3::Status st = s.feed("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    CHECK_FALSE(st.ok());
    CHECK(st.message().find("preface") != std::string::npos);
    REQUIRE(s.events.size() == 1);
    CHECK(s.events[0].kind == Kind::protocol_error);
    CHECK(s.codec.failed());
    CHECK(s.codec.wants_close());
    CHECK_FALSE(s.feed(client_preface()).ok());  // stays failed
    CHECK(s.events.size() == 1);
}

TEST_CASE("h2: a GET whose header block is cut inside fields across HEADERS + CONTINUATION") {
    Server s;
    HpackEncoder enc;
    Fields req = get_fields("/bucket/some%20key?versionId=3");
    req.emplace_back("user-agent", "unit");
    req.emplace_back("x-long", std::string(300, 'v'));
    req.emplace_back("cookie", "a=1");
    req.emplace_back("cookie", "b=2");
    const std::string block = enc.encode(req);
    REQUIRE(block.size() > 40);
    const size_t a = 7, b = block.size() - 5;  // both cuts fall inside fields
    std::string wire = client_preface() +
                       frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1, block.substr(0, a)) +
                       frame(NGHTTP2_CONTINUATION, 0, 1, block.substr(a, b - a));
    const std::string last =
        frame(NGHTTP2_CONTINUATION, NGHTTP2_FLAG_END_HEADERS, 1, block.substr(b));
    feed_bytewise(s, wire);
    CHECK(s.count(Kind::request) == 0);
    feed_bytewise(s, last);
    REQUIRE(s.count(Kind::request) == 1);
    const H2Event& ev = s.events.back();
    CHECK(ev.stream_id == 1);
    CHECK(ev.end_stream);
    const Request& r = ev.request;
    CHECK(r.method == Method::get);
    CHECK(r.method_name == "GET");
    CHECK(r.target == "/bucket/some%20key?versionId=3");
    CHECK(r.path == "/bucket/some%20key");
    CHECK(r.query == "versionId=3");
    CHECK(r.version_major == 2);
    REQUIRE(r.headers.size() == 4);
    CHECK(r.headers[0].name == "host");
    CHECK(r.headers[0].value == "example.com");
    CHECK(*r.headers.get("Host") == "example.com");
    CHECK(*r.headers.get("user-agent") == "unit");
    CHECK(*r.headers.get("x-long") == std::string(300, 'v'));
    CHECK(*r.headers.get("cookie") == "a=1; b=2");
    CHECK(s.codec.open_streams() == 1);

    s.respond(1, "hello");
    auto frames = parse_frames(s.drain());
    HpackDecoder dec;
    Fields resp = response_fields(dec, frames, 1);
    CHECK(field(resp, ":status") == "200");
    CHECK(field(resp, "content-length") == "5");
    auto data = of_type(frames, NGHTTP2_DATA);
    REQUIRE(data.size() == 1);
    CHECK(data[0].payload == "hello");
    CHECK(data[0].flags == NGHTTP2_FLAG_END_STREAM);
    const H2Event* closed = s.closed_event(1);
    REQUIRE(closed != nullptr);
    CHECK(closed->error_code == h2_error::no_error);
    CHECK_FALSE(closed->by_peer);
    CHECK(s.codec.open_streams() == 0);
}

TEST_CASE("h2: many concurrent streams get interleaved, byte-exact bodies") {
    Server s;
    s.budget = 64 * 1024;
    SUBCASE("whole writes") {}
    SUBCASE("partial writes between produce() calls") {
        s.write_step = 777;
    }
    auto body_for = [](int32_t id) { return make_body(30000 + size_t(id) * 7919, unsigned(id)); };
    answer_all(s, body_for);
    Client::Options co;
    co.settings = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    co.connection_window_increase = 1 << 24;
    Client c(co);
    std::vector<int32_t> ids;
    for (int i = 0; i < 20; ++i)
        ids.push_back(c.request(get_fields("/obj/" + std::to_string(i))));
    exchange(c, s);

    CHECK(s.count(Kind::request) == 20);
    for (int32_t id : ids) {
        const auto& st = c.streams[id];
        CAPTURE(id);
        CHECK(st.status == 200);
        REQUIRE(st.header("content-length") != nullptr);
        CHECK(*st.header("content-length") == std::to_string(body_for(id).size()));
        CHECK(st.body == body_for(id));
        CHECK(st.end_stream);
        CHECK(st.closed);
        CHECK(st.close_code == NGHTTP2_NO_ERROR);
        REQUIRE(s.closed_event(id) != nullptr);
        CHECK(s.closed_event(id)->error_code == h2_error::no_error);
    }
    // Interleaved: before the first body completes, DATA of several streams has gone out.
    std::set<int32_t> before_first_end;
    for (const auto& f : c.frames) {
        if (f.type != NGHTTP2_DATA) continue;
        before_first_end.insert(f.stream_id);
        if (f.flags & NGHTTP2_FLAG_END_STREAM) break;
    }
    CHECK(before_first_end.size() >= 10);
    CHECK(s.max_queued <= s.budget + frame_slack);
    CHECK(s.codec.open_streams() == 0);
    CHECK_FALSE(s.codec.wants_close());
}

TEST_CASE("h2: produce() keeps to its budget; bigger DATA frames when both sides allow them") {
    SUBCASE("small budget") {
        Server s;
        s.budget = 4096;
        answer_all(s, [](int32_t id) { return make_body(200000, unsigned(id)); });
        Client::Options co;
        co.settings = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
        co.connection_window_increase = 1 << 24;
        Client c(co);
        int32_t id = c.request(get_fields("/big"));
        exchange(c, s);
        CHECK(c.streams[id].body == make_body(200000, unsigned(id)));
        CHECK(s.max_queued <= 4096 + frame_slack);
    }
    SUBCASE("64 KiB frames") {
        H2Options o;
        o.max_data_frame_payload = 65536;
        Server s(o);
        answer_all(s, [](int32_t id) { return make_body(300000, unsigned(id)); });
        Client::Options co;
        co.settings = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
                       {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 65536}};
        co.connection_window_increase = 1 << 24;
        Client c(co);
        int32_t id = c.request(get_fields("/big"));
        exchange(c, s);
        CHECK(c.streams[id].body == make_body(300000, unsigned(id)));
        size_t largest = 0;
        for (const auto& f : c.frames) {
            if (f.type == NGHTTP2_DATA) largest = std::max(largest, f.length);
        }
        CHECK(largest == 65536);
    }
}

TEST_CASE("h2: flow control stops one stream's DATA while another keeps flowing") {
    StalledPair p;
    auto& [s, c, a, b] = p;
    CHECK(c.streams[a].body == make_body(5000, unsigned(a)).substr(0, 1000));
    CHECK(c.streams[b].body.size() == 1000);
    CHECK_FALSE(s.codec.want_write());
    CHECK(s.codec.produce(1 << 20) == 0);

    REQUIRE(nghttp2_submit_window_update(c.session, NGHTTP2_FLAG_NONE, b, 10000) == 0);
    exchange(c, s);
    CHECK(c.streams[b].body == make_body(5000, unsigned(b)));
    CHECK(c.streams[b].end_stream);
    CHECK(c.streams[a].body.size() == 1000);  // still waiting for its window
    CHECK_FALSE(c.streams[a].closed);

    REQUIRE(nghttp2_submit_window_update(c.session, NGHTTP2_FLAG_NONE, a, 10000) == 0);
    exchange(c, s);
    CHECK(c.streams[a].body == make_body(5000, unsigned(a)));
    CHECK(c.streams[a].end_stream);
}

TEST_CASE("h2: a deferred body waits for resume_data; other streams are not held up") {
    Server s;
    Client c;
    int32_t slow = c.request(get_fields("/slow"));
    int32_t fast = c.request(get_fields("/fast"));
    exchange(c, s);
    REQUIRE(s.count(Kind::request) == 2);
    s.bodies[slow].available = 0;
    s.respond(slow, make_body(3000, 1));
    s.respond(fast, make_body(2000, 2));
    exchange(c, s);
    CHECK(c.streams[fast].body == make_body(2000, 2));
    CHECK(c.streams[fast].end_stream);
    CHECK(c.streams[slow].status == 200);
    CHECK(c.streams[slow].data_frames == 0);
    CHECK_FALSE(s.codec.want_write());
    CHECK_FALSE(s.codec.resume_data(fast));  // finished: nothing to resume

    s.bodies[slow].available = 1000;
    CHECK(s.codec.resume_data(slow));
    exchange(c, s);
    CHECK(c.streams[slow].body == make_body(3000, 1).substr(0, 1000));
    CHECK_FALSE(c.streams[slow].end_stream);

    s.bodies[slow].available = std::string::npos;
    CHECK(s.codec.resume_data(slow));
    exchange(c, s);
    CHECK(c.streams[slow].body == make_body(3000, 1));
    CHECK(c.streams[slow].end_stream);
    CHECK(s.closed_event(slow)->error_code == h2_error::no_error);
}

TEST_CASE("h2: a body of unknown length ends when the source says eof") {
    Server s;
    Client c;
    int32_t id = c.request(get_fields("/stream"));
    exchange(c, s);
    s.bodies[id].data = make_body(3000, 9);
    s.bodies[id].eof_at = 2500;
    ResponseHead head;
    head.status = 200;
    REQUIRE(s.codec.submit_response(id, head, &s).ok());
    exchange(c, s);
    CHECK(c.streams[id].body == make_body(3000, 9).substr(0, 2500));
    CHECK(c.streams[id].end_stream);
    CHECK_FALSE(c.streams[id].rst);
}

TEST_CASE("h2: a source offering more than body_length is cut at the length") {
    Server s;
    Client c;
    int32_t id = c.request(get_fields("/cut"));
    exchange(c, s);
    s.bodies[id].data = make_body(50000, 4);
    ResponseHead head;
    head.status = 200;
    head.headers.add("Content-Length", "20000");
    REQUIRE(s.codec.submit_response(id, head, &s, 20000).ok());
    exchange(c, s);
    CHECK(c.streams[id].body == make_body(50000, 4).substr(0, 20000));
    CHECK(c.streams[id].end_stream);
    CHECK(c.streams[id].close_code == NGHTTP2_NO_ERROR);
}

TEST_CASE("h2: the client resets one stream mid-body; the others are intact") {
    StalledPair p;
    auto& [s, c, a, b] = p;
    REQUIRE(c.streams[a].body.size() == 1000);
    REQUIRE(nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, a, NGHTTP2_CANCEL) == 0);
    REQUIRE(nghttp2_submit_window_update(c.session, NGHTTP2_FLAG_NONE, b, 10000) == 0);
    exchange(c, s);
    CHECK(c.streams[b].body == make_body(5000, unsigned(b)));
    CHECK(c.streams[b].end_stream);
    const H2Event* closed = s.closed_event(a);
    REQUIRE(closed != nullptr);
    CHECK(closed->by_peer);
    CHECK(closed->error_code == h2_error::cancel);
    CHECK(s.codec.stats().peer_resets == 1);
    CHECK(s.closed_event(b)->error_code == h2_error::no_error);
    CHECK(s.codec.open_streams() == 0);
    CHECK(s.codec.submit_response(a, ResponseHead{}, nullptr).code() == xs3::Code::not_found);
}

TEST_CASE("h2: stream_closed waits until the stream's queued payload is consumed") {
    Server s;
    Client c;
    int32_t id = c.request(get_fields("/x"));
    exchange(c, s);
    s.respond(id, make_body(5000, 3));
    REQUIRE(s.codec.produce(1 << 20) > 5000);  // HEADERS + DATA queued, not written
    bool has_payload = false;
    for (size_t i = 0; i < s.codec.output().segment_count(); ++i) {
        H2Segment seg = s.codec.output().segment(i);
        if (seg.kind == H2Segment::Kind::payload) {
            has_payload = true;
            CHECK(seg.stream_id == id);
        }
    }
    CHECK(has_payload);
    // The stream is complete on our side already (END_STREAM queued), but its bytes are not out.
    H2Event ev;
    CHECK_FALSE(s.codec.next_event(ev));
    CHECK(s.codec.open_streams() == 1);
    s.codec.consume(s.codec.output().queued() - 1);
    CHECK_FALSE(s.codec.next_event(ev));
    s.codec.consume(1);
    REQUIRE(s.codec.next_event(ev));
    CHECK(ev.kind == Kind::stream_closed);
    CHECK(ev.stream_id == id);
    CHECK(s.codec.open_streams() == 0);
}

TEST_CASE("h2: streams reset by us (transport, body error, short body); the others carry on") {
    Server s;
    Client::Options co;
    co.settings = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    co.connection_window_increase = 1 << 24;
    Client c(co);
    int32_t by_transport = c.request(get_fields("/1"));
    int32_t failing = c.request(get_fields("/2"));
    int32_t short_body = c.request(get_fields("/3"));
    int32_t good = c.request(get_fields("/4"));
    exchange(c, s);
    REQUIRE(s.count(Kind::request) == 4);
    s.bodies[by_transport].available = 1000;
    s.bodies[failing].fail_at = 2000;
    s.bodies[short_body].eof_at = 1500;
    for (int32_t id : {by_transport, failing, short_body, good})
        s.respond(id, make_body(3000, unsigned(id)));
    exchange(c, s);
    REQUIRE(s.codec.reset_stream(by_transport, h2_error::internal_error).ok());
    CHECK_FALSE(s.codec.resume_data(by_transport));
    exchange(c, s);

    CHECK(c.streams[good].body == make_body(3000, unsigned(good)));
    CHECK(c.streams[good].end_stream);
    const std::pair<int32_t, size_t> cut[] = {
        {by_transport, 1000}, {failing, 2000}, {short_body, 1500}};
    for (auto [id, sent] : cut) {
        CAPTURE(id);
        CHECK(c.streams[id].rst);
        CHECK(c.streams[id].rst_code == NGHTTP2_INTERNAL_ERROR);
        CHECK_FALSE(c.streams[id].end_stream);
        // Exactly the bytes that exist: never padded.
        CHECK(c.streams[id].body == make_body(3000, unsigned(id)).substr(0, sent));
        const H2Event* closed = s.closed_event(id);
        REQUIRE(closed != nullptr);
        CHECK(closed->error_code == h2_error::internal_error);
        CHECK_FALSE(closed->by_peer);
    }
    CHECK(s.codec.stats().local_resets == 3);
    CHECK(s.codec.stats().peer_resets == 0);
}

TEST_CASE("h2: HEAD, 204 and 304 answers carry no DATA") {
    Server s;
    Client c;
    int32_t head_id = c.request(get_fields("/obj", "HEAD"));
    int32_t no_content = c.request(get_fields("/204"));
    int32_t not_modified = c.request(get_fields("/304"));
    exchange(c, s);
    REQUIRE(s.count(Kind::request) == 3);
    CHECK(request_event(s, head_id)->request.method == Method::head);
    s.respond(head_id, make_body(5000, 1));
    s.bodies[no_content].data = "ignored";
    ResponseHead head;
    head.status = 204;
    REQUIRE(s.codec.submit_response(no_content, head, &s).ok());
    s.respond(not_modified, make_body(10, 1), 304);
    exchange(c, s);
    CHECK(c.streams[head_id].status == 200);
    REQUIRE(c.streams[head_id].header("content-length") != nullptr);
    CHECK(*c.streams[head_id].header("content-length") == "5000");
    for (int32_t id : {head_id, no_content, not_modified}) {
        CAPTURE(id);
        CHECK(c.streams[id].data_frames == 0);
        CHECK(c.streams[id].end_stream);
        CHECK(c.streams[id].close_code == NGHTTP2_NO_ERROR);
    }
    CHECK(c.streams[no_content].status == 204);
    CHECK(c.streams[not_modified].status == 304);
    CHECK(s.source_calls == 0);
}
