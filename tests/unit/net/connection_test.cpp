// net::Connection over a socketpair on a real ring: the send timeout fires for a peer that reads
// nothing and never for one that reads slowly but steadily; close_io waits for every op and the
// finish callback runs once; release_fd gives the socket away untouched.
#include "xs3/net/connection.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "xs3/ring/block_pool.hpp"
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

struct TestConnection final : net::Connection {
    TestConnection(const net::ConnectionIo& io, int fd) : net::Connection(io, UniqueFd(fd)) {
        wire([this](const char* d, size_t n) { received.append(d, n); },
             [this](int) { ended = true; }, [this] { ++sent_events; }, [this](int) { ++errors; });
    }
    void on_send_timeout() noexcept override {
        ++timeouts;
        timed_out_at = ring::Clock::now();
        close_io();
    }
    void on_io_finished() noexcept override { ++finished; }

    using net::Connection::close_io;
    using net::Connection::input_;
    using net::Connection::output_;
    using net::Connection::release_fd;
    using net::Connection::set_send_timeout;
    using net::Connection::watch_output;

    std::string received;
    bool ended = false;
    int sent_events = 0, errors = 0, timeouts = 0, finished = 0;
    ring::Clock::time_point timed_out_at{};
};

struct World {
    std::unique_ptr<ring::Ring> ring = make_ring();
    ring::PipePool pipes{1 << 20};
    ring::BlockPool blocks{256 * 1024};
    net::ConnectionIo io() { return {*ring, nullptr, pipes, blocks, net::OutputOptions{}}; }
    template <class Pred>
    void run_until(Pred done, int max_turns = 2000) {
        for (int i = 0; i < max_turns && !done(); ++i)
            ring->run_once(5ms);
    }
};

int small_buffers(int fd) {
    int size = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    return fd;
}
}  // namespace

TEST_CASE("a peer that reads nothing: the send timeout fires, close_io waits for the sends") {
    World w;
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    small_buffers(sv[0]);
    small_buffers(sv[1]);
    TestConnection c(w.io(), sv[0]);
    c.set_send_timeout(300ms);
    c.output_.push_bytes(std::string(4 << 20, 'x'));
    auto start = ring::Clock::now();
    c.watch_output();
    w.run_until([&] { return c.finished > 0; });
    CHECK(c.timeouts == 1);
    CHECK(c.finished == 1);
    CHECK(c.inflight() == 0);
    auto waited = c.timed_out_at - start;
    // Some bytes went into the socket buffers at once; after that nothing moved for 300 ms.
    CHECK(waited >= 300ms);
    CHECK(waited < 3s);
    ::close(sv[1]);
}

TEST_CASE("a peer that reads slowly but steadily is never timed out") {
    World w;
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    small_buffers(sv[0]);
    small_buffers(sv[1]);
    ::fcntl(sv[1], F_SETFL, O_NONBLOCK);
    TestConnection c(w.io(), sv[0]);
    // Five times the gap between reads: a test thread held off the CPU for a while on a loaded
    // machine (it failed twice at load 9 with 200 ms) still reads well within it.
    c.set_send_timeout(500ms);
    const size_t total = 256 * 1024;
    c.output_.push_bytes(std::string(total, 'y'));
    c.watch_output();
    size_t read = 0;
    auto last = ring::Clock::now();
    // 16 KiB every 100 ms: a full second and more, always less than the timeout between bytes.
    while (read < total && c.timeouts == 0) {
        w.ring->run_once(5ms);
        if (ring::Clock::now() - last >= 100ms) {
            last = ring::Clock::now();
            char buf[16384];
            ssize_t n = ::read(sv[1], buf, sizeof buf);
            if (n > 0) read += size_t(n);
        }
    }
    CHECK(read == total);
    CHECK(c.timeouts == 0);
    CHECK(c.output_.idle());
    // Nothing waiting: the watch ends by itself, even long after (past the timeout).
    for (int i = 0; i < 150; ++i)
        w.ring->run_once(5ms);
    CHECK(c.timeouts == 0);
    c.close_io();
    w.run_until([&] { return c.finished > 0; });
    CHECK(c.finished == 1);
    ::close(sv[1]);
}

TEST_CASE("release_fd gives the socket away: not closed, not shut down") {
    World w;
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    int fd = -1;
    {
        TestConnection c(w.io(), sv[0]);
        c.input_.start();
        c.input_.pause();
        w.run_until([&] { return c.input_.inflight() == 0; });
        fd = c.release_fd().release();
        c.close_io();
        w.run_until([&] { return c.finished > 0; });
        CHECK(c.finished == 1);
    }
    REQUIRE(fd == sv[0]);
    REQUIRE(::write(sv[1], "z", 1) == 1);
    char ch = 0;
    CHECK(::read(fd, &ch, 1) == 1);  // still open and readable: nobody shut it down
    CHECK(ch == 'z');
    ::close(fd);
    ::close(sv[1]);
}
