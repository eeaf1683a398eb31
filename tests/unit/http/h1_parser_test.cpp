#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "xs3/http/h1_parser.hpp"

using namespace xs3::http;
using FR = H1Parser::FeedResult;

namespace {

struct Outcome {
    std::vector<Request> requests;
    bool error = false;
    int status = 0;
};

// Feeds each piece the way a connection would: loop until everything of the piece is consumed.
Outcome run_pieces(H1Parser& parser, const std::vector<std::string>& pieces) {
    Outcome out;
    for (const std::string& piece : pieces) {
        size_t off = 0;
        while (true) {
            FR r = parser.feed(piece.data() + off, piece.size() - off);
            REQUIRE(r.consumed <= piece.size() - off);
            off += r.consumed;
            if (r.state == FR::request_ready) {
                out.requests.push_back(parser.take_request());
                if (off == piece.size()) break;
                continue;
            }
            if (r.state == FR::error) {
                out.error = true;
                out.status = parser.error_status();
                return out;
            }
            REQUIRE(off == piece.size());  // need_more means everything was taken
            break;
        }
    }
    return out;
}

Outcome run(std::string_view input, H1Limits limits = {}) {
    H1Parser parser(limits);
    return run_pieces(parser, {std::string(input)});
}

Outcome run_split(std::string_view input, size_t at) {
    H1Parser parser;
    return run_pieces(parser, {std::string(input.substr(0, at)), std::string(input.substr(at))});
}

Outcome run_bytewise(std::string_view input, H1Limits limits = {}) {
    H1Parser parser(limits);
    std::vector<std::string> pieces;
    for (char c : input)
        pieces.emplace_back(1, c);
    return run_pieces(parser, pieces);
}

int status_of(std::string_view input, H1Limits limits = {}) {
    Outcome o = run(input, limits);
    if (!o.error) return 0;
    return o.status;
}

// Both requests of the pipelined buffer below, checked field by field.
void check_pipelined(const Outcome& o) {
    REQUIRE_FALSE(o.error);
    REQUIRE(o.requests.size() == 3);
    const Request& a = o.requests[0];
    CHECK(a.method == Method::get);
    CHECK(a.method_name == "GET");
    CHECK(a.path == "/upload");
    CHECK_FALSE(a.body_unread);
    CHECK(a.headers.size() == 2);
    CHECK(*a.headers.get("content-length") == "11");
    const Request& b = o.requests[1];
    CHECK(b.method == Method::get);
    CHECK(b.path == "/bucket/key%20x");
    CHECK(b.query == "versionId=3&a");
    CHECK(*b.headers.get("X-Amz-Meta") == "value, with  inner space");
    CHECK(b.headers.get("X-Trailer") == nullptr);  // trailers are discarded
    CHECK(b.keep_alive);
    const Request& c = o.requests[2];
    CHECK(c.method == Method::head);
    CHECK(c.method_name == "HEAD");
    CHECK(c.target == "/last");
    CHECK_FALSE(c.keep_alive);
}

const std::string kPipelined =
    "GET /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"
    "GET /bucket/key%20x?versionId=3&a HTTP/1.1\r\nHost: h\r\n"
    "X-Amz-Meta:  value, with  inner space \t\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;ext=1\r\nabcde\r\n0\r\nX-Trailer: t\r\n\r\n"
    "HEAD /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

}  // namespace

TEST_CASE("h1: a simple GET") {
    Outcome o =
        run("GET /b/k?x=1 HTTP/1.1\r\nHost: example\r\nAccept: */*\r\nX-Empty:\r\n"
            "x-dup: 1\r\nX-Dup: 2\r\n\r\n");
    REQUIRE_FALSE(o.error);
    REQUIRE(o.requests.size() == 1);
    const Request& r = o.requests[0];
    CHECK(r.method == Method::get);
    CHECK(r.method_name == "GET");
    CHECK(r.target == "/b/k?x=1");
    CHECK(r.path == "/b/k");
    CHECK(r.query == "x=1");
    CHECK(r.version_major == 1);
    CHECK(r.version_minor == 1);
    CHECK(r.keep_alive);
    CHECK_FALSE(r.upgrade_h2c);
    REQUIRE(r.headers.size() == 5);
    CHECK(r.headers[0].name == "Host");
    CHECK(r.headers[0].value == "example");
    CHECK(r.headers[2].name == "X-Empty");
    CHECK(r.headers[2].value == "");
    CHECK(*r.headers.get("x-dup") == "1");
    CHECK(r.headers.count("X-DUP") == 2);
}

TEST_CASE("h1: pipelined requests come out one at a time with exact consumed counts") {
    const std::string one = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
    const std::string two = "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
    const std::string buf = one + two + "GET /3";
    H1Parser p;
    FR r = p.feed(buf.data(), buf.size());
    CHECK(r.state == FR::request_ready);
    CHECK(r.consumed == one.size());
    // Not taken yet: nothing more is consumed.
    FR again = p.feed(buf.data() + r.consumed, buf.size() - r.consumed);
    CHECK(again.state == FR::request_ready);
    CHECK(again.consumed == 0);
    CHECK(p.take_request().path == "/1");
    r = p.feed(buf.data() + one.size(), buf.size() - one.size());
    CHECK(r.state == FR::request_ready);
    CHECK(r.consumed == two.size());
    CHECK(p.take_request().path == "/2");
    CHECK_FALSE(p.mid_request());
    r = p.feed(buf.data() + one.size() + two.size(), 6);
    CHECK(r.state == FR::need_more);
    CHECK(r.consumed == 6);
    CHECK(p.mid_request());
}

TEST_CASE("h1: pipelined buffer with bodies, whole, byte by byte and at every split point") {
    check_pipelined(run(kPipelined));
    check_pipelined(run_bytewise(kPipelined));
    for (size_t at = 0; at <= kPipelined.size(); ++at) {
        CAPTURE(at);
        check_pipelined(run_split(kPipelined, at));
    }
}

TEST_CASE("h1: header names and values delivered in pieces are joined") {
    const std::string req = "GET / HTTP/1.1\r\nHost: h\r\nX-Long-Name:  abc def  \r\n\r\n";
    for (size_t at = 0; at <= req.size(); ++at) {
        CAPTURE(at);
        Outcome o = run_split(req, at);
        REQUIRE(o.requests.size() == 1);
        REQUIRE(o.requests[0].headers.size() == 2);
        CHECK(o.requests[0].headers[1].name == "X-Long-Name");
        CHECK(o.requests[0].headers[1].value == "abc def");
    }
}

TEST_CASE("h1: keep-alive rules") {
    auto ka = [](std::string_view req) {
        Outcome o = run(req);
        REQUIRE_FALSE(o.error);
        REQUIRE(o.requests.size() == 1);
        return o.requests[0].keep_alive;
    };
    CHECK(ka("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    CHECK_FALSE(ka("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
    CHECK_FALSE(ka("GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive , CLOSE\r\n\r\n"));
    CHECK(ka("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n"));
    CHECK_FALSE(ka("GET / HTTP/1.0\r\n\r\n"));
    CHECK_FALSE(ka("GET / HTTP/1.0\r\nHost: h\r\n\r\n"));
    CHECK(ka("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    CHECK(ka("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    CHECK_FALSE(ka("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"));
}

TEST_CASE("h1: HTTP/1.0 request") {
    Outcome o = run("HEAD /a HTTP/1.0\r\n\r\n");
    REQUIRE(o.requests.size() == 1);
    CHECK(o.requests[0].method == Method::head);
    CHECK(o.requests[0].version_major == 1);
    CHECK(o.requests[0].version_minor == 0);
    CHECK(o.requests[0].headers.empty());
}

TEST_CASE("h1: request-target forms") {
    auto one = [](std::string_view req) {
        Outcome o = run(req);
        REQUIRE_FALSE(o.error);
        REQUIRE(o.requests.size() == 1);
        return o.requests[0];
    };
    Request r = one("GET http://bucket.s3.local:9000/a/b%2Fc?x=1&y HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(r.target == "http://bucket.s3.local:9000/a/b%2Fc?x=1&y");
    CHECK(r.path == "/a/b%2Fc");
    CHECK(r.query == "x=1&y");
    r = one("GET http://host HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(r.path == "/");
    CHECK(r.query == "");
    r = one("GET HTTPS://host?q HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(r.path == "/");
    CHECK(r.query == "q");
    r = one("GET /? HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(r.path == "/");
    CHECK(r.query == "");
    r = one("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(r.method == Method::other);
    CHECK(r.path == "*");
    r = one("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n");
    CHECK(r.method_name == "CONNECT");
    CHECK(r.target == "h:443");
    CHECK(r.path == "");
    CHECK(status_of("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
    CHECK(status_of("GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
    CHECK(status_of("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
}

TEST_CASE("h1: h2c upgrade is flagged and parsing of HTTP/1 goes on") {
    const std::string h2c =
        "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n";
    Outcome o = run(h2c + "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE_FALSE(o.error);
    REQUIRE(o.requests.size() == 2);
    CHECK(o.requests[0].upgrade_h2c);
    CHECK(o.requests[0].keep_alive);
    CHECK_FALSE(o.requests[1].upgrade_h2c);
    CHECK(o.requests[1].path == "/next");

    // Missing HTTP2-Settings, or Upgrade not named in Connection: not an h2c upgrade.
    o = run("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
    REQUIRE(o.requests.size() == 1);
    CHECK_FALSE(o.requests[0].upgrade_h2c);
    o = run("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMA\r\n\r\n");
    REQUIRE(o.requests.size() == 1);
    CHECK_FALSE(o.requests[0].upgrade_h2c);
    o =
        run("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
            "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(o.requests.size() == 2);
    CHECK_FALSE(o.requests[0].upgrade_h2c);
    CHECK(o.requests[1].path == "/2");
}

TEST_CASE("h1: malformed requests answer 400") {
    CHECK(status_of("GET / HTTP/1.1\nHost: h\n\n") == 400);
    CHECK(status_of("FOO / HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost : h\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nX-A: b\r\n\r\n") == 400);  // no Host in 1.1
    CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  folded\r\n\r\n") == 400);
    CHECK(status_of(std::string("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 35)) == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n") == 400);
    CHECK(
        status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx") ==
        400);
    // (GET: a POST with a body is handed over at its head and never framed; see below.)
    CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n") == 400);
    CHECK(status_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400);
    // Chunked alone, in one field, or nothing (request smuggling through codings others read
    // differently).
    CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity, chunked\r\n\r\n"
                    "0\r\n\r\n") == 400);
    CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                    "0\r\n\r\n") == 400);
    CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400);
    CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
                    "0\r\n\r\n") == 400);
    CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
                    "0\r\n\r\n") == 0);
    CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n") == 400);
    CHECK(status_of("GET foo HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nno colon\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") ==
          400);
}

TEST_CASE("h1: obs-fold is caught even when the fold starts a new feed") {
    const std::string req = "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tfolded\r\n\r\n";
    for (size_t at = 0; at <= req.size(); ++at) {
        CAPTURE(at);
        Outcome o = run_split(req, at);
        CHECK(o.error);
        CHECK(o.status == 400);
    }
}

TEST_CASE("h1: unsupported versions answer 505") {
    CHECK(status_of("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == 505);
    CHECK(status_of("GET / HTTP/1.2\r\nHost: h\r\n\r\n") == 505);
    CHECK(status_of("GET / HTTP/3.1\r\nHost: h\r\n\r\n") == 505);
    CHECK(status_of("GET / HTTP/0.9\r\n\r\n") == 505);
    CHECK(status_of("GET /\r\n\r\n") == 505);
}

TEST_CASE("h1: head size limit is exact") {
    // 17 + 9 + 14 + 2 bytes of head.
    const std::string head = "GET /x HTTP/1.1\r\nHost: h\r\nX-Pad: 12345\r\n\r\n";
    REQUIRE(head.size() == 42);
    H1Limits lim;
    lim.max_header_bytes = 42;
    Outcome o = run(head, lim);
    CHECK_FALSE(o.error);
    CHECK(o.requests.size() == 1);
    o = run_bytewise(head, lim);
    CHECK(o.requests.size() == 1);
    // The limit is per request: a second, equally large request passes too.
    o = run(head + head, lim);
    CHECK(o.requests.size() == 2);

    lim.max_header_bytes = 41;
    CHECK(status_of(head, lim) == 431);
    o = run_bytewise(head, lim);
    CHECK(o.error);
    CHECK(o.status == 431);

    // The default 16 KiB limit.
    std::string big = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(17000, 'a') + "\r\n\r\n";
    CHECK(status_of(big) == 431);
    // Endless blank lines before a request are no way around it.
    CHECK(status_of(std::string(20000, '\n')) == 431);
    CHECK(status_of(std::string(20000, '\r')) == 431);
    std::string crlfs;
    for (int i = 0; i < 10000; ++i)
        crlfs += "\r\n";
    CHECK(status_of(crlfs) == 431);
}

TEST_CASE("h1: a request line longer than the head limit answers 414") {
    std::string req = "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n";
    Outcome o = run(req);
    CHECK(o.error);
    CHECK(o.status == 414);
}

TEST_CASE("h1: too many headers answer 431") {
    H1Limits lim;
    lim.max_headers = 3;
    CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", lim) == 0);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", lim) == 431);
    std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < 101; ++i)
        many += "A: 1\r\n";
    CHECK(status_of(many + "\r\n") == 431);
}

TEST_CASE("h1: bodies are discarded and limited") {
    H1Limits lim;
    lim.max_body_bytes = 10;
    std::string ten = "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789";
    Outcome o = run(ten + "GET /after HTTP/1.1\r\nHost: h\r\n\r\n", lim);
    REQUIRE_FALSE(o.error);
    REQUIRE(o.requests.size() == 2);
    CHECK(o.requests[1].path == "/after");

    // Content-Length alone is enough to refuse, before any body byte.
    H1Parser p(lim);
    std::string eleven = "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n";
    FR r = p.feed(eleven.data(), eleven.size());
    CHECK(r.state == FR::error);
    CHECK(p.error_status() == 413);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n") ==
          400);

    std::string chunked_ok =
        "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n";
    o = run_bytewise(chunked_ok, lim);
    CHECK_FALSE(o.error);
    CHECK(o.requests.size() == 1);
    std::string chunked_big =
        "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\n01234\r\n6\r\n567890\r\n0\r\n\r\n";
    CHECK(status_of(chunked_big, lim) == 413);
    // Trailers count against the body limit too.
    std::string trailers = "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" +
                           std::string("X-T: ") + std::string(20, 'a') + "\r\n\r\n";
    CHECK(status_of(trailers, lim) == 413);
}

TEST_CASE("h1: a request other than GET/HEAD with a body is handed over at the end of its head") {
    const std::string head =
        "PUT /b/k?uploads HTTP/1.1\r\nHost: h\r\nContent-Length: 5242880\r\n"
        "Expect: 100-continue\r\n\r\n";
    H1Parser p;  // the 1 MiB body limit does not apply: the body is never read
    FR r = p.feed(head.data(), head.size());
    CHECK(r.state == FR::request_ready);
    CHECK(r.consumed == head.size());
    Request req = p.take_request();
    CHECK(req.method_name == "PUT");
    CHECK(req.path == "/b/k");
    CHECK(req.query == "uploads");
    CHECK(req.body_unread);
    CHECK_FALSE(req.keep_alive);
    CHECK(*req.headers.get("expect") == "100-continue");
    CHECK_FALSE(p.mid_request());
    // Whatever follows (the body, or what looks like another request) is dropped.
    const std::string more = "0123456789GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    r = p.feed(more.data(), more.size());
    CHECK(r.state == FR::need_more);
    CHECK(r.consumed == more.size());
    p.reset();
    const std::string get = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    CHECK(p.feed(get.data(), get.size()).state == FR::request_ready);

    // Chunked, and byte by byte: the same, at the same place.
    Outcome o = run_bytewise(
        "POST /b?delete HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
    REQUIRE(o.requests.size() == 1);
    CHECK(o.requests[0].body_unread);
    CHECK(o.requests[0].method_name == "POST");

    // Without a body it is an ordinary request on a connection that stays open.
    o =
        run("DELETE /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"
            "DELETE /b/j HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(o.requests.size() == 2);
    CHECK_FALSE(o.requests[0].body_unread);
    CHECK(o.requests[0].keep_alive);
    CHECK(o.requests[1].path == "/b/j");
}

TEST_CASE("h1: a GET or HEAD with a body and Expect: 100-continue is ready at its head") {
    // The client waits for a 100 before sending the body; none comes, so the answer must not
    // wait for the body either.
    const std::string head =
        "GET /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-Continue\r\n\r\n";
    H1Parser p;
    FR r = p.feed(head.data(), head.size());
    CHECK(r.state == FR::request_ready);
    CHECK(r.consumed == head.size());
    Request req = p.take_request();
    CHECK(req.method == Method::get);
    CHECK(req.path == "/b/k");
    CHECK(req.body_unread);
    CHECK_FALSE(req.keep_alive);
    CHECK_FALSE(p.mid_request());
    const std::string body = "hello";
    r = p.feed(body.data(), body.size());
    CHECK(r.state == FR::need_more);  // dropped, never a second request

    Outcome o = run_bytewise(
        "HEAD /k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
        "Expect: 100-continue\r\n\r\n5\r\nab");
    REQUIRE(o.requests.size() == 1);
    CHECK(o.requests[0].method == Method::head);
    CHECK(o.requests[0].body_unread);

    // Without a body, or in HTTP/1.0 (RFC 9110 10.1.1: the expectation is ignored there), or
    // without the expectation, the body is read and the connection stays open.
    o =
        run("GET /a HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n"
            "GET /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
            "GET /c HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n"
            "Connection: keep-alive\r\n\r\nxyz"
            "GET /d HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(o.requests.size() == 4);
    for (const Request& q : o.requests) {
        CHECK_FALSE(q.body_unread);
        CHECK(q.keep_alive);
    }
    CHECK(o.requests[3].path == "/d");
}

TEST_CASE("h1: an error says which request it is for") {
    H1Limits lim;
    lim.max_header_bytes = 64;
    H1Parser p(lim);
    std::string big = "GET /some/key HTTP/1.1\r\nHost: h\r\nX-Pad: " + std::string(100, 'p');
    FR r = p.feed(big.data(), big.size());
    CHECK(r.state == FR::error);
    CHECK(p.error_status() == 431);
    CHECK(p.current_method() == "GET");
    CHECK(p.current_target() == "/some/key");
}

TEST_CASE("h1: errors are sticky until reset") {
    H1Parser p;
    std::string bad = "GET / HTTP/1.1\nHost: h\n\n";
    FR r = p.feed(bad.data(), bad.size());
    CHECK(r.state == FR::error);
    CHECK(p.failed());
    CHECK(p.error_status() == 400);
    CHECK_FALSE(p.error_reason().empty());
    std::string good = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    r = p.feed(good.data(), good.size());
    CHECK(r.state == FR::error);
    CHECK(r.consumed == 0);
    p.reset();
    CHECK_FALSE(p.failed());
    CHECK(p.error_status() == 0);
    r = p.feed(good.data(), good.size());
    CHECK(r.state == FR::request_ready);
    CHECK(r.consumed == good.size());
    CHECK(p.take_request().path == "/");
}

TEST_CASE("h1: reset drops a half-parsed request") {
    H1Parser p;
    std::string half = "GET /half HTTP/1.1\r\nHost: h\r\nX-";
    CHECK(p.feed(half.data(), half.size()).state == FR::need_more);
    CHECK(p.mid_request());
    p.reset();
    CHECK_FALSE(p.mid_request());
    std::string good = "GET /whole HTTP/1.1\r\nHost: h\r\n\r\n";
    FR r = p.feed(good.data(), good.size());
    REQUIRE(r.state == FR::request_ready);
    Request req = p.take_request();
    CHECK(req.path == "/whole");
    CHECK(req.headers.size() == 1);
}

TEST_CASE("junk after the version is a malformed request (400), not an unsupported version") {
    xs3::http::H1Parser p;
    std::string req = "GET /x HTTP/1.1 trailing\r\nHost: x\r\n\r\n";
    auto r = p.feed(req.data(), req.size());
    CHECK(r.state == xs3::http::H1Parser::FeedResult::error);
    CHECK(p.error_status() == 400);
}
