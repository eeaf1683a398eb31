#include <doctest/doctest.h>

#include "xs3/base/units.hpp"

using namespace xs3;

TEST_CASE("parse_size accepts the units xs3lerator documented") {
    CHECK(parse_size("4096").value() == 4096);
    CHECK(parse_size("64KiB").value() == 64 * 1024);
    CHECK(parse_size("1GiB").value() == (1ULL << 30));
    CHECK(parse_size("500GB").value() == 500000000000ULL);
    CHECK(parse_size("1 mib").value() == (1ULL << 20));
    CHECK(parse_size("1.5KiB").value() == 1536);
    CHECK(parse_size("2TiB").value() == (2ULL << 40));
}

TEST_CASE("parse_size rejects junk and overflow") {
    CHECK_FALSE(parse_size("").ok());
    CHECK_FALSE(parse_size("abc").ok());
    CHECK_FALSE(parse_size("-1").ok());
    CHECK_FALSE(parse_size("12XB").ok());
    CHECK_FALSE(parse_size("1.5").ok());
    CHECK_FALSE(parse_size("99999999999999999999").ok());
    CHECK_FALSE(parse_size("20000000PiB").ok());
    CHECK(parse_size("12XB").status().message() ==
          "unknown size unit 'xb' in '12XB' (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)");
}

TEST_CASE("parse_duration") {
    CHECK(parse_duration("15").value().count() == 15000);
    CHECK(parse_duration("250ms").value().count() == 250);
    CHECK(parse_duration("2m").value().count() == 120000);
    CHECK(parse_duration("1.5s").value().count() == 1500);
    CHECK_FALSE(parse_duration("5 days").ok());
}

TEST_CASE("format_size") {
    CHECK(format_size(12) == "12B");
    CHECK(format_size(1536) == "1.5KiB");
    CHECK(format_size(1ULL << 30) == "1GiB");
}
