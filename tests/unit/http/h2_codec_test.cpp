#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "h2_test_peer.hpp"
#include "xs3/http/h2_codec.hpp"
#include "xs3/http/h2_settings.hpp"
#include "xs3_build_config.h"

using namespace xs3::http;
using namespace h2test;
using Kind = H2Event::Kind;

namespace {

constexpr size_t frame_slack = 16384 + 9 + 256;  // produce() may pass its budget by one frame

const H2Event* request_event(const Server& s, int32_t stream_id) {
    for (const H2Event& e : s.events) {
        if (e.kind == Kind::request && e.stream_id == stream_id) return &e;
    }
    return nullptr;
}

// A server that answers every request with body_for(stream id).
void answer_all(Server& s, std::function<std::string(int32_t)> body_for) {
    s.on_request = [body_for](Server& srv, const H2Event& ev) {
        srv.respond(ev.stream_id, body_for(ev.stream_id));
    };
}

Fields response_fields(HpackDecoder& dec, const std::vector<Frame>& frames, int32_t stream_id) {
    for (const Frame& f : frames) {
        if (f.type == NGHTTP2_HEADERS && f.stream_id == stream_id) return dec.decode(f.payload);
    }
    return {};
}

std::string field(const Fields& fields, std::string_view name) {
    for (const auto& [n, v] : fields) {
        if (n == name) return v;
    }
    return "<none>";
}

uint32_t rst_code(const std::vector<Frame>& frames, int32_t stream_id) {
    for (const Frame& f : frames) {
        if (f.type == NGHTTP2_RST_STREAM && f.stream_id == stream_id) return be32(f.payload, 0);
    }
    return 0xffffffffu;
}

// The error code of the one GOAWAY in `wire`.
uint32_t only_goaway_code(const std::string& wire) {
    auto goaways = of_type(parse_frames(wire), NGHTTP2_GOAWAY);
    REQUIRE(goaways.size() == 1);
    return be32(goaways[0].payload, 4);
}

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

// One feed() per byte: nothing may depend on how the bytes arrive.
void feed_bytewise(Server& s, std::string_view wire) {
    for (char c : wire) {
        xs3::Status st = s.feed(std::string_view(&c, 1));
        INFO(st.to_string());
        REQUIRE(st.ok());
    }
}

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
