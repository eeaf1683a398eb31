#include <doctest/doctest.h>

#include <nghttp2/nghttp2.h>

#include <string>

#include "h2_test_peer.hpp"
#include "xs3/http/h2_settings.hpp"

using namespace xs3::http;

namespace {

std::string entry(uint16_t id, uint32_t value) {
    std::string e;
    e += char(id >> 8);
    e += char(id);
    for (int shift = 24; shift >= 0; shift -= 8)
        e += char(value >> shift);
    return e;
}

}  // namespace

TEST_CASE("HTTP2-Settings: decodes what nghttp2 packs, as curl sends it") {
    const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
                                         {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 33554432},
                                         {NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
    std::string payload(18, '\0');
    REQUIRE(nghttp2_pack_settings_payload((uint8_t*)payload.data(), payload.size(), iv, 3) == 18);
    auto r = decode_http2_settings(h2test::base64url(payload));
    REQUIRE(r.ok());
    CHECK(*r == payload);
    // curl 7.88's value for its defaults.
    auto curl = decode_http2_settings("AAMAAABkAAQCAAAAAAIAAAAA");
    REQUIRE(curl.ok());
    CHECK(*curl == entry(3, 100) + entry(4, 33554432) + entry(2, 0));
}

TEST_CASE("HTTP2-Settings: padding, whitespace, empty and unknown settings are accepted") {
    const std::string one = entry(0x4, 65535);
    const std::string b64 = h2test::base64url(one);  // 8 chars, no padding needed
    CHECK(*decode_http2_settings(" " + b64 + "\t") == one);
    const std::string two = one + entry(0x1, 4096);  // 12 bytes: 16 chars
    CHECK(*decode_http2_settings(h2test::base64url(two)) == two);
    const std::string odd = entry(0x3, 7) + entry(0x4, 1) + entry(0x6, 9);  // 18 bytes: "=="
    std::string padded = h2test::base64url(odd);
    CHECK(padded.size() == 24);
    CHECK(*decode_http2_settings(padded) == odd);
    auto empty = decode_http2_settings("");
    REQUIRE(empty.ok());
    CHECK(empty->empty());
    CHECK(decode_http2_settings(h2test::base64url(entry(0x77, 12345))).ok());
}

TEST_CASE("HTTP2-Settings: malformed values are refused with a reason") {
    auto bad = [](std::string_view v) {
        auto r = decode_http2_settings(v);
        CHECK_FALSE(r.ok());
        return r.ok() ? std::string() : r.status().message();
    };
    CHECK(bad("AAMAAABk+AQ").find("base64url") != std::string::npos);  // '+' is base64, not url
    CHECK(bad("AAMAA/Bk").find("base64url") != std::string::npos);
    CHECK(bad("AAMAAABkA").find("length") != std::string::npos);          // 4n+1 symbols
    CHECK(bad("AAMAAABkAAB").find("stray bits") != std::string::npos);    // last symbol's low bits
    CHECK(bad("AAMAAABkAAA").find("whole number") != std::string::npos);  // same, bits clear
    CHECK(bad(h2test::base64url(entry(3, 1).substr(0, 5))).find("whole number") !=
          std::string::npos);
    std::string many;
    for (int i = 0; i < 33; ++i)
        many += entry(0x3, uint32_t(i));
    CHECK(bad(h2test::base64url(many)).find("too many") != std::string::npos);
    CHECK(decode_http2_settings(h2test::base64url(std::string(many).substr(0, 32 * 6))).ok());
    bad(h2test::base64url(entry(0x2, 2)));            // ENABLE_PUSH
    bad(h2test::base64url(entry(0x4, 0x80000000u)));  // INITIAL_WINDOW_SIZE
    bad(h2test::base64url(entry(0x5, 16383)));        // MAX_FRAME_SIZE
    bad(h2test::base64url(entry(0x5, 16777216)));
    bad(h2test::base64url(entry(0x9, 2)));  // NO_RFC7540_PRIORITIES
    CHECK(decode_http2_settings(h2test::base64url(entry(0x5, 16777215))).ok());
    CHECK(decode_http2_settings(h2test::base64url(entry(0x4, 0x7fffffffu))).ok());
}
