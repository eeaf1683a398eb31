// CurlClient against the tiny blocking HTTP/1.1 server of test_server.hpp, which serves canned,
// sometimes misbehaving, responses.
#include "xs3/s3/curl_client.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <functional>

#include "test_server.hpp"

using namespace xs3;
using namespace xs3::s3;
using namespace xs3::s3::testing;
using namespace std::chrono_literals;

namespace {

struct Recorder : TransferHandler {
    int heads = 0;
    int chunks = 0;
    int completes = 0;
    int after_complete = 0;  // callbacks that came after on_complete
    bool body_before_head = false;
    HttpResponseHead head;
    std::string body;
    Status status;
    std::function<size_t(const char*, size_t)> body_hook;  // replaces the default append
    std::function<void()> head_hook;                       // runs after on_head recorded

    void on_head(const HttpResponseHead& h) noexcept override {
        if (completes > 0) ++after_complete;
        ++heads;
        head = h;
        if (head_hook) head_hook();
    }
    size_t on_body(const char* data, size_t len) noexcept override {
        if (completes > 0) ++after_complete;
        if (heads == 0) body_before_head = true;
        ++chunks;
        if (body_hook) return body_hook(data, len);
        body.append(data, len);
        return len;
    }
    void on_complete(const Status& s) noexcept override {
        if (completes > 0) ++after_complete;
        ++completes;
        status = s;
    }
    int callbacks() const { return heads + chunks + completes; }
};

std::unique_ptr<ring::Ring> make_ring() {
    auto r = ring::Ring::create(ring::RingOptions{});
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    return std::move(r).value();
}

std::unique_ptr<CurlClient> make_client(ring::Ring& ring, CurlClient::Options o = {}) {
    ::setenv("no_proxy", "*", 1);  // a proxy from the environment must not see test traffic
    auto c = CurlClient::create(ring, o);
    REQUIRE_MESSAGE(c.ok(), c.status().to_string());
    return std::move(c).value();
}

template <class Pred>
bool run_until(ring::Ring& ring, Pred pred, std::chrono::milliseconds limit = 2000ms) {
    auto deadline = ring::Clock::now() + limit;
    while (!pred() && ring::Clock::now() < deadline)
        ring.run_once(10ms);
    return pred();
}

void run_for(ring::Ring& ring, std::chrono::milliseconds d) {
    auto deadline = ring::Clock::now() + d;
    while (ring::Clock::now() < deadline)
        ring.run_once(5ms);
}

HttpRequest get(const std::string& url) {
    HttpRequest r;
    r.url = url;
    return r;
}

}  // namespace

TEST_CASE("GET delivers a large body exactly, in pieces, then ok") {
    const std::string body = make_body(1536 * 1024 + 123, 1);
    TestServer server([&](TestServer&, int fd, const Request&) {
        std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\nETag: \"e1\"\r\n\r\n";
        if (!write_all(fd, head)) return false;
        // Odd piece sizes so reads straddle them.
        return write_all(fd, body, 70001);
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    client->start(get(server.url("/big")), &rec);
    CHECK(client->active() == 1);
    REQUIRE(run_until(*ring, [&] { return rec.completes == 1; }));
    CHECK_MESSAGE(rec.status.ok(), rec.status.to_string());
    CHECK(rec.heads == 1);
    CHECK(rec.head.status == 200);
    CHECK_FALSE(rec.body_before_head);
    CHECK(rec.chunks > 1);
    CHECK(rec.body.size() == body.size());
    CHECK(rec.body == body);
    REQUIRE(rec.head.get("etag") != nullptr);
    CHECK(*rec.head.get("etag") == "\"e1\"");
    CHECK(client->active() == 0);
    run_for(*ring, 20ms);
    CHECK(rec.after_complete == 0);
}

TEST_CASE("HEAD gets the head only; request headers are sent as given") {
    TestServer server([&](TestServer&, int fd, const Request& req) {
        if (req.method != "HEAD") return write_all(fd, response(400, "Bad", "want HEAD"));
        return write_all(fd,
                         "HTTP/1.1 200 OK\r\nContent-Length: 12345\r\nX-Amz-Meta-A: one\r\n\r\n");
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    HttpRequest req = get(server.url("/obj?versionId=1"));
    req.method = "HEAD";
    req.headers = {{"Authorization", "AWS4-HMAC-SHA256 Credential=x"},
                   {"x-amz-date", "20130524T000000Z"},
                   {"X-Empty", ""}};
    client->start(req, &rec);
    REQUIRE(run_until(*ring, [&] { return rec.completes == 1; }));
    CHECK_MESSAGE(rec.status.ok(), rec.status.to_string());
    CHECK(rec.heads == 1);
    CHECK(rec.head.status == 200);
    CHECK(rec.chunks == 0);
    REQUIRE(rec.head.get("content-length") != nullptr);
    CHECK(*rec.head.get("content-length") == "12345");
    REQUIRE(rec.head.get("x-amz-meta-a") != nullptr);
    CHECK(*rec.head.get("x-amz-meta-a") == "one");
    auto seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "HEAD");
    CHECK(seen[0].path == "/obj?versionId=1");
    CHECK(seen[0].raw.find("\r\nAuthorization: AWS4-HMAC-SHA256 Credential=x\r\n") !=
          std::string::npos);
    CHECK(seen[0].raw.find("\r\nx-amz-date: 20130524T000000Z\r\n") != std::string::npos);
    CHECK(seen[0].raw.find("\r\nX-Empty:") != std::string::npos);
}

TEST_CASE("cancel from on_head of a bodiless response suppresses on_complete") {
    TestServer server([&](TestServer&, int fd, const Request&) {
        return write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    HttpRequest req = get(server.url("/h"));
    req.method = "HEAD";
    CurlClient::TransferId id = 0;
    rec.head_hook = [&] { client->cancel(id); };
    id = client->start(req, &rec);
    REQUIRE(run_until(*ring, [&] { return rec.heads == 1; }));
    run_for(*ring, 50ms);
    CHECK(rec.completes == 0);
    CHECK(client->active() == 0);
}

TEST_CASE("response headers: lowercased, trimmed, repeated ones kept in order, 1xx skipped") {
    TestServer server([&](TestServer&, int fd, const Request&) {
        return write_all(fd,
                         "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
                         "HTTP/1.1 200 OK\r\nContent-Type:  text/plain \r\nX-Multi: a\r\n"
                         "X-MULTI:b\r\nContent-Length: 5\r\n\r\nhello");
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    client->start(get(server.url("/h")), &rec);
    REQUIRE(run_until(*ring, [&] { return rec.completes == 1; }));
    CHECK_MESSAGE(rec.status.ok(), rec.status.to_string());
    CHECK(rec.heads == 1);
    CHECK(rec.head.status == 200);
    std::vector<std::pair<std::string, std::string>> want = {{"content-type", "text/plain"},
                                                             {"x-multi", "a"},
                                                             {"x-multi", "b"},
                                                             {"content-length", "5"}};
    CHECK(rec.head.headers == want);
    CHECK(rec.head.get("x-interim") == nullptr);
    CHECK(*rec.head.get("x-multi") == "a");
    CHECK(rec.body == "hello");
}

TEST_CASE("404 with a body and 304 without one are responses, not errors") {
    const std::string error_xml = "<Error><Code>NoSuchKey</Code></Error>";
    TestServer server([&](TestServer&, int fd, const Request& req) {
        if (req.path == "/missing") return write_all(fd, response(404, "Not Found", error_xml));
        return write_all(fd, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder missing, same;
    client->start(get(server.url("/missing")), &missing);
    client->start(get(server.url("/same")), &same);
    REQUIRE(run_until(*ring, [&] { return missing.completes == 1 && same.completes == 1; }));
    CHECK_MESSAGE(missing.status.ok(), missing.status.to_string());
    CHECK(missing.head.status == 404);
    CHECK(missing.body == error_xml);
    CHECK_MESSAGE(same.status.ok(), same.status.to_string());
    CHECK(same.heads == 1);
    CHECK(same.head.status == 304);
    CHECK(same.chunks == 0);
}

TEST_CASE("on_body returning 0 pauses; resume from a timer hands the same bytes again") {
    const std::string body = make_body(1024 * 1024, 7);
    TestServer server([&](TestServer&, int fd, const Request&) {
        return write_all(fd, response(200, "OK", body), 32768);
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    CurlClient::TransferId id = 0;
    int pauses = 0;
    bool paused = false;
    int calls_while_paused = 0;
    std::string refused;
    int redelivered_ok = 0;
    rec.body_hook = [&](const char* data, size_t len) -> size_t {
        if (paused) ++calls_while_paused;
        if (!refused.empty()) {
            // The first delivery after a resume starts with the refused bytes.
            if (std::string_view(data, len).substr(0, refused.size()) == refused) ++redelivered_ok;
            refused.clear();
        }
        size_t next_mark = static_cast<size_t>(pauses + 1) * 200 * 1024;
        if (pauses < 3 && rec.body.size() + len >= next_mark) {
            ++pauses;
            paused = true;
            refused.assign(data, std::min<size_t>(len, 4096));
            ring->add_timer(30ms, [&] {
                paused = false;
                client->resume(id);
            });
            return 0;
        }
        rec.body.append(data, len);
        return len;
    };
    id = client->start(get(server.url("/p")), &rec);
    REQUIRE(run_until(*ring, [&] { return rec.completes == 1; }));
    CHECK_MESSAGE(rec.status.ok(), rec.status.to_string());
    CHECK(pauses == 3);
    CHECK(redelivered_ok == 3);
    CHECK(calls_while_paused == 0);
    CHECK(rec.body.size() == body.size());
    CHECK(rec.body == body);
}

TEST_CASE("pause() from outside holds the body back until resume()") {
    const std::string body = make_body(300 * 1024, 8);
    TestServer server([&](TestServer&, int fd, const Request&) {
        return write_all(fd, response(200, "OK", body), 16384);
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    CurlClient::TransferId id = client->start(get(server.url("/q")), &rec);
    client->pause(id);
    run_for(*ring, 100ms);
    CHECK(rec.heads == 1);  // the head is not held back
    CHECK(rec.body.empty());
    CHECK(rec.completes == 0);
    client->resume(id);
    REQUIRE(run_until(*ring, [&] { return rec.completes == 1; }));
    CHECK_MESSAGE(rec.status.ok(), rec.status.to_string());
    CHECK(rec.body == body);
}

TEST_CASE("a body cut short before Content-Length is an error") {
    TestServer server([&](TestServer&, int fd, const Request&) {
        write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(500, 'x'));
        ::shutdown(fd, SHUT_RDWR);
        return false;
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    client->start(get(server.url("/short")), &rec);
    REQUIRE(run_until(*ring, [&] { return rec.completes == 1; }));
    CHECK_FALSE(rec.status.ok());
    CHECK(rec.status.code() == Code::unavailable);
    CHECK(rec.body == std::string(500, 'x'));
    CHECK(rec.heads == 1);
}

TEST_CASE("connection refused is unavailable with curl's error text") {
    // A port that was just bound and closed: nothing listens on it.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    client->start(get("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/x?secret=1"),
                  &rec);
    CHECK(rec.completes == 0);  // never synchronously from start()
    REQUIRE(run_until(*ring, [&] { return rec.completes == 1; }));
    CHECK(rec.status.code() == Code::unavailable);
    CHECK(rec.status.message().find("GET http://127.0.0.1:") == 0);
    CHECK(rec.status.message().find("secret") == std::string::npos);
    CHECK(rec.status.message().find("(curl 7)") != std::string::npos);
    CHECK(rec.heads == 0);
}

TEST_CASE("a bad URL fails through on_complete on a later turn") {
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    client->start(get("gopherx://127.0.0.1/x"), &rec);
    CHECK(rec.completes == 0);
    REQUIRE(run_until(*ring, [&] { return rec.completes == 1; }));
    CHECK(rec.status.code() == Code::invalid_argument);
}

TEST_CASE("a server that never answers hits total_timeout") {
    TestServer server([&](TestServer& s, int, const Request&) {
        s.idle(5s);
        return false;
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    HttpRequest req = get(server.url("/stall"));
    req.total_timeout = 300ms;
    auto t0 = ring::Clock::now();
    client->start(req, &rec);
    REQUIRE(run_until(*ring, [&] { return rec.completes == 1; }));
    auto took = ring::Clock::now() - t0;
    CHECK(rec.status.code() == Code::timeout);
    CHECK(took >= 250ms);
    CHECK(took < 1500ms);
}

TEST_CASE("a body that stops flowing hits low_speed_timeout") {
    TestServer server([&](TestServer& s, int fd, const Request&) {
        write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
        s.idle(5s);
        return false;
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    HttpRequest req = get(server.url("/slow"));
    req.low_speed_timeout = 1000ms;
    auto t0 = ring::Clock::now();
    client->start(req, &rec);
    REQUIRE(run_until(
        *ring, [&] { return rec.completes == 1; }, 3000ms));
    auto took = ring::Clock::now() - t0;
    CHECK(rec.status.code() == Code::timeout);
    CHECK(took >= 900ms);
    CHECK(took < 2500ms);
}

TEST_CASE("20 concurrent transfers on one ring each get their own bytes") {
    TestServer server([&](TestServer&, int fd, const Request& req) {
        int n = std::stoi(req.path.substr(std::string("/obj/").size()));
        return write_all(fd, response(200, "OK", make_body(50000 + 3001 * n, n)), 8192);
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    constexpr int kN = 20;
    std::vector<Recorder> recs(kN);
    for (int i = 0; i < kN; ++i)
        client->start(get(server.url("/obj/" + std::to_string(i))), &recs[i]);
    CHECK(client->active() == kN);
    REQUIRE(run_until(*ring, [&] {
        for (auto& r : recs)
            if (r.completes == 0) return false;
        return true;
    }));
    for (int i = 0; i < kN; ++i) {
        CAPTURE(i);
        CHECK_MESSAGE(recs[i].status.ok(), recs[i].status.to_string());
        CHECK(recs[i].completes == 1);
        CHECK(recs[i].body == make_body(50000 + 3001 * i, i));
    }
    CHECK(server.requests() == kN);
    CHECK(server.connections() <= kN);
    CHECK(client->active() == 0);
}

TEST_CASE("sequential transfers reuse the connection; on_complete may start the next") {
    TestServer server([&](TestServer&, int fd, const Request& req) {
        return write_all(fd, response(200, "OK", "body of " + req.path));
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder first, second;
    struct Chain : TransferHandler {
        Recorder* inner;
        std::function<void()> then;
        void on_head(const HttpResponseHead& h) noexcept override { inner->on_head(h); }
        size_t on_body(const char* d, size_t l) noexcept override { return inner->on_body(d, l); }
        void on_complete(const Status& s) noexcept override {
            inner->on_complete(s);
            then();
        }
    } chain;
    chain.inner = &first;
    chain.then = [&] { client->start(get(server.url("/two")), &second); };
    client->start(get(server.url("/one")), &chain);
    REQUIRE(run_until(*ring, [&] { return second.completes == 1; }));
    CHECK(first.body == "body of /one");
    CHECK(second.body == "body of /two");
    CHECK(second.status.ok());
    CHECK(server.requests() == 2);
    CHECK(server.connections() == 1);
}

TEST_CASE("cancel mid-transfer stops all callbacks and the client keeps working") {
    TestServer server([&](TestServer& s, int fd, const Request& req) {
        if (req.path == "/ok") return write_all(fd, response(200, "OK", "fine"));
        write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n" +
                          std::string(64 * 1024, 'y'));
        s.idle(5s);
        return false;
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    CurlClient::TransferId id = 0;

    SUBCASE("from inside on_body") {
        rec.body_hook = [&](const char* d, size_t l) -> size_t {
            rec.body.append(d, l);
            client->cancel(id);
            return l;
        };
        id = client->start(get(server.url("/slow")), &rec);
        REQUIRE(run_until(*ring, [&] { return rec.chunks > 0; }));
        CHECK(rec.chunks == 1);
    }
    SUBCASE("from a timer, between callbacks") {
        id = client->start(get(server.url("/slow")), &rec);
        REQUIRE(run_until(*ring, [&] { return rec.body.size() == 64 * 1024; }));
        ring->add_timer(1ms, [&] { client->cancel(id); });
    }
    int before = rec.callbacks();
    run_for(*ring, 150ms);
    CHECK(rec.callbacks() == before);
    CHECK(rec.completes == 0);
    CHECK(client->active() == 0);
    client->cancel(id);  // a second cancel is harmless

    Recorder ok;
    client->start(get(server.url("/ok")), &ok);
    REQUIRE(run_until(*ring, [&] { return ok.completes == 1; }));
    CHECK(ok.status.ok());
    CHECK(ok.body == "fine");
}

TEST_CASE("destroying the client with transfers active: no callbacks, no leaks") {
    TestServer server([&](TestServer& s, int fd, const Request&) {
        write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n" +
                          std::string(100 * 1024, 'z'));
        s.idle(5s);
        return false;
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    std::vector<Recorder> recs(5);
    for (auto& r : recs)
        client->start(get(server.url("/stuck")), &r);
    REQUIRE(run_until(*ring, [&] {
        for (auto& r : recs)
            if (r.body.size() < 100 * 1024) return false;
        return true;
    }));
    // One more that has not even reached the multi's first socket_action.
    Recorder fresh;
    client->start(get(server.url("/stuck")), &fresh);
    int before = 0;
    for (auto& r : recs)
        before += r.callbacks();
    // Earlier tests may have destroyed rings before their last CQEs: those stay counted.
    size_t base = CurlClient::sockets_awaiting_cqe();
    client.reset();
    CHECK(CurlClient::sockets_awaiting_cqe() >= base + 5);  // their polls were in flight
    run_for(*ring, 50ms);  // the cancelled polls' CQEs free their socket state
    CHECK(CurlClient::sockets_awaiting_cqe() == base);
    int after = 0;
    for (auto& r : recs)
        after += r.callbacks();
    CHECK(after == before);
    CHECK(fresh.callbacks() == 0);
}

TEST_CASE("first_byte_timeout: no response head in time is Code::timeout, without on_head") {
    TestServer server([&](TestServer& s, int, const Request&) {
        s.idle(5s);  // reads the request, never answers
        return false;
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    HttpRequest req = get(server.url("/silent?X-Amz-Signature=secret"));
    req.first_byte_timeout = 200ms;
    req.low_speed_timeout = 0ms;
    client->start(req, &rec);
    REQUIRE(run_until(
        *ring, [&] { return rec.completes == 1; }, 3000ms));
    CHECK(rec.status.code() == Code::timeout);
    CHECK(rec.status.message().find("no response head within 200 ms") != std::string::npos);
    CHECK(rec.status.message().find("secret") == std::string::npos);  // no query in messages
    CHECK(rec.heads == 0);
    CHECK(client->active() == 0);
    run_for(*ring, 50ms);
    CHECK(rec.callbacks() == 1);
}

TEST_CASE("first_byte_timeout stops at the head: a slow body after it completes") {
    TestServer server([&](TestServer& s, int fd, const Request&) {
        if (!write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nab")) return false;
        s.idle(1200ms);  // longer than the first-byte limit, shorter than the low-speed window
        return write_all(fd, "cdef");
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    HttpRequest req = get(server.url("/slow-body"));
    req.first_byte_timeout = 500ms;
    client->start(req, &rec);
    REQUIRE(run_until(
        *ring, [&] { return rec.completes == 1; }, 5000ms));
    CHECK_MESSAGE(rec.status.ok(), rec.status.to_string());
    CHECK(rec.body == "abcdef");
    CHECK(rec.heads == 1);
}

TEST_CASE("first_byte_timeout: a cancelled transfer's timer never fires") {
    TestServer server([&](TestServer& s, int, const Request&) {
        s.idle(5s);
        return false;
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    HttpRequest req = get(server.url("/silent"));
    req.first_byte_timeout = 50ms;
    auto id = client->start(req, &rec);
    run_for(*ring, 10ms);
    client->cancel(id);
    run_for(*ring, 150ms);
    CHECK(rec.callbacks() == 0);
    // And a client destroyed with a timer pending leaves nothing behind to fire.
    Recorder other;
    client->start(req, &other);
    client.reset();
    run_for(*ring, 150ms);
    CHECK(other.callbacks() == 0);
}

TEST_CASE("low_speed_limit: a body trickling below the limit times out") {
    TestServer server([&](TestServer& s, int fd, const Request&) {
        if (!write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")) return false;
        // ~100 bytes/s: far above curl's default 1 byte/s, far below the 10000 asked for.
        while (!s.stopping() && write_all(fd, std::string(10, 'x')))
            s.idle(100ms);
        return false;
    });
    auto ring = make_ring();
    auto client = make_client(*ring);
    Recorder rec;
    HttpRequest req = get(server.url("/trickle"));
    req.low_speed_limit = 10000;
    req.low_speed_timeout = 1000ms;
    client->start(req, &rec);
    REQUIRE(run_until(
        *ring, [&] { return rec.completes == 1; }, 6000ms));
    CHECK(rec.status.code() == Code::timeout);
    CHECK(rec.heads == 1);
    CHECK(rec.body.size() < 1000);
}

TEST_CASE("connections_per_worker shares a total cap") {
    CHECK(connections_per_worker(64, 0, 4) == 64);  // no total cap
    CHECK(connections_per_worker(0, 0, 4) == 0);    // no cap at all
    CHECK(connections_per_worker(64, 100, 4) == 25);
    CHECK(connections_per_worker(64, 101, 4) == 26);  // rounded up
    CHECK(connections_per_worker(10, 100, 4) == 10);  // the per-worker cap is smaller
    CHECK(connections_per_worker(64, 3, 8) == 1);     // never below one
    CHECK(connections_per_worker(0, 100, 3) == 34);
    CHECK(connections_per_worker(64, 100, 0) == 64);  // 0 workers counts as one
}

TEST_CASE("curl_features reports the linked libcurl") {
    CurlFeatures f = curl_features();
    CHECK_FALSE(f.version.empty());
    // The build depends on libcurl with TLS (Debian's libcurl4-openssl-dev).
    CHECK(f.https);
    CHECK_FALSE(f.ssl_version.empty());
}
