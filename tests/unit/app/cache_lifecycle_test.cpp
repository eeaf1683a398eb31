// Tests of CacheLifecycle: the configuration reaches the evictor, and a started lifecycle scans
// the cache directory and serves the admin routes over a real socket.
#include "xs3/app/cache_lifecycle.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "unit/ops/loopback_client.hpp"
#include "xs3/cache/header.hpp"
#include "xs3/cache/key.hpp"

using namespace xs3;
using namespace xs3::app;
using xs3::ops::testing::exchange;
namespace fs = std::filesystem;

namespace {

uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    ::close(fd);
    return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("evictor options come from the configuration") {
    config::Config cfg = config::default_config();
    cfg.max_cache_size = 1000;
    cfg.min_free_space.percent = 7;
    auto o = evictor_options(cfg);
    CHECK(o.max_bytes == 1000);
    CHECK(o.watermark_percent == 95);
    CHECK(o.target_percent == 90);
    CHECK(o.min_free.percent == 7);
    CHECK(o.min_free.bytes == 0);
    CHECK(o.interval == std::chrono::seconds(15));
}

TEST_CASE("a started lifecycle scans the cache and answers usage, metrics and purge") {
    char tmpl[] = "/tmp/xs3-lifecycle-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    std::string dir = tmpl;
    config::Config cfg = config::default_config();
    cfg.bucket = "bkt";
    cfg.cache_dir = dir;
    cfg.max_cache_size = 1ULL << 30;
    cfg.cache_hierarchy_level = 2;
    cfg.admin_port = free_port();

    // One cached object from an "earlier run", and a leftover temp file.
    cache::Store store(dir, 2);
    REQUIRE(store.check_writable().ok());
    cache::CacheKey key = cache::make_cache_key("bkt", "a/b", std::nullopt).key;
    cache::ObjectMeta meta;
    meta.size = 3;
    meta.bucket = "bkt";
    meta.key = "a/b";
    auto temp = store.create_temp(key, meta, false);
    REQUIRE(temp.ok());
    REQUIRE(::pwrite(temp->fd.get(), "abc", 3, static_cast<off_t>(temp->data_offset)) == 3);
    REQUIRE(store.publish(std::move(*temp), key).ok());
    auto leftover = store.create_temp(key, meta, false);
    REQUIRE(leftover.ok());
    std::string leftover_path = leftover->path;
    leftover->fd.reset();

    {
        CacheLifecycle life(cfg);
        std::mutex mu;
        std::condition_variable cv;
        bool scanned = false;
        life.start_cache([&](const cache::ScanStats&) {
            std::lock_guard lock(mu);
            scanned = true;
            cv.notify_all();
        });
        {
            std::unique_lock lock(mu);
            REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return scanned; }));
        }
        CHECK(life.index().stats().objects == 1);
        CHECK(life.usage().scan.removed_temp == 1);
        CHECK_FALSE(fs::exists(leftover_path));

        ops::AdminHooks proxy;
        proxy.metrics = [] { return std::string("xs3_requests_total 5\n"); };
        REQUIRE(life.start_admin(proxy).ok());
        REQUIRE(life.admin_port() == cfg.admin_port);

        auto usage = exchange(cfg.admin_port, "GET /cache/usage HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(usage.status == 200);
        CHECK(usage.body.find("\"objects\":1,") != std::string::npos);
        CHECK(usage.body.find("\"state\":\"done\"") != std::string::npos);
        auto metrics = exchange(cfg.admin_port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(metrics.status == 200);
        // The proxy's families first, then the cache's.
        CHECK(metrics.body.rfind("xs3_requests_total 5\n# HELP xs3_cache_used_bytes", 0) == 0);
        CHECK(metrics.body.find("\nxs3_cache_objects 1\n") != std::string::npos);
        auto purge =
            exchange(cfg.admin_port, "POST /cache/purge?key=a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(purge.status == 200);
        CHECK(purge.body.find("\"purged_objects\":1,") != std::string::npos);
        CHECK_FALSE(fs::exists(store.path_of(key)));
        auto warm = exchange(cfg.admin_port, "POST /cache/warm?key=x HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(warm.status == 404);  // the proxy did not wire warm-up

        // A second lifecycle cannot take the same admin port.
        CacheLifecycle other(cfg);
        Status st = other.start_admin({});
        CHECK_FALSE(st.ok());
        CHECK(st.sys_errno() == EADDRINUSE);
        life.stop();
        life.stop();
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
}

TEST_CASE("without --admin-port there is no admin listener") {
    config::Config cfg = config::default_config();
    cfg.cache_dir = "/nonexistent-xs3-dir";
    cfg.max_cache_size = 1 << 20;
    CacheLifecycle life(cfg);
    CHECK(life.start_admin({}).ok());
    CHECK(life.admin_port() == 0);
}
