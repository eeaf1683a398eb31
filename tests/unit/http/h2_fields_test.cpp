#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "xs3/http/h2_fields.hpp"

using namespace xs3::http;
using xs3::Result;

namespace {

using Field = std::pair<std::string, std::string>;

Result<Request> build(const std::vector<Field>& fields, size_t limit = 16384) {
    H2RequestBuilder b(limit);
    for (const auto& [n, v] : fields)
        b.add(n, v);
    return b.finish();
}

std::vector<Field> basic(std::string method = "GET", std::string path = "/b/k") {
    return {{":method", method}, {":scheme", "http"}, {":path", path}, {":authority", "h.example"}};
}

std::string why(const Result<Request>& r) {
    return r.ok() ? std::string("ok") : r.status().message();
}

}  // namespace

TEST_CASE("H2RequestBuilder: pseudo-headers map onto the shared Request") {
    auto fields = basic("GET", "/bucket/a%2Fb?list-type=2&prefix=x");
    fields.emplace_back("accept", "*/*");
    fields.emplace_back("cookie", "a=1");
    fields.emplace_back("range", "bytes=0-9");
    fields.emplace_back("cookie", "b=2");
    auto r = build(fields);
    REQUIRE(r.ok());
    CHECK(r->method == Method::get);
    CHECK(r->method_name == "GET");
    CHECK(r->target == "/bucket/a%2Fb?list-type=2&prefix=x");
    CHECK(r->path == "/bucket/a%2Fb");
    CHECK(r->query == "list-type=2&prefix=x");
    CHECK(r->version_major == 2);
    CHECK(r->version_minor == 0);
    CHECK(r->keep_alive);
    REQUIRE(r->headers.size() == 4);
    CHECK(r->headers[0].name == "host");
    CHECK(r->headers[0].value == "h.example");
    CHECK(r->headers[1].name == "accept");
    CHECK(r->headers[2].name == "range");
    CHECK(*r->headers.get("Cookie") == "a=1; b=2");

    CHECK(build(basic("HEAD"))->method == Method::head);
    CHECK(build(basic("get"))->method == Method::other);  // methods are case-sensitive
    CHECK(build(basic("DELETE"))->method_name == "DELETE");
    CHECK(build(basic("GET", "/"))->query.empty());
    CHECK(build(basic("GET", "/?"))->query.empty());
    CHECK(build(basic("GET", "/?"))->path == "/");
}

TEST_CASE("H2RequestBuilder: optional :authority, matching Host, OPTIONS *, CONNECT") {
    auto r = build({{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "x"}});
    REQUIRE(r.ok());
    CHECK(*r->headers.get("host") == "x");
    auto same = basic();
    same.emplace_back("host", "H.example");
    r = build(same);
    REQUIRE(r.ok());
    CHECK(r->headers.count("host") == 1);
    r = build({{":method", "OPTIONS"}, {":scheme", "http"}, {":path", "*"}});
    REQUIRE(r.ok());
    CHECK(r->path == "*");
    r = build({{":method", "CONNECT"}, {":authority", "h.example:443"}});
    REQUIRE(r.ok());
    CHECK(r->method == Method::other);
    CHECK(r->target == "h.example:443");
    CHECK(r->path.empty());
}

TEST_CASE("H2RequestBuilder: malformed requests name what is wrong") {
    CHECK(why(build({{":scheme", "http"}, {":path", "/"}})) == "missing :method");
    CHECK(why(build({{":method", "GET"}, {":path", "/"}})) == "missing :scheme");
    CHECK(why(build({{":method", "GET"}, {":scheme", "http"}})) == "missing :path");
    CHECK(why(build(basic("GET", ""))) == "empty :path");
    CHECK(why(build(basic("GET", "/a#frag"))) == "fragment in :path");
    CHECK(why(build(basic("GET", "*"))) == ":path * without OPTIONS");
    CHECK(why(build(basic("GET", "http://h/x"))) == ":path not in origin-form");
    auto twice = basic();
    twice.emplace_back(":path", "/again");
    CHECK(why(build(twice)) == "repeated :path");
    auto late = basic();
    late.insert(late.begin() + 3, {"accept", "*/*"});
    CHECK(why(build(late)) == "pseudo-header after a regular field");
    auto repeated = basic();
    repeated.insert(repeated.begin() + 1, {":method", "HEAD"});
    CHECK(why(build(repeated)) == "repeated :method");
    auto unknown = basic();
    unknown.insert(unknown.begin(), {":protocol", "websocket"});
    CHECK(why(build(unknown)) == "unknown pseudo-header :protocol");
    auto host = basic();
    host.emplace_back("host", "other.example");
    CHECK(why(build(host)) == "host differs from :authority");
    CHECK(why(build({{":method", "CONNECT"}, {":authority", "a:1"}, {":path", "/"}})) ==
          ":path or :scheme in CONNECT");
    CHECK(why(build({{":method", "CONNECT"}})) == "CONNECT without :authority");
}

TEST_CASE("H2RequestBuilder: the header list limit counts name + value + 32 per field") {
    // basic(): 7+3 + 7+4 + 5+4 + 10+9 = 49, plus 4 * 32 = 177.
    H2RequestBuilder b(177 + 32 + 2);
    for (const auto& [n, v] : basic())
        b.add(n, v);
    CHECK(b.list_size() == 177);
    b.add("a", "b");  // 34 more: 211, exactly the limit
    CHECK_FALSE(b.oversized());
    b.add("c", "");
    CHECK(b.oversized());
    CHECK(b.list_size() == 211 + 33);
    auto r = b.finish();
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == xs3::Code::out_of_range);
}

TEST_CASE("h2_response_fields: :status first, lowercase, no connection-specific fields") {
    ResponseHead head;
    head.status = 206;
    head.headers.add("Content-Length", "10");
    head.headers.add("ETag", " \"abc\" ");
    head.headers.add("Connection", "keep-alive, X-Hop");
    head.headers.add("X-Hop", "1");
    head.headers.add("Keep-Alive", "timeout=5");
    head.headers.add("Transfer-Encoding", "chunked");
    head.headers.add("Upgrade", "h2c");
    head.headers.add("Proxy-Connection", "x");
    head.headers.add("TE", "trailers");
    head.headers.add("x-amz-meta-Colour", "blue");
    head.headers.add("Bad Name", "v");
    head.headers.add("x-bad-value", "a\r\nb");
    std::vector<H2Field> out;
    CHECK(h2_response_fields(head, out) == 2);
    REQUIRE(out.size() == 4);
    CHECK(out[0].name == ":status");
    CHECK(out[0].value == "206");
    CHECK(out[1].name == "content-length");
    CHECK(out[2].name == "etag");
    CHECK(out[2].value == "\"abc\"");
    CHECK(out[3].name == "x-amz-meta-colour");
    CHECK(out[3].value == "blue");
}

TEST_CASE("h2_response_fields: statuses HTTP/2 cannot send become 500") {
    std::vector<H2Field> out;
    for (int s : {101, 100, 0, 1000, -1}) {
        ResponseHead head;
        head.status = s;
        h2_response_fields(head, out);
        CHECK(out[0].value == "500");
    }
    ResponseHead ok;
    ok.status = 404;
    h2_response_fields(ok, out);
    CHECK(out.size() == 1);
    CHECK(out[0].value == "404");
}

TEST_CASE("remove_connection_fields: what an upgraded HTTP/1.1 request must lose") {
    Headers h;
    h.add("Host", "h");
    h.add("Connection", "Upgrade, HTTP2-Settings");
    h.add("Upgrade", "h2c");
    h.add("HTTP2-Settings", "AAMAAABk");
    h.add("Accept", "*/*");
    remove_connection_fields(h);
    REQUIRE(h.size() == 2);
    CHECK(h[0].name == "Host");
    CHECK(h[1].name == "Accept");
}
