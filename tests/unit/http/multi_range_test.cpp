// Tests of parse_ranges (every range resolved, unsatisfiable ones dropped, overlapping and
// touching ones coalesced, request order kept, the part bound) and of the multipart/byteranges
// layout (exact bytes of every delimiter and part header, and the Content-Length).
#include <doctest/doctest.h>

#include "xs3/http/multipart.hpp"
#include "xs3/http/range.hpp"

using namespace xs3::http;

namespace {
std::vector<ByteRange> parts(std::string_view v, uint64_t size, size_t max = 64) {
    RangeSet s = parse_ranges(v, size, max);
    return s.parts;
}
RangeKind kind(std::string_view v, uint64_t size, size_t max = 64) {
    return parse_ranges(v, size, max).kind;
}
}  // namespace

TEST_CASE("parse_ranges: two ranges stay two, in the order asked") {
    CHECK(kind("bytes=0-99,200-299", 1000) == RangeKind::multi);
    CHECK(parts("bytes=0-99,200-299", 1000) == std::vector<ByteRange>{{0, 99}, {200, 299}});
    CHECK(parts("bytes=200-299,0-99", 1000) == std::vector<ByteRange>{{200, 299}, {0, 99}});
    CHECK(parts("bytes=-100, 0-9 ,500-599", 1000) ==
          std::vector<ByteRange>{{900, 999}, {0, 9}, {500, 599}});
    // 500- overlaps the suffix -100: one part 500-999, where the suffix was asked.
    CHECK(parts("bytes=-100, 0-9 ,500-", 1000) == std::vector<ByteRange>{{500, 999}, {0, 9}});
    CHECK(parts("BYTES = 0-0 , , 2-2", 10) == std::vector<ByteRange>{{0, 0}, {2, 2}});
}

TEST_CASE("parse_ranges: overlapping and touching ranges are coalesced, at the earliest place") {
    CHECK(kind("bytes=0-99,50-199", 1000) == RangeKind::single);
    CHECK(parts("bytes=0-99,50-199", 1000) == std::vector<ByteRange>{{0, 199}});
    CHECK(parts("bytes=0-99,100-199", 1000) == std::vector<ByteRange>{{0, 199}});  // touching
    CHECK(parts("bytes=0-99,101-199", 1000) ==
          std::vector<ByteRange>{{0, 99}, {101, 199}});  // a one-byte gap stays a gap
    // The later spec 10-20 merges into 0-99 (asked second); 500-599 was asked first.
    CHECK(parts("bytes=500-599,10-20,0-99", 1000) == std::vector<ByteRange>{{500, 599}, {0, 99}});
    // A chain: 0-9 and 20-29 join only through 5-25.
    CHECK(parts("bytes=900-,0-9,20-29,5-25", 1000) == std::vector<ByteRange>{{900, 999}, {0, 29}});
    // The same range many times is one part (no byte sent twice).
    CHECK(parts("bytes=0-9,0-9,0-9,0-9", 1000) == std::vector<ByteRange>{{0, 9}});
    CHECK(kind("bytes=0-,-10", 1000) == RangeKind::single);
}

TEST_CASE("parse_ranges: unsatisfiable specs are dropped; all of them: 416") {
    CHECK(parts("bytes=0-9,5000-6000", 1000) == std::vector<ByteRange>{{0, 9}});
    CHECK(kind("bytes=0-9,5000-6000", 1000) == RangeKind::single);
    CHECK(parts("bytes=-0,10-19,1000-", 1000) == std::vector<ByteRange>{{10, 19}});
    CHECK(kind("bytes=1000-,2000-2999", 1000) == RangeKind::unsatisfiable);
    CHECK(kind("bytes=-0,-0", 1000) == RangeKind::unsatisfiable);
    CHECK(kind("bytes=0-1,3-4", 0) == RangeKind::unsatisfiable);
    CHECK(parse_ranges("bytes=1000-,2000-2999", 1000, 64).parts.empty());
    // Clamping as for one range.
    CHECK(parts("bytes=990-5000,0-0", 1000) == std::vector<ByteRange>{{990, 999}, {0, 0}});
}

TEST_CASE("parse_ranges: bad syntax or unit anywhere, or too many parts: the whole object") {
    CHECK(kind("bytes=0-9,x-y", 1000) == RangeKind::none);
    CHECK(kind("bytes=0-9,9-0", 1000) == RangeKind::none);
    CHECK(kind("items=0-9,20-29", 1000) == RangeKind::none);
    CHECK(kind("bytes=", 1000) == RangeKind::none);
    CHECK(kind("bytes=0-1,3-4,6-7", 1000, 3) == RangeKind::multi);
    CHECK(kind("bytes=0-1,3-4,6-7,9-10", 1000, 3) == RangeKind::none);
    // The bound counts parts after coalescing.
    CHECK(kind("bytes=0-1,1-4,4-7,7-10", 1000, 1) == RangeKind::single);
    CHECK(parse_ranges("bytes=0-1,3-4,6-7,9-10", 1000, 3).parts.empty());
}

TEST_CASE("parse_ranges agrees with parse_range on single ranges") {
    for (const char* v : {"bytes=0-0", "bytes=5-", "bytes=-3", "bytes=990-5000", "bytes=-5000",
                          "bytes=1000-", "bytes=-0", "bytes=x"}) {
        CAPTURE(v);
        RangeResult one = parse_range(v, 1000);
        RangeSet set = parse_ranges(v, 1000, 64);
        CHECK(one.kind == set.kind);
        if (one.kind == RangeKind::single) {
            REQUIRE(set.parts.size() == 1);
            CHECK(set.parts[0] == ByteRange{one.first, one.last});
        }
    }
}

TEST_CASE("layout_multipart: exact delimiters, part headers and length") {
    MultipartLayout l =
        layout_multipart({{0, 9}, {20, 24}}, 100, "text/plain; charset=utf-8", "xs3-abc");
    CHECK(l.content_type == "multipart/byteranges; boundary=xs3-abc");
    REQUIRE(l.part_heads.size() == 2);
    CHECK(l.part_heads[0] ==
          "--xs3-abc\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Content-Range: bytes 0-9/100\r\n\r\n");
    CHECK(l.part_heads[1] ==
          "\r\n--xs3-abc\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Content-Range: bytes 20-24/100\r\n\r\n");
    CHECK(l.tail == "\r\n--xs3-abc--\r\n");
    CHECK(l.content_length ==
          l.part_heads[0].size() + 10 + l.part_heads[1].size() + 5 + l.tail.size());

    MultipartLayout untyped = layout_multipart({{5, 5}, {7, 7}}, 8, "", "b");
    CHECK(untyped.part_heads[0] == "--b\r\nContent-Range: bytes 5-5/8\r\n\r\n");
    // A type that could split the part header is left out.
    MultipartLayout bad = layout_multipart({{5, 5}, {7, 7}}, 8, "a\r\nX: y", "b");
    CHECK(bad.part_heads[0] == "--b\r\nContent-Range: bytes 5-5/8\r\n\r\n");
}
