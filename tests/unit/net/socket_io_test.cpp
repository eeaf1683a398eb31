#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "xs3/net/socket_input.hpp"
#include "xs3/net/socket_output.hpp"
#include "xs3/ring/block_pool.hpp"
#include "xs3/ring/buffer_ring.hpp"
#include "xs3/ring/pipe_pool.hpp"
#include "xs3/ring/ring.hpp"

using namespace xs3;
using namespace std::chrono_literals;

namespace {
std::unique_ptr<ring::Ring> make_ring() {
    auto r = ring::Ring::create(ring::RingOptions{});
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    return std::move(r).value();
}

struct Pair {
    int a = -1, b = -1;
    Pair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, &a) == 0); }
    ~Pair() {
        if (a >= 0) ::close(a);
        if (b >= 0) ::close(b);
    }
};

std::string read_all(int fd, size_t want) {
    std::string out;
    char buf[65536];
    while (out.size() < want) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

template <class Pred>
void run_until(ring::Ring& r, Pred done) {
    for (int i = 0; i < 500 && !done(); ++i)
        r.run_once(5ms);
}
}  // namespace

TEST_CASE("SocketInput delivers bytes, stops on pause, resumes, and reports the end") {
    auto ring = make_ring();
    std::unique_ptr<ring::BufferRing> buffers;
    if (ring->features().buf_ring) {
        auto br = ring::BufferRing::create(*ring, 1, 64, 4096);
        REQUIRE(br.ok());
        buffers = std::move(br).value();
    }
    // Both with the buffer ring (multishot where the kernel has it) and with a buffer of its own.
    for (ring::BufferRing* br : {buffers.get(), static_cast<ring::BufferRing*>(nullptr)}) {
        Pair p;
        std::string got;
        int ended = 1;
        int quiet = 0;
        net::SocketInput in(*ring, p.a, br);
        in.set_handlers([&](const char* d, size_t n) { got.append(d, n); },
                        [&](int res) { ended = res; }, [&] { ++quiet; });
        in.start();
        REQUIRE(::write(p.b, "first", 5) == 5);
        run_until(*ring, [&] { return got.size() == 5; });
        CHECK(got == "first");
        in.pause();
        run_until(*ring, [&] { return quiet > 0; });
        CHECK(quiet == 1);
        CHECK(in.inflight() == 0);
        REQUIRE(::write(p.b, "second", 6) == 6);
        for (int i = 0; i < 5; ++i)
            ring->run_once(2ms);
        CHECK(got == "first");  // paused: not read
        in.start();
        run_until(*ring, [&] { return got.size() == 11; });
        CHECK(got == "firstsecond");
        ::shutdown(p.b, SHUT_WR);
        run_until(*ring, [&] { return ended == 0; });
        CHECK(ended == 0);
        CHECK(in.ended());
        in.cancel();
        run_until(*ring, [&] { return in.inflight() == 0; });
        CHECK(in.inflight() == 0);
    }
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
