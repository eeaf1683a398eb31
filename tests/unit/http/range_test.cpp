#include <doctest/doctest.h>

#include "xs3/http/range.hpp"

using namespace xs3::http;

namespace {
void check_single(std::string_view v, uint64_t size, uint64_t first, uint64_t last) {
    CAPTURE(v);
    CAPTURE(size);
    RangeResult r = parse_range(v, size);
    CHECK(r.kind == RangeKind::single);
    CHECK(r.first == first);
    CHECK(r.last == last);
}
RangeKind kind(std::string_view v, uint64_t size) {
    return parse_range(v, size).kind;
}
}  // namespace

TEST_CASE("range: the three forms") {
    check_single("bytes=0-0", 1000, 0, 0);
    check_single("bytes=0-499", 1000, 0, 499);
    check_single("bytes=500-999", 1000, 500, 999);
    check_single("bytes=500-", 1000, 500, 999);
    check_single("bytes=999-", 1000, 999, 999);
    check_single("bytes=-1", 1000, 999, 999);
    check_single("bytes=-500", 1000, 500, 999);
    CHECK(parse_range("bytes=10-19", 1000).length() == 10);
}

TEST_CASE("range: clamping") {
    check_single("bytes=0-1000", 1000, 0, 999);
    check_single("bytes=900-5000", 1000, 900, 999);
    check_single("bytes=-1000", 1000, 0, 999);
    check_single("bytes=-5000", 1000, 0, 999);
    check_single("bytes=0-", 1, 0, 0);
}

TEST_CASE("range: whitespace, case and empty list elements") {
    check_single("bytes= 0-1", 10, 0, 1);
    check_single("  bytes = 0-1  ", 10, 0, 1);
    check_single("Bytes=2-3", 10, 2, 3);
    check_single("BYTES=-2", 10, 8, 9);
    check_single("bytes=, 4-5 ,", 10, 4, 5);
    check_single("bytes=\t4-5", 10, 4, 5);
}

TEST_CASE("range: unsatisfiable") {
    CHECK(kind("bytes=1000-", 1000) == RangeKind::unsatisfiable);
    CHECK(kind("bytes=1000-1000", 1000) == RangeKind::unsatisfiable);
    CHECK(kind("bytes=5000-6000", 1000) == RangeKind::unsatisfiable);
    CHECK(kind("bytes=-0", 1000) == RangeKind::unsatisfiable);
    CHECK(kind("bytes=0-0", 0) == RangeKind::unsatisfiable);
    CHECK(kind("bytes=0-", 0) == RangeKind::unsatisfiable);
    CHECK(kind("bytes=-5", 0) == RangeKind::unsatisfiable);
    CHECK(kind("bytes=-0", 0) == RangeKind::unsatisfiable);
}

TEST_CASE("range: several ranges are multi") {
    CHECK(kind("bytes=0-1,5-6", 100) == RangeKind::multi);
    CHECK(kind("bytes=0-1 , -5", 100) == RangeKind::multi);
    CHECK(kind("bytes=0-1,500-600", 100) == RangeKind::multi);
    CHECK(kind("bytes=0-1,5-6", 0) == RangeKind::multi);
}

TEST_CASE("range: absent, junk and unknown units are ignored") {
    for (std::string_view v :
         {"",           "bytes",       "bytes=",        "bytes=,",       "bytes=-",    "bytes=a-b",
          "bytes=1-a",  "bytes=5-4",   "bytes=0-1,5-4", "bytes=0-1,x",   "bytes=1 -2", "bytes=1- 2",
          "bytes=+1-2", "bytes=--1",   "bytes=-1-",     "bytes=0x10-20", "items=0-1",  "bytes0-1",
          "bytesx=0-1", "bytes=1-2-3", "bytes=1.5-2"}) {
        CAPTURE(v);
        CHECK(kind(v, 1000) == RangeKind::none);
    }
    CHECK(kind("items=0-1", 0) == RangeKind::none);
    CHECK(kind("bytes=5-4", 0) == RangeKind::none);
}

TEST_CASE("range: numbers beyond 64 bits saturate") {
    // UINT64_MAX is 18446744073709551615.
    check_single("bytes=0-18446744073709551615", 1000, 0, 999);
    check_single("bytes=0-99999999999999999999999999", 1000, 0, 999);
    check_single("bytes=-99999999999999999999999999", 1000, 0, 999);
    CHECK(kind("bytes=18446744073709551616-", 1000) == RangeKind::unsatisfiable);
    CHECK(kind("bytes=99999999999999999999999-99999999999999999999999", 1000) ==
          RangeKind::unsatisfiable);
    CHECK(kind("bytes=99999999999999999999999-5", 1000) == RangeKind::none);
    // A large but representable object.
    const uint64_t big = 18446744073709551615ull;
    check_single("bytes=18446744073709551613-", big, big - 2, big - 1);
    check_single("bytes=-2", big, big - 2, big - 1);
}

TEST_CASE("content range values") {
    CHECK(content_range_value(0, 499, 1000) == "bytes 0-499/1000");
    CHECK(content_range_value(999, 999, 1000) == "bytes 999-999/1000");
    CHECK(content_range_value(0, 18446744073709551614ull, 18446744073709551615ull) ==
          "bytes 0-18446744073709551614/18446744073709551615");
    CHECK(unsatisfied_content_range(1000) == "bytes */1000");
    CHECK(unsatisfied_content_range(0) == "bytes */0");
}
