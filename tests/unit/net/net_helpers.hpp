// Helpers of the net tests: a socket pair, running a ring until a condition holds, and the
// SocketInput check run with and without a provided buffer ring.
#pragma once

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "xs3/net/socket_input.hpp"
#include "xs3/ring/buffer_ring.hpp"
#include "xs3/ring/ring.hpp"

namespace xs3::test {

using namespace std::chrono_literals;

struct Pair {
    int a = -1, b = -1;
    Pair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, &a) == 0); }
    ~Pair() {
        if (a >= 0) ::close(a);
        if (b >= 0) ::close(b);
    }
};

inline std::string read_all(int fd, size_t want) {
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

// SocketInput over `br` (a provided buffer ring, multishot where the kernel has it), or over a
// buffer of its own when `br` is null: bytes in order, pause/resume, the end, cancel.
inline void check_socket_input(ring::Ring& ring, ring::BufferRing* br) {
    Pair p;
    std::string got;
    int ended = 1;
    int quiet = 0;
    net::SocketInput in(ring, p.a, br);
    in.set_handlers([&](const char* d, size_t n) { got.append(d, n); },
                    [&](int res) { ended = res; }, [&] { ++quiet; });
    in.start();
    REQUIRE(::write(p.b, "first", 5) == 5);
    run_until(ring, [&] { return got.size() == 5; });
    CHECK(got == "first");
    in.pause();
    run_until(ring, [&] { return quiet > 0; });
    CHECK(quiet == 1);
    CHECK(in.inflight() == 0);
    REQUIRE(::write(p.b, "second", 6) == 6);
    for (int i = 0; i < 5; ++i)
        ring.run_once(2ms);
    CHECK(got == "first");  // paused: not read
    in.start();
    run_until(ring, [&] { return got.size() == 11; });
    CHECK(got == "firstsecond");
    ::shutdown(p.b, SHUT_WR);
    run_until(ring, [&] { return ended == 0; });
    CHECK(ended == 0);
    CHECK(in.ended());
    in.cancel();
    run_until(ring, [&] { return in.inflight() == 0; });
    CHECK(in.inflight() == 0);
}

}  // namespace xs3::test
