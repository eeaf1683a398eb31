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
