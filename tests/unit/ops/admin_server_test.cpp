// Tests of the admin server over real sockets on a free loopback port: routes, keep-alive,
// protocol errors, the connection cap, purge removing a real cache file, and stop().
#include "xs3/ops/admin_server.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "unit/cache/cache_files.hpp"
#include "unit/ops/loopback_client.hpp"
#include "xs3/cache/header.hpp"
#include "xs3/cache/index.hpp"
#include "xs3/cache/purge.hpp"
#include "xs3/cache/store.hpp"
#include "xs3/http/headers.hpp"

using namespace xs3;
using namespace xs3::ops;
namespace fs = std::filesystem;

using namespace xs3::ops::testing;
using xs3::cache::testing::TempDir;

TEST_CASE("the admin server answers its routes over a real socket, with keep-alive") {
    AdminHooks hooks;
    hooks.metrics = [] { return std::string("xs3_up 1\n"); };
    auto server = AdminServer::start(AdminServerOptions{}, hooks);
    REQUIRE(server.ok());
    uint16_t port = (*server)->port();
    REQUIRE(port != 0);

    int fd = connect_to(port);
    send_text(fd,
              "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
              "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");  // pipelined
    std::string pending;
    Reply a = read_reply(fd, pending);
    CHECK(a.status == 200);
    CHECK(a.body == "ok\n");
    CHECK(*a.headers.get("connection") == "keep-alive");
    Reply b = read_reply(fd, pending);
    CHECK(b.status == 200);
    CHECK(b.body == "xs3_up 1\n");
    CHECK(*b.headers.get("content-type") == "text/plain; version=0.0.4");
    send_text(fd, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    Reply c = read_reply(fd, pending);
    CHECK(c.status == 404);
    CHECK(*c.headers.get("connection") == "close");
    CHECK(peer_closed(fd));
    ::close(fd);

    // A request the parser rejects: its status, then the connection closes.
    fd = connect_to(port);
    send_text(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n");
    pending.clear();
    Reply bad = read_reply(fd, pending);
    CHECK(bad.status == 400);
    CHECK(peer_closed(fd));
    ::close(fd);

    Reply head = exchange(port, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(head.status == 200);
    CHECK(*head.headers.get("content-length") == "3");
    CHECK(head.body.empty());
    (*server)->stop();
    (*server)->stop();  // idempotent
}

TEST_CASE("purge through the admin server removes the cached file; usage reports it") {
    TempDir dir("admin");
    cache::Store store(dir.path, 2);
    REQUIRE(store.check_writable().ok());
    cache::CacheIndex index(1 << 30);
    cache::CacheKey key = cache::make_cache_key("bkt", "dir/obj 1", std::nullopt).key;
    cache::ObjectMeta meta;
    meta.size = 5;
    meta.etag = "\"e\"";
    meta.bucket = "bkt";
    meta.key = "dir/obj 1";
    auto temp = store.create_temp(key, meta, false);
    REQUIRE(temp.ok());
    REQUIRE(::pwrite(temp->fd.get(), "hello", 5, static_cast<off_t>(temp->data_offset)) == 5);
    cache::FileFacts facts;
    REQUIRE(store.publish(std::move(*temp), key, &facts).ok());
    index.publish(key, meta, facts, cache::Reservation());
    REQUIRE(fs::exists(store.path_of(key)));

    // Wired as the app wires it.
    AdminHooks hooks;
    hooks.usage = [&] {
        cache::CacheUsage u;
        u.index = index.stats();
        return u;
    };
    hooks.purge = [&](const PurgeRequest& p) -> Result<PurgeReply> {
        auto out = p.kind == PurgeRequest::Kind::key
                       ? cache::purge_object(index, store, cache::ObjectName{"bkt", p.value, ""})
                       : cache::purge_prefix(index, store, "bkt", p.value);
        if (!out.ok()) return out.status();
        return PurgeReply{out->objects, out->bytes, out->complete};
    };
    auto server = AdminServer::start(AdminServerOptions{}, hooks);
    REQUIRE(server.ok());
    uint16_t port = (*server)->port();

    Reply u = exchange(port, "GET /cache/usage HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(u.status == 200);
    CHECK(u.body.find("\"used_bytes\":" + std::to_string(facts.disk_bytes) + ",") !=
          std::string::npos);
    CHECK(u.body.find("\"objects\":1,") != std::string::npos);

    Reply p = exchange(port,
                       "POST /cache/purge?key=dir%2Fobj%201 HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: 0\r\n\r\n");
    CHECK(p.status == 200);
    CHECK(p.body == "{\"purged_objects\":1,\"purged_bytes\":" + std::to_string(facts.disk_bytes) +
                        ",\"complete\":true}\n");
    CHECK_FALSE(fs::exists(store.path_of(key)));
    CHECK(index.stats().objects == 0);

    // A POST with a body: the body is read and discarded, the query still counts.
    Reply again = exchange(port,
                           "POST /cache/purge?prefix=dir/ HTTP/1.1\r\nHost: x\r\n"
                           "Content-Length: 5\r\n\r\nhello");
    CHECK(again.status == 200);
    CHECK(again.body == "{\"purged_objects\":0,\"purged_bytes\":0,\"complete\":true}\n");
    Reply wrong = exchange(port, "GET /cache/purge?key=x HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(wrong.status == 405);
    CHECK(*wrong.headers.get("allow") == "POST");
}

TEST_CASE("warm hands its keys to the callback") {
    std::vector<std::string> got;
    std::mutex mu;
    AdminHooks hooks;
    hooks.warm = [&](const std::vector<std::string>& keys) {
        std::lock_guard lock(mu);
        got = keys;
        return WarmReply{keys.size(), {}};
    };
    auto server = AdminServer::start(AdminServerOptions{}, hooks);
    REQUIRE(server.ok());
    Reply r =
        exchange((*server)->port(), "POST /cache/warm?key=a&key=b%2Fc HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(r.status == 202);
    CHECK(r.body == "{\"accepted\":2,\"rejected\":[]}\n");
    std::lock_guard lock(mu);
    CHECK(got == std::vector<std::string>{"a", "b/c"});
}

TEST_CASE("over the cap the connection waiting longest makes room; stop() cuts idle ones") {
    AdminServerOptions opt;
    opt.max_connections = 2;
    auto server = AdminServer::start(opt, AdminHooks{});
    REQUIRE(server.ok());
    uint16_t port = (*server)->port();
    int a = connect_to(port), b = connect_to(port);
    // Both are served (a request on each proves their threads are up); a waits longest.
    std::string pa, pb;
    // (The pauses let each server thread mark its connection waiting after its answer: which of
    // two connections idle since the same millisecond waited longest is a coin toss.)
    send_text(a, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(read_reply(a, pa).status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    send_text(b, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(read_reply(b, pb).status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Reply probe = exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(probe.status == 200);
    CHECK(peer_closed(a));
    send_text(b, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(read_reply(b, pb).status == 200);

    (*server)->stop();  // b is idle in recv(): stop must not wait for its timeout
    CHECK(peer_closed(b));
    ::close(a);
    ::close(b);
}

TEST_CASE("when every connection is busy answering, a newcomer gets 503") {
    AdminServerOptions opt;
    opt.max_connections = 2;
    std::mutex mu;
    std::condition_variable cv;
    bool release = false;
    int inside = 0;
    AdminHooks hooks;
    hooks.warm = [&](const std::vector<std::string>& keys) {
        std::unique_lock lock(mu);
        ++inside;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
        return WarmReply{keys.size(), {}};
    };
    auto server = AdminServer::start(opt, hooks);
    REQUIRE(server.ok());
    uint16_t port = (*server)->port();
    int a = connect_to(port), b = connect_to(port);
    send_text(a, "POST /cache/warm?key=a HTTP/1.1\r\nHost: x\r\n\r\n");
    send_text(b, "POST /cache/warm?key=b HTTP/1.1\r\nHost: x\r\n\r\n");
    {
        std::unique_lock lock(mu);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return inside == 2; }));
    }
    Reply busy = exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(busy.status == 503);
    CHECK(busy.body == "too many admin connections\n");
    {
        std::lock_guard lock(mu);
        release = true;
    }
    cv.notify_all();
    std::string pa, pb;
    CHECK(read_reply(a, pa).status == 202);
    CHECK(read_reply(b, pb).status == 202);
    ::close(a);
    ::close(b);
}

TEST_CASE("a request head must be complete within io_timeout of its first byte") {
    AdminServerOptions opt;
    opt.io_timeout = std::chrono::milliseconds(600);
    auto server = AdminServer::start(opt, AdminHooks{});
    REQUIRE(server.ok());
    int fd = connect_to((*server)->port());
    // One byte every 100 ms: each one arrives well within the timeout, the head never does.
    const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 0123456789\r\n\r\n";
    auto start = std::chrono::steady_clock::now();
    std::string pending;
    bool answered = false;
    for (size_t i = 0; i < head.size() && !answered; ++i) {
        if (::send(fd, &head[i], 1, MSG_NOSIGNAL) != 1) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        char buf[512];
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            pending.append(buf, static_cast<size_t>(n));
            answered = true;
        }
    }
    REQUIRE(answered);  // long before the 5.3 s the whole head would take
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(pending.rfind("HTTP/1.1 408 ", 0) == 0);
    CHECK(took < std::chrono::seconds(4));
    ::close(fd);
}

TEST_CASE("probes get through more slow connections than the cap") {
    AdminServerOptions opt;  // 16 connections, 10 s
    auto server = AdminServer::start(opt, AdminHooks{});
    REQUIRE(server.ok());
    uint16_t port = (*server)->port();
    std::vector<int> slow;
    for (int i = 0; i < 24; ++i) {
        slow.push_back(connect_to(port));
        send_text(slow.back(), "GET /heal");  // a head begun, never finished
    }
    for (int i = 0; i < 5; ++i) {
        Reply r = exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(r.status == 200);
        CHECK(r.body == "ok\n");
    }
    for (int fd : slow)
        ::close(fd);
}

TEST_CASE("start fails clearly on a bad address or a port in use") {
    AdminServerOptions bad;
    bad.bind_ip = "localhost";
    auto r = AdminServer::start(bad, AdminHooks{});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() == "not an IP address: 'localhost'");

    auto first = AdminServer::start(AdminServerOptions{}, AdminHooks{});
    REQUIRE(first.ok());
    AdminServerOptions same;
    same.port = (*first)->port();
    auto second = AdminServer::start(same, AdminHooks{});
    REQUIRE_FALSE(second.ok());
    CHECK(second.status().message().find("admin listener on 127.0.0.1:" +
                                         std::to_string(same.port)) == 0);
    CHECK(second.status().sys_errno() == EADDRINUSE);
}
