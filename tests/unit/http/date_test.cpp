#include <doctest/doctest.h>

#include "xs3/http/date.hpp"

using namespace xs3::http;

namespace {
constexpr time_t kRfcExample = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
}

TEST_CASE("date: IMF-fixdate formatting") {
    CHECK(format_http_date(kRfcExample) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(format_http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
    CHECK(format_http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
    CHECK(format_http_date(1700000000) == "Tue, 14 Nov 2023 22:13:20 GMT");
    CHECK(format_http_date(4102444799) == "Thu, 31 Dec 2099 23:59:59 GMT");
    CHECK(format_http_date(-1) == "Wed, 31 Dec 1969 23:59:59 GMT");
    CHECK(format_http_date(time_t(1) << 50) == "Fri, 31 Dec 9999 23:59:59 GMT");
    CHECK(format_http_date(-(time_t(1) << 50)) == "Mon, 01 Jan 1900 00:00:00 GMT");
}

TEST_CASE("date: the three accepted forms") {
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == kRfcExample);
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == kRfcExample);
    CHECK(parse_http_date("Sun Nov  6 08:49:37 1994") == kRfcExample);
    CHECK(parse_http_date("Sun Nov 06 08:49:37 1994") == kRfcExample);
    CHECK(parse_http_date("  sun, 06 nov 1994 08:49:37 GMT \t") == kRfcExample);
    CHECK(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
    CHECK(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT") == 951782400);
    // Two-digit years: the nearest not more than 50 years ahead.
    CHECK(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT") == 3155760000);
    CHECK(parse_http_date("Tuesday, 14-Nov-23 22:13:20 GMT") == 1700000000);
    CHECK(parse_http_date("Friday, 01-Jan-99 00:00:00 GMT") == 915148800);
}

TEST_CASE("date: round trip") {
    for (time_t t : {time_t(0), kRfcExample, time_t(951782400), time_t(1700000000),
                     time_t(2147483647), time_t(4102444799), time_t(-86400)}) {
        CAPTURE(t);
        CHECK(parse_http_date(format_http_date(t)) == t);
    }
    for (time_t t = 0; t < 4102444800; t += 86400 * 97 + 3671) {
        REQUIRE(parse_http_date(format_http_date(t)) == t);
    }
}

TEST_CASE("date: rejects junk and out-of-range fields") {
    for (std::string_view s : {
             "",
             "Sun, 06 Nov 1994 08:49:37",
             "Sun, 06 Nov 1994 08:49:37 UTC",
             "Sun, 6 Nov 1994 08:49:37 GMT",
             "Sun 06 Nov 1994 08:49:37 GMT",
             "Sun, 06 Nov 94 08:49:37 GMT",
             "Sun, 06 Foo 1994 08:49:37 GMT",
             "Sun, 31 Nov 1994 08:49:37 GMT",
             "Sun, 29 Feb 1900 08:49:37 GMT",
             "Sun, 00 Nov 1994 08:49:37 GMT",
             "Sun, 06 Nov 1994 24:00:00 GMT",
             "Sun, 06 Nov 1994 08:60:00 GMT",
             "Sun, 06 Nov 1994 08:49:61 GMT",
             "Sun, 06 Nov 1994 08:49:37 GMT x",
             "Xyz, 06 Nov 1994 08:49:37 GMT",
             "Sunday, 06-Nov-1994 08:49:37 GMT",
             "Sunday, 06 Nov 94 08:49:37 GMT",
             "Sun Nov  6 08:49:37 94",
             "Sun Nov   6 08:49:37 1994",
             "Sun Nov 6 08:49:37 1994",
             "1994-11-06T08:49:37Z",
             "784111777",
         }) {
        CAPTURE(s);
        CHECK_FALSE(parse_http_date(s).has_value());
    }
}

TEST_CASE("date: DateCache formats once per second") {
    DateCache c;
    const std::string& a = c.at(kRfcExample);
    CHECK(a == "Sun, 06 Nov 1994 08:49:37 GMT");
    const char* data = c.at(kRfcExample).data();
    CHECK(c.at(kRfcExample).data() == data);  // same second: same string, not reformatted
    CHECK(c.at(kRfcExample + 1) == "Sun, 06 Nov 1994 08:49:38 GMT");
    time_t before = time(nullptr);
    std::string now = c.now();
    time_t after = time(nullptr);
    auto parsed = parse_http_date(now);
    REQUIRE(parsed.has_value());
    CHECK(*parsed >= before);
    CHECK(*parsed <= after);
}
