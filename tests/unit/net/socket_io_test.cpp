#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "net_helpers.hpp"
#include "xs3/net/socket_input.hpp"
#include "xs3/net/socket_output.hpp"
#include "xs3/ring/block_pool.hpp"
#include "xs3/ring/buffer_ring.hpp"
#include "xs3/ring/pipe_pool.hpp"
#include "xs3/ring/ring.hpp"

using namespace xs3;
using namespace xs3::test;
using namespace std::chrono_literals;

namespace {
std::unique_ptr<ring::Ring> make_ring() {
    auto r = ring::Ring::create(ring::RingOptions{});
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    return std::move(r).value();
}

}  // namespace

TEST_CASE("SocketInput delivers bytes, stops on pause, resumes, and reports the end") {
    // With a buffer of its own; over a provided buffer ring in unit/io-uring-optional.
    auto ring = make_ring();
    check_socket_input(*ring, nullptr);
}

TEST_CASE("SocketOutput sends bytes, views and file regions in order; cork batches them") {
    auto ring = make_ring();
    ring::PipePool pipes(64 * 1024);
    ring::BlockPool blocks(8192);
    char path[] = "/tmp/xs3-socket-io-XXXXXX";
    int file = ::mkstemp(path);
    REQUIRE(file >= 0);
    ::unlink(path);
    std::string content;
    for (int i = 0; i < 20000; ++i)
        content += static_cast<char>('a' + i % 26);
    REQUIRE(::write(file, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    for (auto mode : {net::FileSendMode::copy, net::FileSendMode::splice}) {
        Pair p;
        net::OutputOptions oo;
        oo.file_mode = mode;
        net::SocketOutput out(*ring, p.a, pipes, blocks, oo);
        int errors = 0;
        out.set_handlers([] {}, [&](int) { ++errors; }, [] {});
        auto block = std::make_shared<std::string>("VIEWED-BYTES");
        std::weak_ptr<std::string> watch = block;
        out.cork();
        out.push_bytes(std::string("head:"));
        out.push_view(block->data(), 6, block);
        out.push_view(block->data() + 6, 6, block);
        out.push_bytes(std::string_view("|"));
        out.push_file(file, 100, 12000, nullptr);
        out.push_bytes(std::string(":end"));
        block.reset();
        CHECK(out.inflight() == 0);  // corked: nothing started yet
        out.uncork();
        std::string expect = "head:VIEWED-BYTES|" + content.substr(100, 12000) + ":end";
        run_until(*ring, [&] { return out.idle(); });
        CHECK(errors == 0);
        CHECK(out.idle());
        CHECK(out.bytes_sent() == expect.size());
        CHECK(watch.expired());  // the view's keep is released once its bytes are sent
        CHECK(read_all(p.b, expect.size()) == expect);
    }
    ::close(file);
}

namespace {
// A temp file (unlinked) holding `size` bytes of a pattern; returns the fd and the bytes.
int pattern_file(size_t size, std::string& content) {
    char path[] = "/tmp/xs3-socket-out-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::unlink(path);
    content.resize(size);
    for (size_t i = 0; i < size; ++i)
        content[i] = static_cast<char>((i * 7 + i / 4096) & 0xff);
    REQUIRE(::write(fd, content.data(), size) == static_cast<ssize_t>(size));
    return fd;
}

// Reads from `fd` (non-blocking) whatever is there into `got`.
void drain(int fd, std::string& got) {
    char buf[65536];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) return;
        got.append(buf, static_cast<size_t>(n));
    }
}
}  // namespace

TEST_CASE("SocketOutput copy mode: large regions read ahead in blocks, interleaved with bytes") {
    auto ring = make_ring();
    ring::PipePool pipes(64 * 1024);
    ring::BlockPool blocks(64 * 1024);
    std::string content;
    int file = pattern_file(3 * 1024 * 1024 + 123, content);
    for (unsigned depth : {1u, 2u, 4u}) {
        CAPTURE(depth);
        Pair p;
        net::OutputOptions oo;
        oo.copy_depth = depth;
        net::SocketOutput out(*ring, p.a, pipes, blocks, oo);
        int errors = 0;
        size_t most_buffered = 0;
        out.set_handlers([&] { most_buffered = std::max(most_buffered, blocks.buffered()); },
                         [&](int) { ++errors; }, [] {});
        auto keep = std::make_shared<int>(1);
        std::weak_ptr<int> watch = keep;
        out.cork();
        out.push_bytes(std::string("HEAD"));
        // Pulled in parts, as a body is: contiguous pieces of one region extend it.
        out.push_file(file, 0, 1000000, keep);
        out.push_file(file, 1000000, 1000000, keep);
        out.push_bytes(std::string("|mid|"));
        out.push_file(file, 5, 3000, keep);  // a small region: one small buffer
        out.push_file(file, 2000000, content.size() - 2000000, keep);
        keep.reset();
        out.uncork();
        std::string expect = "HEAD" + content.substr(0, 2000000) + "|mid|" +
                             content.substr(5, 3000) + content.substr(2000000);
        std::string got;
        for (int i = 0; i < 5000 && got.size() < expect.size(); ++i) {
            ring->run_once(1ms);
            drain(p.b, got);
        }
        run_until(*ring, [&] { return out.idle(); });
        CHECK(errors == 0);
        CHECK(out.idle());
        CHECK(got.size() == expect.size());
        CHECK(got == expect);
        CHECK(out.bytes_sent() == expect.size());
        // Never more than `depth` blocks held at once; all of them back in the pool at the end.
        CHECK(most_buffered <= depth * blocks.block_size());
        CHECK(blocks.buffered() == 0);
        CHECK(watch.expired());
    }
    ::close(file);
}

TEST_CASE("SocketOutput copy mode: a file shorter than its region fails with -EIO, unpadded") {
    auto ring = make_ring();
    ring::PipePool pipes(64 * 1024);
    ring::BlockPool blocks(16 * 1024);
    std::string content;
    int file = pattern_file(50000, content);
    for (auto mode : {net::FileSendMode::copy, net::FileSendMode::splice}) {
        Pair p;
        net::OutputOptions oo;
        oo.file_mode = mode;
        oo.copy_depth = 3;
        net::SocketOutput out(*ring, p.a, pipes, blocks, oo);
        int error = 0;
        out.set_handlers([] {}, [&](int e) { error = e; }, [] {});
        out.push_bytes(std::string("H"));
        out.push_file(file, 0, 80000, nullptr);  // 30000 bytes more than the file has
        out.push_bytes(std::string("never"));
        std::string got;
        for (int i = 0; i < 2000 && error == 0; ++i) {
            ring->run_once(1ms);
            drain(p.b, got);
        }
        CHECK(error == -EIO);
        out.cancel();
        run_until(*ring, [&] { return out.inflight() == 0; });
        drain(p.b, got);
        // What arrived is a prefix of the real bytes: never padding, never what follows.
        REQUIRE(got.size() >= 1);
        CHECK(got.size() <= 1 + content.size());
        CHECK(got == ("H" + content).substr(0, got.size()));
    }
    CHECK(blocks.buffered() == 0);
    ::close(file);
}

TEST_CASE("SocketOutput copy mode: over the pool's budget every output still moves") {
    auto ring = make_ring();
    ring::PipePool pipes(64 * 1024);
    // A budget below one block: each output gets only the buffer it must have.
    ring::BlockPool blocks(32 * 1024, 8, 16 * 1024);
    std::string content;
    int file = pattern_file(300000, content);
    Pair p1, p2;
    net::OutputOptions oo;
    oo.copy_depth = 4;
    net::SocketOutput a(*ring, p1.a, pipes, blocks, oo);
    net::SocketOutput b(*ring, p2.a, pipes, blocks, oo);
    size_t most = 0;
    a.set_handlers([&] { most = std::max(most, blocks.buffered()); }, [](int) {}, [] {});
    b.set_handlers([&] { most = std::max(most, blocks.buffered()); }, [](int) {}, [] {});
    a.push_file(file, 0, content.size(), nullptr);
    b.push_file(file, 1000, content.size() - 1000, nullptr);
    std::string got1, got2;
    for (int i = 0;
         i < 5000 && (got1.size() < content.size() || got2.size() < content.size() - 1000); ++i) {
        ring->run_once(1ms);
        drain(p1.b, got1);
        drain(p2.b, got2);
    }
    CHECK(got1 == content);
    CHECK(got2 == content.substr(1000));
    CHECK(most <= 2 * blocks.block_size());  // one each, never the depth of four
    run_until(*ring, [&] { return a.idle() && b.idle(); });
    CHECK(blocks.buffered() == 0);
    ::close(file);
}

TEST_CASE("SocketOutput copy mode: beyond the budget an output moves in small steps") {
    auto ring = make_ring();
    ring::PipePool pipes(64 * 1024);
    // Budget: one 1 MiB block. The output holding it reads in whole blocks; the others, forced
    // beyond the budget, get a kForcedMax buffer each — not a 1 MiB block apiece.
    ring::BlockPool blocks(1024 * 1024, 8, 1024 * 1024);
    std::string content;
    int file = pattern_file(3 * 1024 * 1024 + 12345, content);
    Pair pairs[3];
    std::vector<std::unique_ptr<net::SocketOutput>> outs;
    size_t most = 0;
    for (auto& p : pairs) {
        outs.push_back(
            std::make_unique<net::SocketOutput>(*ring, p.a, pipes, blocks, net::OutputOptions{}));
        outs.back()->set_handlers([&] { most = std::max(most, blocks.buffered()); }, [](int) {},
                                  [] {});
        outs.back()->push_file(file, 0, content.size(), nullptr);
        most = std::max(most, blocks.buffered());
    }
    std::string got[3];
    auto done = [&] {
        for (auto& g : got)
            if (g.size() < content.size()) return false;
        return true;
    };
    for (int i = 0; i < 20000 && !done(); ++i) {
        ring->run_once(1ms);
        for (int k = 0; k < 3; ++k)
            drain(pairs[k].b, got[k]);
    }
    for (auto& g : got)
        CHECK(g == content);
    CHECK(most > blocks.budget());  // someone was forced beyond it
    CHECK(most <= blocks.budget() + 3 * ring::BlockPool::kForcedMax);
    run_until(*ring, [&] {
        for (auto& o : outs)
            if (!o->idle()) return false;
        return true;
    });
    CHECK(blocks.buffered() == 0);
    ::close(file);
}

TEST_CASE("SocketOutput: cancel while reads and a send are in flight frees only after quiet") {
    auto ring = make_ring();
    ring::PipePool pipes(64 * 1024);
    ring::BlockPool blocks(64 * 1024);
    std::string content;
    int file = pattern_file(2 * 1024 * 1024, content);
    for (auto mode : {net::FileSendMode::copy, net::FileSendMode::splice}) {
        Pair p;
        net::OutputOptions oo;
        oo.file_mode = mode;
        oo.copy_depth = 4;
        auto out = std::make_unique<net::SocketOutput>(*ring, p.a, pipes, blocks, oo);
        int quiet = 0;
        out->set_handlers([] {}, [](int) {}, [&] { ++quiet; });
        auto keep = std::make_shared<int>(1);
        std::weak_ptr<int> watch = keep;
        out->push_bytes(std::string(100000, 'x'));
        out->push_file(file, 0, content.size(), keep);
        keep.reset();
        // The peer reads nothing: the socket fills and the send waits.
        for (int i = 0; i < 20; ++i)
            ring->run_once(1ms);
        REQUIRE(out->inflight() > 0);
        out->cancel();
        ::shutdown(p.a, SHUT_RDWR);
        run_until(*ring, [&] { return out->inflight() == 0; });
        CHECK(out->inflight() == 0);
        CHECK(quiet == 1);
        CHECK_FALSE(watch.expired());  // the region is held until the output goes
        out.reset();
        CHECK(watch.expired());
    }
    CHECK(blocks.buffered() == 0);
    ::close(file);
}
