#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "xs3/ring/buffer_ring.hpp"
#include "xs3/ring/pipe_pool.hpp"
#include "xs3/ring/ring.hpp"

using namespace xs3::ring;
using namespace std::chrono_literals;

namespace {
std::unique_ptr<Ring> make_ring() {
    auto r = Ring::create(RingOptions{});
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    return std::move(r).value();
}

struct Counter : Op {
    int calls = 0;
    int last_res = 0;
    uint32_t last_flags = 0;
    void complete(int res, uint32_t flags) noexcept override {
        ++calls;
        last_res = res;
        last_flags = flags;
    }
};
}  // namespace

TEST_CASE("a NOP completes through its op") {
    auto ring = make_ring();
    Counter c;
    io_uring_sqe* sqe = ring->get_sqe(&c);
    REQUIRE(sqe != nullptr);
    io_uring_prep_nop(sqe);
    for (int i = 0; i < 10 && c.calls == 0; ++i)
        ring->run_once(10ms);
    CHECK(c.calls == 1);
    CHECK(c.last_res == 0);
}

TEST_CASE("get_sqe submits when the SQ is full instead of failing") {
    RingOptions o;
    o.entries = 8;
    auto r = Ring::create(o);
    REQUIRE(r.ok());
    auto ring = std::move(r).value();
    Counter c;
    for (int i = 0; i < 100; ++i) {
        io_uring_sqe* sqe = ring->get_sqe(&c);
        REQUIRE(sqe != nullptr);
        io_uring_prep_nop(sqe);
        if (i % 7 == 6) ring->run_once(0ms);  // keep the CQ from overflowing
    }
    for (int i = 0; i < 50 && c.calls < 100; ++i)
        ring->run_once(10ms);
    CHECK(c.calls == 100);
}

namespace {
// Records the order in which its ops complete; each op is one NOP.
struct Sequence {
    struct Step : Op {
        Sequence* seq = nullptr;
        int id = 0;
        int calls = 0;
        void complete(int res, uint32_t) noexcept override {
            ++calls;
            CHECK(res == 0);
            seq->order.push_back(id);
            if (seq->on_complete) seq->on_complete(*this);
        }
    };
    std::vector<int> order;
    std::vector<std::unique_ptr<Step>> steps;
    std::function<void(Step&)> on_complete;
    Step& add() {
        steps.push_back(std::make_unique<Step>());
        steps.back()->seq = this;
        steps.back()->id = static_cast<int>(steps.size()) - 1;
        return *steps.back();
    }
};
}  // namespace

TEST_CASE("get_sqe never fails: 1000 NOPs on a 4-entry ring without running the loop") {
    // The CQ (8 entries) overflows many times over; the kernel keeps the extra completions and
    // the ring moves them aside when it needs room. Every op completes once, in order.
    RingOptions o;
    o.entries = 4;
    auto r = Ring::create(o);
    REQUIRE(r.ok());
    auto ring = std::move(r).value();
    Sequence seq;
    for (int i = 0; i < 1000; ++i) {
        auto& step = seq.add();
        io_uring_sqe* sqe = ring->get_sqe(&step);
        REQUIRE(sqe != nullptr);
        io_uring_prep_nop(sqe);
    }
    for (int i = 0; i < 200 && seq.order.size() < 1000; ++i)
        ring->run_once(10ms);
    REQUIRE(seq.order.size() == 1000);
    for (int i = 0; i < 1000; ++i) {
        CHECK(seq.order[static_cast<size_t>(i)] == i);
        CHECK(seq.steps[static_cast<size_t>(i)]->calls == 1);
    }
}

TEST_CASE("ops that start more work from their completion keep the completion order") {
    // Each of the first 300 completions issues a new NOP while the rings are full: get_sqe then
    // moves later completions to the backlog from inside a completion; they must still run
    // after the current one and before the new NOPs, each exactly once.
    RingOptions o;
    o.entries = 4;
    auto r = Ring::create(o);
    REQUIRE(r.ok());
    auto ring = std::move(r).value();
    Sequence seq;
    int issued = 0;
    std::vector<int> expected;
    seq.on_complete = [&](Sequence::Step& done) {
        if (done.id >= 300) return;
        auto& next = seq.add();
        io_uring_prep_nop(ring->get_sqe(&next));
        ++issued;
    };
    for (int i = 0; i < 300; ++i)
        io_uring_prep_nop(ring->get_sqe(&seq.add()));
    for (int i = 0; i < 500 && seq.order.size() < 600; ++i)
        ring->run_once(10ms);
    CHECK(issued == 300);
    REQUIRE(seq.order.size() == 600);
    for (int i = 0; i < 600; ++i)
        CHECK(seq.order[static_cast<size_t>(i)] == i);
}

TEST_CASE("reserve_sqes makes room for a linked pair on a full SQ") {
    RingOptions o;
    o.entries = 4;
    auto r = Ring::create(o);
    REQUIRE(r.ok());
    auto ring = std::move(r).value();
    Sequence seq;
    for (int i = 0; i < 3; ++i)
        io_uring_prep_nop(ring->get_sqe(&seq.add()));
    CHECK(io_uring_sq_space_left(ring->raw()) == 1);
    ring->reserve_sqes(2);
    CHECK(io_uring_sq_space_left(ring->raw()) >= 2);
    io_uring_sqe* a = ring->get_sqe(&seq.add());
    io_uring_prep_nop(a);
    a->flags |= IOSQE_IO_LINK;
    io_uring_prep_nop(ring->get_sqe(&seq.add()));
    for (int i = 0; i < 50 && seq.order.size() < 5; ++i)
        ring->run_once(10ms);
    CHECK(seq.order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("timers fire in deadline order and can be cancelled") {
    auto ring = make_ring();
    std::vector<int> order;
    // Before the timers are armed: a deadline counts from its add_timer, so a clock read after
    // the adds may see the 30 ms timer fire a little under 30 ms later (an ASan run did).
    auto start = Clock::now();
    ring->add_timer(30ms, [&] { order.push_back(3); });
    ring->add_timer(10ms, [&] { order.push_back(1); });
    auto cancelled = ring->add_timer(20ms, [&] { order.push_back(2); });
    ring->cancel_timer(cancelled);
    CHECK_FALSE(cancelled);
    while (order.size() < 2 && Clock::now() - start < 2s)
        ring->run_once(100ms);
    CHECK(order == std::vector<int>{1, 3});
    CHECK(Clock::now() - start >= 30ms);
}

TEST_CASE("defer runs on the next turn, not re-entrantly") {
    auto ring = make_ring();
    int n = 0;
    ring->defer([&] {
        n = 1;
        ring->defer([&] { n = 2; });
        CHECK(n == 1);
    });
    ring->run_once(0ms);
    CHECK(n == 1);
    ring->run_once(0ms);
    CHECK(n == 2);
}

TEST_CASE("post from other threads is never lost") {
    auto ring = make_ring();
    constexpr int kThreads = 4, kPerThread = 5000;
    std::atomic<int> done{0};
    int ran = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < kPerThread; ++i)
                ring->post([&] { ++ran; });
            done.fetch_add(1);
        });
    auto start = Clock::now();
    while ((done.load() < kThreads || ran < kThreads * kPerThread) && Clock::now() - start < 10s)
        ring->run_once(50ms);
    for (auto& t : threads)
        t.join();
    CHECK(ran == kThreads * kPerThread);
}

TEST_CASE("stop from another thread ends run()") {
    auto ring = make_ring();
    std::thread t([&] {
        std::this_thread::sleep_for(20ms);
        ring->stop();
    });
    ring->run();
    t.join();
    CHECK(ring->stopping());
}

TEST_CASE("pipe pool reuses empty pipes and grants the asked size") {
    PipePool pool(1 << 20);
    auto p = pool.acquire();
    REQUIRE(p.ok());
    CHECK(p->capacity >= 65536);
    int rfd = p->read_fd;
    pool.release(*p, true);
    CHECK(pool.idle() == 1);
    auto q = pool.acquire();
    CHECK(q->read_fd == rfd);
    pool.release(*q, false);  // maybe dirty: closed, not kept
    CHECK(pool.idle() == 0);
}
