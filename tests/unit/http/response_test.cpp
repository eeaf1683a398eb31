#include <doctest/doctest.h>

#include "xs3/http/response.hpp"
#include "xs3_build_config.h"

using namespace xs3::http;

TEST_CASE("response: head serialization, exact bytes") {
    ResponseHead h;
    h.status = 206;
    h.headers.add("Content-Length", "100");
    h.headers.add("Content-Range", "bytes 0-99/1000");
    h.headers.add("ETag", "\"abc\"");
    h.headers.add("x-amz-meta-empty", "");
    std::string out = "prefix|";
    CHECK(serialize_response_head(h, out) == 0);
    CHECK(out ==
          "prefix|HTTP/1.1 206 Partial Content\r\nContent-Length: 100\r\n"
          "Content-Range: bytes 0-99/1000\r\nETag: \"abc\"\r\nx-amz-meta-empty: \r\n\r\n");

    ResponseHead bare;
    out.clear();
    CHECK(serialize_response_head(bare, out) == 0);
    CHECK(out == "HTTP/1.1 200 OK\r\n\r\n");
}

TEST_CASE("response: status codes and reasons") {
    CHECK(reason_phrase(200) == "OK");
    CHECK(reason_phrase(304) == "Not Modified");
    CHECK(reason_phrase(400) == "Bad Request");
    CHECK(reason_phrase(404) == "Not Found");
    CHECK(reason_phrase(405) == "Method Not Allowed");
    CHECK(reason_phrase(412) == "Precondition Failed");
    CHECK(reason_phrase(413) == "Content Too Large");
    CHECK(reason_phrase(414) == "URI Too Long");
    CHECK(reason_phrase(416) == "Range Not Satisfiable");
    CHECK(reason_phrase(431) == "Request Header Fields Too Large");
    CHECK(reason_phrase(502) == "Bad Gateway");
    CHECK(reason_phrase(503) == "Service Unavailable");
    CHECK(reason_phrase(505) == "HTTP Version Not Supported");
    CHECK(reason_phrase(299) == "");

    std::string out;
    ResponseHead h;
    h.status = 299;
    (void)serialize_response_head(h, out);
    CHECK(out == "HTTP/1.1 299 \r\n\r\n");
    for (int bad : {0, 99, 1000, -200}) {
        out.clear();
        h.status = bad;
        (void)serialize_response_head(h, out);
        CHECK(out == "HTTP/1.1 500 Internal Server Error\r\n\r\n");
    }
}

TEST_CASE("response: fields that could split a response are left out") {
    ResponseHead h;
    h.status = 200;
    h.headers.add("A", "ok");
    h.headers.add("X-Evil", "v\r\nSet-Cookie: x=1");
    h.headers.add("X-Lf", "v\nw");
    h.headers.add("X-Cr", "v\rw");
    h.headers.add("X-Nul", std::string("v\0w", 3));
    h.headers.add("X-Ctl", "v\x01w");
    h.headers.add("X-Del", "v\x7fw");
    h.headers.add("Bad Name", "v");
    h.headers.add("Bad:Name", "v");
    h.headers.add("", "v");
    h.headers.add("Bad\r\nName", "v");
    h.headers.add("X-Tab", "a\tb");
    h.headers.add("X-Utf8", "caf\xc3\xa9");
    h.headers.add("Z", "last");
    std::string out;
    CHECK(serialize_response_head(h, out) == 10);
    CHECK(out ==
          "HTTP/1.1 200 OK\r\nA: ok\r\nX-Tab: a\tb\r\nX-Utf8: caf\xc3\xa9\r\nZ: last\r\n\r\n");
}

TEST_CASE("response: field validity helpers") {
    CHECK(valid_field_name("x-amz-meta-foo"));
    CHECK_FALSE(valid_field_name("x amz"));
    CHECK_FALSE(valid_field_name(""));
    CHECK(valid_field_value(""));
    CHECK(valid_field_value("\"etag\" W/x, y=1"));
    CHECK_FALSE(valid_field_value("a\r"));
    CHECK_FALSE(valid_field_value(std::string("\0", 1)));
}

TEST_CASE("response: Server value carries the build version") {
    CHECK(server_header_value() == std::string("xs3lerator/") + XS3_VERSION);
    CHECK(server_header_value().substr(0, 11) == "xs3lerator/");
    CHECK(server_header_value().size() > 11);
}
