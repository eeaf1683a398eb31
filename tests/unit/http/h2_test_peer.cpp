// Test peers for H2Codec.
#include "h2_test_peer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>

using namespace xs3::http;

namespace h2test {

std::string make_body(size_t n, unsigned seed) {
    std::string s(n, '\0');
    uint32_t x = seed * 2654435761u + 12345;
    for (size_t i = 0; i < n; ++i) {
        x = x * 1103515245u + 12345;
        s[i] = char(x >> 16);
    }
    return s;
}

std::string base64url(std::string_view bytes) {
    static const char* alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : bytes) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += alphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0) out += alphabet[(acc << (6 - bits)) & 63];
    return out;
}

std::string frame(uint8_t type, uint8_t flags, int32_t stream_id, std::string_view payload) {
    std::string f;
    const size_t n = payload.size();
    f += char(n >> 16);
    f += char(n >> 8);
    f += char(n);
    f += char(type);
    f += char(flags);
    f += char(uint32_t(stream_id) >> 24);
    f += char(uint32_t(stream_id) >> 16);
    f += char(uint32_t(stream_id) >> 8);
    f += char(uint32_t(stream_id));
    f += payload;
    return f;
}

std::string client_preface() {
    return std::string(NGHTTP2_CLIENT_MAGIC, NGHTTP2_CLIENT_MAGIC_LEN) +
           frame(NGHTTP2_SETTINGS, 0, 0, "");
}

std::string rst_stream_frame(int32_t stream_id, uint32_t code) {
    std::string p;
    for (int shift = 24; shift >= 0; shift -= 8)
        p += char(code >> shift);
    return frame(NGHTTP2_RST_STREAM, 0, stream_id, p);
}

uint32_t be32(std::string_view p, size_t at) {
    return uint32_t(uint8_t(p[at])) << 24 | uint32_t(uint8_t(p[at + 1])) << 16 |
           uint32_t(uint8_t(p[at + 2])) << 8 | uint32_t(uint8_t(p[at + 3]));
}

std::vector<Frame> parse_frames(std::string_view wire) {
    std::vector<Frame> frames;
    size_t off = 0;
    while (off < wire.size()) {
        REQUIRE(wire.size() - off >= 9);
        size_t len = size_t(uint8_t(wire[off])) << 16 | size_t(uint8_t(wire[off + 1])) << 8 |
                     size_t(uint8_t(wire[off + 2]));
        REQUIRE(wire.size() - off - 9 >= len);
        Frame f;
        f.type = uint8_t(wire[off + 3]);
        f.flags = uint8_t(wire[off + 4]);
        f.stream_id = int32_t(be32(wire, off + 5) & 0x7fffffffu);
        f.payload = std::string(wire.substr(off + 9, len));
        frames.push_back(std::move(f));
        off += 9 + len;
    }
    return frames;
}

std::vector<Frame> of_type(const std::vector<Frame>& frames, uint8_t type) {
    std::vector<Frame> out;
    for (const Frame& f : frames) {
        if (f.type == type) out.push_back(f);
    }
    return out;
}

HpackEncoder::HpackEncoder() {
    REQUIRE(nghttp2_hd_deflate_new(&deflater_, 4096) == 0);
}
HpackEncoder::~HpackEncoder() {
    nghttp2_hd_deflate_del(deflater_);
}

std::string HpackEncoder::encode(const Fields& fields) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [name, value] : fields) {
        nva.push_back({(uint8_t*)name.data(), (uint8_t*)value.data(), name.size(), value.size(),
                       NGHTTP2_NV_FLAG_NONE});
    }
    std::string out(nghttp2_hd_deflate_bound(deflater_, nva.data(), nva.size()), '\0');
    ssize_t n =
        nghttp2_hd_deflate_hd(deflater_, (uint8_t*)out.data(), out.size(), nva.data(), nva.size());
    REQUIRE(n >= 0);
    out.resize(size_t(n));
    return out;
}

HpackDecoder::HpackDecoder() {
    REQUIRE(nghttp2_hd_inflate_new(&inflater_) == 0);
}
HpackDecoder::~HpackDecoder() {
    nghttp2_hd_inflate_del(inflater_);
}

Fields HpackDecoder::decode(std::string_view block) {
    Fields out;
    const uint8_t* in = (const uint8_t*)block.data();
    size_t left = block.size();
    for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        ssize_t n = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, in, left, 1);
        REQUIRE(n >= 0);
        in += n;
        left -= size_t(n);
        if (flags & NGHTTP2_HD_INFLATE_EMIT) {
            out.emplace_back(std::string((const char*)nv.name, nv.namelen),
                             std::string((const char*)nv.value, nv.valuelen));
        }
        if (flags & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(inflater_);
            break;
        }
        if ((flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && left == 0) break;
    }
    return out;
}

Fields get_fields(std::string_view path, std::string_view method) {
    return {{":method", std::string(method)},
            {":scheme", "http"},
            {":path", std::string(path)},
            {":authority", "example.com"}};
}

// --- Server -----------------------------------------------------------------------------------

Server::Server(H2Options options) : codec(options) {}

xs3::Status Server::feed(std::string_view bytes) {
    xs3::Status s = codec.feed(bytes.data(), bytes.size());
    take_events();
    return s;
}

void Server::take_events() {
    H2Event ev;
    while (codec.next_event(ev)) {
        events.push_back(ev);
        if (ev.kind == H2Event::Kind::request && on_request) on_request(*this, events.back());
    }
}

std::string Server::drain() {
    std::string wire;
    for (int guard = 0; guard < 1000000; ++guard) {
        // What the "socket" may still be reading from must not move while more is produced.
        const H2Output& out = codec.output();
        const char* front = nullptr;
        if (!out.empty() && out.segment(0).kind == H2Segment::Kind::bytes) {
            front = out.segment(0).bytes.data();
        }
        size_t queued = codec.produce(budget);
        if (front != nullptr) REQUIRE(out.segment(0).bytes.data() == front);
        max_queued = std::max(max_queued, queued);
        if (queued == 0) break;
        const size_t want = write_step == 0 ? queued : std::min(write_step, queued);
        size_t written = 0;
        for (size_t i = 0; i < out.segment_count() && written < want; ++i) {
            H2Segment seg = out.segment(i);
            const size_t take = std::min(seg.length, want - written);
            if (seg.kind == H2Segment::Kind::bytes) {
                wire += seg.bytes.substr(0, take);
            } else {
                const Body& b = bodies.at(seg.stream_id);
                REQUIRE(seg.offset + take <= b.data.size());
                wire.append(b.data, size_t(seg.offset), take);
            }
            written += take;
        }
        REQUIRE(written == want);
        codec.consume(written);
        take_events();
    }
    take_events();
    return wire;
}

void Server::respond(int32_t stream_id, std::string data, int status) {
    ResponseHead head;
    head.status = status;
    head.headers.add("Content-Length", std::to_string(data.size()));
    head.headers.add("Content-Type", "application/octet-stream");
    const uint64_t length = data.size();
    bodies[stream_id].data = std::move(data);
    REQUIRE(codec.submit_response(stream_id, head, this, length).ok());
}

size_t Server::count(H2Event::Kind kind) const {
    return size_t(std::count_if(events.begin(), events.end(),
                                [&](const H2Event& e) { return e.kind == kind; }));
}

const H2Event* Server::closed_event(int32_t stream_id) const {
    for (const H2Event& e : events) {
        if (e.kind == H2Event::Kind::stream_closed && e.stream_id == stream_id) return &e;
    }
    return nullptr;
}

H2BodyChunk Server::body_available(int32_t stream_id, uint64_t offset, size_t max) noexcept {
    ++source_calls;
    auto it = bodies.find(stream_id);
    if (it == bodies.end()) return H2BodyChunk::error();
    const Body& b = it->second;
    if (offset >= b.fail_at) return H2BodyChunk::error();
    if (offset >= b.eof_at) return H2BodyChunk::eof();
    size_t end = std::min({b.data.size(), b.available, b.fail_at, b.eof_at});
    if (offset >= end) return H2BodyChunk::deferred();
    size_t n = std::min(max, end - size_t(offset));
    return H2BodyChunk::ready(n, offset + n == b.data.size());
}

// --- Client -----------------------------------------------------------------------------------

namespace {

Client& client_of(void* user) {
    return *static_cast<Client*>(user);
}

int c_on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto& st = client_of(user).streams[frame->hd.stream_id];
    std::string n((const char*)name, namelen), v((const char*)value, valuelen);
    if (n == ":status") st.status = std::stoi(v);
    st.headers.emplace_back(std::move(n), std::move(v));
    return 0;
}

int c_on_data(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
              void* user) {
    client_of(user).streams[stream_id].body.append((const char*)data, len);
    return 0;
}

int c_on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    Client& c = client_of(user);
    c.frames.push_back({frame->hd.type, frame->hd.flags, frame->hd.stream_id, frame->hd.length});
    const int32_t id = frame->hd.stream_id;
    switch (frame->hd.type) {
        case NGHTTP2_DATA:
            ++c.streams[id].data_frames;
            if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) c.streams[id].end_stream = true;
            break;
        case NGHTTP2_HEADERS:
            if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) c.streams[id].end_stream = true;
            break;
        case NGHTTP2_RST_STREAM:
            c.streams[id].rst = true;
            c.streams[id].rst_code = frame->rst_stream.error_code;
            break;
        case NGHTTP2_GOAWAY:
            c.goaways.emplace_back(frame->goaway.last_stream_id, frame->goaway.error_code);
            break;
        default:
            break;
    }
    return 0;
}

int c_on_close(nghttp2_session*, int32_t stream_id, uint32_t code, void* user) {
    auto& st = client_of(user).streams[stream_id];
    st.closed = true;
    st.close_code = code;
    return 0;
}

}  // namespace

const std::string* Client::StreamResult::header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
        if (n == name) return &v;
    }
    return nullptr;
}

Client::Client(Options options) {
    nghttp2_session_callbacks* cbs;
    REQUIRE(nghttp2_session_callbacks_new(&cbs) == 0);
    nghttp2_session_callbacks_set_on_header_callback(cbs, c_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, c_on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, c_on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, c_on_close);
    nghttp2_option* opt;
    REQUIRE(nghttp2_option_new(&opt) == 0);
    if (!options.auto_window_update) nghttp2_option_set_no_auto_window_update(opt, 1);
    REQUIRE(nghttp2_session_client_new2(&session, cbs, this, opt) == 0);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    if (options.upgrade) {
        REQUIRE(nghttp2_session_upgrade2(session, (const uint8_t*)options.upgrade_payload.data(),
                                         options.upgrade_payload.size(),
                                         options.upgrade_head ? 1 : 0, nullptr) == 0);
    } else {
        REQUIRE(nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, options.settings.data(),
                                        options.settings.size()) == 0);
    }
    if (options.connection_window_increase > 0) {
        REQUIRE(nghttp2_submit_window_update(session, NGHTTP2_FLAG_NONE, 0,
                                             options.connection_window_increase) == 0);
    }
}

Client::~Client() {
    nghttp2_session_del(session);
}

int32_t Client::request(const Fields& fields, bool end_stream) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [name, value] : fields) {
        nva.push_back({(uint8_t*)name.data(), (uint8_t*)value.data(), name.size(), value.size(),
                       NGHTTP2_NV_FLAG_NONE});
    }
    int32_t id = nghttp2_submit_headers(session, end_stream ? NGHTTP2_FLAG_END_STREAM : 0, -1,
                                        nullptr, nva.data(), nva.size(), nullptr);
    REQUIRE(id > 0);
    streams[id];
    return id;
}

std::string Client::output() {
    std::string out;
    for (;;) {
        const uint8_t* data;
        ssize_t n = nghttp2_session_mem_send(session, &data);
        REQUIRE(n >= 0);
        if (n == 0) break;
        out.append((const char*)data, size_t(n));
    }
    return out;
}

void Client::feed(std::string_view bytes) {
    ssize_t n = nghttp2_session_mem_recv(session, (const uint8_t*)bytes.data(), bytes.size());
    REQUIRE(n == ssize_t(bytes.size()));
}

void exchange(Client& client, Server& server, int max_rounds) {
    for (int round = 0; round < max_rounds; ++round) {
        std::string up = client.output();
        if (!up.empty()) REQUIRE(server.feed(up).ok());
        std::string down = server.drain();
        if (!down.empty()) client.feed(down);
        if (up.empty() && down.empty()) return;
    }
    FAIL("client and server kept talking");
}

}  // namespace h2test
