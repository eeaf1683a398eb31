#include <doctest/doctest.h>

#include <string>

#include "xs3/http/h2_output.hpp"

using namespace xs3::http;
using K = H2Segment::Kind;

TEST_CASE("H2Output: bytes coalesce until the tail is closed or a payload comes") {
    H2Output out;
    CHECK(out.empty());
    out.append_bytes("abc", 3);
    out.append_bytes("de", 2);
    REQUIRE(out.segment_count() == 1);
    CHECK(out.segment(0).kind == K::bytes);
    CHECK(out.segment(0).bytes == "abcde");
    CHECK(out.segment(0).length == 5);

    const char* before = out.segment(0).bytes.data();
    out.close_tail();
    out.append_bytes("fgh", 3);
    REQUIRE(out.segment_count() == 2);
    CHECK(out.segment(0).bytes.data() == before);  // a closed segment never moves
    CHECK(out.segment(1).bytes == "fgh");

    out.append_payload(5, 1000, 4096);
    out.append_bytes("ij", 2);
    REQUIRE(out.segment_count() == 4);
    H2Segment p = out.segment(2);
    CHECK(p.kind == K::payload);
    CHECK(p.stream_id == 5);
    CHECK(p.offset == 1000);
    CHECK(p.length == 4096);
    CHECK(out.segment(3).bytes == "ij");
    CHECK(out.queued() == 5 + 3 + 4096 + 2);
    CHECK(out.appended() == out.queued());
    CHECK(out.segment(9).length == 0);  // out of range: an empty segment
}

TEST_CASE("H2Output: consume walks across segments and into a payload") {
    H2Output out;
    out.append_bytes("123456789", 9);
    out.append_payload(1, 0, 100);
    out.append_bytes("xyz", 3);

    CHECK(out.consume(4) == 4);
    CHECK(out.segment(0).bytes == "56789");
    CHECK(out.consume(5 + 30) == 35);
    REQUIRE(out.segment_count() == 2);
    CHECK(out.segment(0).kind == K::payload);
    CHECK(out.segment(0).offset == 30);
    CHECK(out.segment(0).length == 70);
    CHECK(out.consumed() == 39);
    CHECK(out.queued() == 73);

    CHECK(out.consume(71) == 71);
    REQUIRE(out.segment_count() == 1);
    CHECK(out.segment(0).bytes == "yz");
    CHECK(out.consume(1000) == 2);  // never more than is queued
    CHECK(out.empty());
    CHECK(out.queued() == 0);
    CHECK(out.consumed() == out.appended());

    out.append_bytes("new", 3);
    CHECK(out.segment(0).bytes == "new");
}

TEST_CASE("H2Output: zero-length appends add nothing") {
    H2Output out;
    out.append_bytes("", 0);
    out.append_payload(3, 0, 0);
    CHECK(out.empty());
    CHECK(out.appended() == 0);
}
