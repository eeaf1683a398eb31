// curl_fetch against the blocking test server: methods, headers and bodies as sent, statuses and
// headers as received, timeouts, refused connections and oversized answers.
#include "xs3/s3/http_fetch.hpp"

#include <doctest/doctest.h>

#include <cstdlib>

#include "test_server.hpp"

using namespace xs3;
using namespace xs3::s3;
using namespace xs3::s3::testing;
using namespace std::chrono_literals;

namespace {

FetchRequest request_to(const std::string& url, std::string method = "GET") {
    ::setenv("no_proxy", "*", 1);
    FetchRequest r;
    r.method = std::move(method);
    r.url = url;
    r.timeout = 5000ms;
    return r;
}

}  // namespace

TEST_CASE("curl_fetch: GET with headers; status, headers and body come back") {
    TestServer server([](TestServer&, int fd, const Request&) {
        return write_all(fd, response(200, "OK", "role-name\n", "X-Thing:  v1 \r\n"));
    });
    FetchRequest r = request_to(server.url("/latest/meta-data/iam/security-credentials/"));
    r.headers = {{"X-aws-ec2-metadata-token", "tok"}};
    auto got = curl_fetch(r);
    REQUIRE_MESSAGE(got.ok(), got.status().to_string());
    CHECK(got->status == 200);
    CHECK(got->body == "role-name\n");
    REQUIRE(got->header("x-thing") != nullptr);
    CHECK(*got->header("x-thing") == "v1");
    auto seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "GET");
    CHECK(seen[0].path == "/latest/meta-data/iam/security-credentials/");
    CHECK(seen[0].header("x-aws-ec2-metadata-token") == "tok");
}

TEST_CASE("curl_fetch: PUT and POST send exactly their body") {
    TestServer server([](TestServer&, int fd, const Request& req) {
        return write_all(fd, response(200, "OK", req.method + ":" + req.body));
    });
    FetchRequest put = request_to(server.url("/latest/api/token"), "PUT");
    put.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
    auto a = curl_fetch(put);
    REQUIRE_MESSAGE(a.ok(), a.status().to_string());
    CHECK(a->body == "PUT:");
    FetchRequest post = request_to(server.url("/"), "POST");
    post.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    post.body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15";
    auto b = curl_fetch(post);
    REQUIRE_MESSAGE(b.ok(), b.status().to_string());
    CHECK(b->body == "POST:Action=AssumeRoleWithWebIdentity&Version=2011-06-15");
    auto seen = server.seen();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].method == "PUT");
    CHECK(seen[0].header("content-length") == "0");
    CHECK(seen[0].header("content-type").empty());
    CHECK(seen[0].header("x-aws-ec2-metadata-token-ttl-seconds") == "21600");
    CHECK(seen[1].header("content-type") == "application/x-www-form-urlencoded; charset=utf-8");
    CHECK(seen[1].header("expect").empty());
}

TEST_CASE("curl_fetch: error statuses are responses, not failures") {
    TestServer server([](TestServer&, int fd, const Request&) {
        return write_all(fd, response(401, "Unauthorized", "{\"code\":\"x\"}"));
    });
    auto got = curl_fetch(request_to(server.url("/creds")));
    REQUIRE(got.ok());
    CHECK(got->status == 401);
    CHECK(got->body == "{\"code\":\"x\"}");
}

TEST_CASE("curl_fetch: a silent server is a timeout; the message has no query string") {
    TestServer server([](TestServer& s, int, const Request&) {
        s.idle(3s);
        return false;
    });
    FetchRequest r = request_to(server.url("/slow?token=hunter2"));
    r.timeout = 200ms;
    auto got = curl_fetch(r);
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::timeout);
    CHECK(got.status().message().find("GET http://127.0.0.1:") == 0);
    CHECK(got.status().message().find("hunter2") == std::string::npos);
}

TEST_CASE("curl_fetch: refused connections and oversized answers are unavailable") {
    // A port nobody listens on: bind, note the port, close.
    std::string dead_url;
    {
        TestServer gone([](TestServer&, int, const Request&) { return false; });
        dead_url = gone.url("/x");
    }
    auto refused = curl_fetch(request_to(dead_url));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == Code::unavailable);

    TestServer big([](TestServer&, int fd, const Request&) {
        return write_all(fd, response(200, "OK", std::string(5000, 'b')));
    });
    FetchRequest r = request_to(big.url("/big"));
    r.max_response_bytes = 4096;
    auto got = curl_fetch(r);
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::unavailable);
    CHECK(got.status().message().find("larger than 4096 bytes") != std::string::npos);

    auto ftp = curl_fetch(request_to("ftp://127.0.0.1/x"));
    CHECK_FALSE(ftp.ok());
    auto bad_method = curl_fetch(request_to(big.url("/"), "DELETE"));
    CHECK(bad_method.status().code() == Code::invalid_argument);
}
