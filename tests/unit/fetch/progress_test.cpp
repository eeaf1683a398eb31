// ChunkProgress: availability arithmetic, and the waiter protocol under stress — a thousand
// readers on four rings against writer threads publishing at random times must all reach the
// end (no lost wake-up can leave one asleep). Meant to be run under TSan too.
#include "xs3/fetch/progress.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

using namespace xs3;
using namespace xs3::fetch;
using namespace std::chrono_literals;

namespace {

ChunkPlan plan_of(uint64_t size, uint64_t chunk) {
    PlannerOptions o;
    o.chunk_size = chunk;
    o.min_chunk_size = 1;
    o.max_chunk_size = chunk;
    return plan_chunks(size, o);
}

// A ring running on its own thread until destroyed.
class RingThread {
  public:
    RingThread() {
        thread_ = std::thread([this] {
            auto r = ring::Ring::create({});
            REQUIRE(r.ok());
            ring_ = std::move(r).value();
            ready_.store(true);
            ring_->run();
            for (int i = 0; i < 10; ++i)
                ring_->run_once(1ms);
        });
        while (!ready_.load())
            std::this_thread::sleep_for(1ms);
    }
    ~RingThread() {
        ring_->stop();
        thread_.join();
    }
    ring::Ring& ring() { return *ring_; }

  private:
    std::unique_ptr<ring::Ring> ring_;
    std::atomic<bool> ready_{false};
    std::thread thread_;
};

}  // namespace

TEST_CASE("available bytes follow each chunk's contiguous progress") {
    ChunkProgress p;
    p.init(plan_of(10000, 4096));
    CHECK(p.object_size() == 10000);
    CHECK(p.available_from(0) == 0);
    p.publish(0, 100);
    CHECK(p.available_from(0) == 100);
    CHECK(p.available_from(50) == 50);
    CHECK(p.available_from(100) == 0);
    CHECK(p.contiguous_prefix() == 100);
    p.publish(1, 4096);  // the second chunk is done, the first is not
    CHECK(p.available_from(4096) == 4096);
    CHECK(p.available_from(5000) == 3192);
    CHECK(p.contiguous_prefix() == 100);
    p.publish(0, 4096);
    CHECK(p.contiguous_prefix() == 8192);
    p.publish(2, 10000 - 8192);
    CHECK(p.contiguous_prefix() == 10000);
    CHECK(p.available_from(9999) == 1);
    CHECK(p.available_from(10000) == 0);
    CHECK(p.written(2) == 1808);
}

TEST_CASE("an empty plan has nothing available and no prefix") {
    ChunkProgress p;
    p.init(plan_of(0, 4096));
    CHECK(p.available_from(0) == 0);
    CHECK(p.contiguous_prefix() == 0);
}

TEST_CASE("wait registers only when nothing is ready, and a publish wakes the waiter") {
    RingThread rt;
    ChunkProgress p;
    p.init(plan_of(8192, 4096));
    std::atomic<int> woken{0};
    auto ready = [&] { return p.available_from(0) > 0; };
    CHECK(p.wait(
        rt.ring(), [&] { woken.fetch_add(1); }, ready));
    CHECK(p.waiters() == 1);
    p.publish(0, 10);
    for (int i = 0; i < 200 && woken.load() == 0; ++i)
        std::this_thread::sleep_for(5ms);
    CHECK(woken.load() == 1);
    CHECK(p.waiters() == 0);
    // Bytes are there: nothing is registered, the caller goes on.
    CHECK_FALSE(p.wait(
        rt.ring(), [&] { woken.fetch_add(100); }, ready));
    CHECK(p.waiters() == 0);
    std::this_thread::sleep_for(20ms);
    CHECK(woken.load() == 1);
}

TEST_CASE("stress: 1000 readers on 4 rings, 8 writer threads, random timing, nobody hangs") {
    constexpr uint64_t kChunk = 64 * 1024;
    constexpr size_t kChunks = 128;
    constexpr uint64_t kSize = kChunk * kChunks - 777;  // a short last chunk
    constexpr int kReaders = 1000;
    constexpr int kRings = 4;
    constexpr int kWriters = 8;

    ChunkProgress p;
    p.init(plan_of(kSize, kChunk));
    std::vector<std::unique_ptr<RingThread>> rings;
    for (int i = 0; i < kRings; ++i)
        rings.push_back(std::make_unique<RingThread>());

    // Each reader starts somewhere, and on every wake-up reads what is there and waits again
    // until it reaches the end of the object.
    struct Reader {
        ring::Ring* ring = nullptr;
        uint64_t pos = 0;
        uint64_t wakes = 0;
        bool done = false;
    };
    std::vector<Reader> readers(kReaders);
    std::atomic<int> finished{0};
    std::atomic<uint64_t> regressions{0};
    std::function<void(Reader*)> step;
    step = [&](Reader* r) {
        for (;;) {
            uint64_t avail = p.available_from(r->pos);
            if (avail > 0) {
                r->pos += avail;
                continue;
            }
            if (r->pos >= kSize) {
                r->done = true;
                finished.fetch_add(1);
                return;
            }
            uint64_t pos = r->pos;
            bool waiting = p.wait(
                *r->ring,
                [r, &step] {
                    ++r->wakes;
                    step(r);
                },
                [&p, pos] { return p.available_from(pos) > 0; });
            if (waiting) return;
        }
    };
    std::mt19937_64 rng(12345);
    for (int i = 0; i < kReaders; ++i) {
        Reader* r = &readers[i];
        r->ring = &rings[i % kRings]->ring();
        r->pos = rng() % kSize;
        r->ring->post([r, &step] { step(r); });
    }

    // Writers: each owns every kWriters-th chunk and publishes it in random steps with random
    // pauses, so publishes race with readers re-checking and registering.
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
        writers.emplace_back([&, w] {
            std::mt19937_64 wr(1000 + w);
            std::vector<uint64_t> written(kChunks, 0);
            bool more = true;
            while (more) {
                more = false;
                for (size_t c = w; c < kChunks; c += kWriters) {
                    uint64_t len = c + 1 < kChunks ? kChunk : kSize - c * kChunk;
                    if (written[c] == len) continue;
                    uint64_t step_len = 1 + wr() % 3000;
                    uint64_t before = p.written(c);
                    written[c] = std::min(len, written[c] + step_len);
                    p.publish(c, written[c]);
                    if (p.written(c) < before) regressions.fetch_add(1);
                    if (wr() % 4 == 0)
                        std::this_thread::sleep_for(std::chrono::microseconds(wr() % 50));
                    more = more || written[c] < len;
                }
            }
        });
    }
    for (auto& t : writers)
        t.join();
    CHECK(p.contiguous_prefix() == kSize);

    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (finished.load() < kReaders && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    CHECK(finished.load() == kReaders);  // a lost wake-up would leave a reader asleep here
    CHECK(regressions.load() == 0);
    CHECK(p.waiters() == 0);
    rings.clear();  // join the rings before `readers` and `step` go away
    uint64_t wakes = 0;
    for (auto& r : readers) {
        CHECK(r.done);
        wakes += r.wakes;
    }
    // The readers really slept and were woken (else the test proved nothing).
    CHECK(wakes > static_cast<uint64_t>(kReaders));
    MESSAGE("wake-ups: " << wakes);
}
