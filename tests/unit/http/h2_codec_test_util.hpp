// Helpers shared by the H2Codec tests (h2_codec_test.cpp, h2_codec_limits_test.cpp,
// h2_codec_lifecycle_test.cpp): find a request, a response's fields, a reset's or the GOAWAY's
// code in what the codec produced; answer every request; feed one byte at a time.
#pragma once

#include <doctest/doctest.h>
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "h2_test_peer.hpp"
#include "xs3/http/h2_codec.hpp"

namespace h2test {

inline const xs3::http::H2Event* request_event(const Server& s, int32_t stream_id) {
    for (const xs3::http::H2Event& e : s.events) {
        if (e.kind == xs3::http::H2Event::Kind::request && e.stream_id == stream_id) return &e;
    }
    return nullptr;
}

// A server that answers every request with body_for(stream id).
inline void answer_all(Server& s, std::function<std::string(int32_t)> body_for) {
    s.on_request = [body_for](Server& srv, const xs3::http::H2Event& ev) {
        srv.respond(ev.stream_id, body_for(ev.stream_id));
    };
}

inline Fields response_fields(HpackDecoder& dec, const std::vector<Frame>& frames,
                              int32_t stream_id) {
    for (const Frame& f : frames) {
        if (f.type == NGHTTP2_HEADERS && f.stream_id == stream_id) return dec.decode(f.payload);
    }
    return {};
}

inline std::string field(const Fields& fields, std::string_view name) {
    for (const auto& [n, v] : fields) {
        if (n == name) return v;
    }
    return "<none>";
}

inline uint32_t rst_code(const std::vector<Frame>& frames, int32_t stream_id) {
    for (const Frame& f : frames) {
        if (f.type == NGHTTP2_RST_STREAM && f.stream_id == stream_id) return be32(f.payload, 0);
    }
    return 0xffffffffu;
}

// The error code of the one GOAWAY in `wire`.
inline uint32_t only_goaway_code(const std::string& wire) {
    auto goaways = of_type(parse_frames(wire), NGHTTP2_GOAWAY);
    REQUIRE(goaways.size() == 1);
    return be32(goaways[0].payload, 4);
}

// One feed() per byte: nothing may depend on how the bytes arrive.
inline void feed_bytewise(Server& s, std::string_view wire) {
    for (char c : wire) {
        xs3::Status st = s.feed(std::string_view(&c, 1));
        INFO(st.to_string());
        REQUIRE(st.ok());
    }
}

}  // namespace h2test
