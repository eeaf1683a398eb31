// Optional io_uring features: multishot recv into a provided buffer ring, and SocketInput over
// one. The product falls back without them (a recv per read into a buffer of the connection's
// own), so on a kernel that lacks them this executable reports SKIP (exit 77) rather than
// passing untested; the fallback paths are tested on every kernel by unit/ring and unit/net.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "../net/net_helpers.hpp"
#include "../skip.hpp"
#include "xs3/net/socket_input.hpp"
#include "xs3/ring/buffer_ring.hpp"
#include "xs3/ring/ring.hpp"

using namespace xs3;
using namespace xs3::ring;
using namespace std::chrono_literals;

namespace {
std::unique_ptr<Ring> make_ring() {
    auto r = Ring::create(RingOptions{});
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    return std::move(r).value();
}

}  // namespace

TEST_CASE("multishot recv picks provided buffers and they can be recycled") {
    auto ring = make_ring();
    XS3_SKIP_UNLESS(ring->features().recv_multishot && ring->features().buf_ring,
                    "the kernel lacks multishot recv / provided buffer rings (5.19 / 6.0)");
    auto br = BufferRing::create(*ring, 7, 4, 16);
    REQUIRE_MESSAGE(br.ok(), br.status().to_string());
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);

    struct Recv : Op {
        BufferRing* br;
        std::string got;
        int cqes = 0;
        bool more = true;
        void complete(int res, uint32_t flags) noexcept override {
            ++cqes;
            more = flags & IORING_CQE_F_MORE;
            if (res > 0) {
                uint16_t bid = BufferRing::buffer_id(flags);
                got.append(br->buffer(bid), static_cast<size_t>(res));
                br->recycle(bid);
            }
        }
    } recv;
    recv.br = br.value().get();
    io_uring_sqe* sqe = ring->get_sqe(&recv);
    io_uring_prep_recv_multishot(sqe, sv[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 7;

    std::string expect;
    for (int i = 0; i < 20; ++i) {
        std::string piece = "chunk-" + std::to_string(i) + "|";
        expect += piece;
        REQUIRE(write(sv[1], piece.data(), piece.size()) == static_cast<ssize_t>(piece.size()));
        for (int k = 0; k < 5 && recv.got.size() < expect.size(); ++k)
            ring->run_once(20ms);
    }
    CHECK(recv.got == expect);
    CHECK(recv.more);
    close(sv[1]);
    for (int k = 0; k < 10 && recv.more; ++k)
        ring->run_once(20ms);
    CHECK_FALSE(recv.more);  // EOF ends the multishot
    close(sv[0]);
}

TEST_CASE("SocketInput over a provided buffer ring (multishot recv where the kernel has it)") {
    auto ring = make_ring();
    XS3_SKIP_UNLESS(ring->features().buf_ring, "the kernel lacks provided buffer rings (5.19)");
    auto br = BufferRing::create(*ring, 1, 64, 4096);
    REQUIRE_MESSAGE(br.ok(), br.status().to_string());
    test::check_socket_input(*ring, br.value().get());
}
