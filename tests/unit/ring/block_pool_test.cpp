#include <doctest/doctest.h>

#include "xs3/ring/block_pool.hpp"

using namespace xs3;

TEST_CASE("block pool: blocks are reused, aligned, and counted") {
    ring::BlockPool pool(10000, 2);
    CHECK(pool.block_size() == 12288);  // rounded up to 4 KiB
    auto a = pool.acquire();
    REQUIRE(a);
    CHECK(reinterpret_cast<uintptr_t>(a.get()) % ring::BlockPool::kAlignment == 0);
    char* raw = a.get();
    CHECK(pool.outstanding() == 1);
    pool.release(std::move(a));
    CHECK(pool.outstanding() == 0);
    CHECK(pool.idle() == 1);
    auto b = pool.acquire();
    CHECK(b.get() == raw);
    pool.release(std::move(b));
}

TEST_CASE("block pool: buffers are sized by class and kept for reuse") {
    ring::BlockPool pool(256 * 1024);
    // Above a quarter of a block: a whole pooled block.
    auto big = pool.acquire_buffer(100 * 1024, false);
    REQUIRE(big);
    CHECK(big.capacity == 256 * 1024);
    // Small: the next power of two from 4 KiB.
    auto four = pool.acquire_buffer(4096, false);
    auto five = pool.acquire_buffer(5000, false);
    auto one = pool.acquire_buffer(1, false);
    REQUIRE(four);
    REQUIRE(five);
    REQUIRE(one);
    CHECK(four.capacity == 4096);
    CHECK(five.capacity == 8192);
    CHECK(one.capacity == 4096);
    CHECK(pool.buffered() == 256 * 1024 + 4096 + 8192 + 4096);
    CHECK(pool.outstanding() == 4);
    char* one_raw = one.data();
    char* big_raw = big.data();
    pool.release(std::move(four));
    pool.release(std::move(big));
    pool.release(std::move(five));
    pool.release(std::move(one));
    CHECK(pool.buffered() == 0);
    CHECK(pool.outstanding() == 0);
    // The same memory comes back for the same class (the last one handed back first).
    auto again = pool.acquire_buffer(3000, false);
    auto big_again = pool.acquire_buffer(256 * 1024, false);
    CHECK(again.data() == one_raw);
    CHECK(again.capacity == 4096);
    CHECK(big_again.data() == big_raw);
    pool.release(std::move(again));
    pool.release(std::move(big_again));
    // Nothing larger than a block, nothing empty.
    CHECK_FALSE(pool.acquire_buffer(256 * 1024 + 1, true));
    CHECK_FALSE(pool.acquire_buffer(0, true));
}

TEST_CASE("block pool: the budget refuses buffers unless forced") {
    ring::BlockPool pool(64 * 1024, 8, 100 * 1024);
    auto a = pool.acquire_buffer(64 * 1024, false);
    REQUIRE(a);
    auto b = pool.acquire_buffer(64 * 1024, false);
    CHECK_FALSE(b);  // 128 KiB > 100 KiB
    CHECK(pool.buffered() == 64 * 1024);
    auto small = pool.acquire_buffer(16 * 1024, false);
    CHECK(small);  // 80 KiB fits
    auto forced = pool.acquire_buffer(64 * 1024, true);
    REQUIRE(forced);  // a caller without a buffer always gets one
    CHECK(pool.buffered() == 144 * 1024);
    pool.release(std::move(a));
    pool.release(std::move(small));
    pool.release(std::move(forced));
    CHECK(pool.buffered() == 0);
    CHECK(pool.acquire_buffer(64 * 1024, false));
}

TEST_CASE("block pool: a forced buffer beyond the budget is one small step") {
    ring::BlockPool pool(1024 * 1024, 8, 1024 * 1024);
    CHECK(pool.acquisitions() == 0);
    auto a = pool.acquire_buffer(1024 * 1024, false);
    REQUIRE(a);
    CHECK(a.capacity == 1024 * 1024);
    CHECK_FALSE(pool.acquire_buffer(300 * 1024, false));  // over the budget, not forced
    auto forced = pool.acquire_buffer(1024 * 1024, true);
    REQUIRE(forced);
    CHECK(forced.capacity == ring::BlockPool::kForcedMax);
    auto tiny = pool.acquire_buffer(5000, true);  // already smaller: its own class
    REQUIRE(tiny);
    CHECK(tiny.capacity == 8192);
    CHECK(pool.buffered() == 1024 * 1024 + ring::BlockPool::kForcedMax + 8192);
    CHECK(pool.acquisitions() == 3);
    pool.release(std::move(a));
    pool.release(std::move(forced));
    pool.release(std::move(tiny));
    CHECK(pool.buffered() == 0);
    CHECK(pool.outstanding() == 0);
    // Within the budget again: whole blocks.
    auto b = pool.acquire_buffer(1024 * 1024, true);
    CHECK(b.capacity == 1024 * 1024);
    pool.release(std::move(b));
    CHECK(pool.acquisitions() == 4);
    CHECK(pool.idle() == 1);
    pool.drop_idle();
    CHECK(pool.idle() == 0);
}

TEST_CASE("block pool: with blocks of kForcedMax or less, forcing changes nothing") {
    ring::BlockPool pool(64 * 1024, 8, 64 * 1024);
    auto a = pool.acquire_buffer(64 * 1024, false);
    auto forced = pool.acquire_buffer(64 * 1024, true);
    REQUIRE(forced);
    CHECK(forced.capacity == 64 * 1024);
    pool.release(std::move(a));
    pool.release(std::move(forced));
    // A block between kForcedMax and four times it: the forced step is a small buffer.
    ring::BlockPool mid(512 * 1024, 8, 512 * 1024);
    auto m = mid.acquire_buffer(512 * 1024, false);
    auto mf = mid.acquire_buffer(400 * 1024, true);
    REQUIRE(mf);
    CHECK(mf.capacity == ring::BlockPool::kForcedMax);
    mid.release(std::move(m));
    mid.release(std::move(mf));
    CHECK(mid.buffered() == 0);
}

TEST_CASE("block pool: idle memory is dropped only after a whole quiet period") {
    ring::BlockPool pool(64 * 1024, 8);
    uint64_t mark = 0;
    auto a = pool.acquire_buffer(64 * 1024, false);
    auto b = pool.acquire_buffer(4096, false);
    CHECK_FALSE(pool.drop_idle_if_quiet(mark));  // handed out since the mark
    pool.release(std::move(a));
    pool.release(std::move(b));
    CHECK(pool.idle() == 1);
    // Nothing handed out since the last call, nothing outstanding: dropped.
    CHECK(pool.drop_idle_if_quiet(mark));
    CHECK(pool.idle() == 0);
    auto c = pool.acquire_buffer(64 * 1024, false);
    CHECK_FALSE(pool.drop_idle_if_quiet(mark));  // busy
    CHECK_FALSE(pool.drop_idle_if_quiet(mark));  // still outstanding
    pool.release(std::move(c));
    CHECK(pool.idle() == 1);
    CHECK(pool.drop_idle_if_quiet(mark));  // no acquisition in the last period
    CHECK(pool.idle() == 0);
    // Used and given back within one period: kept for that period.
    auto d = pool.acquire_buffer(64 * 1024, false);
    pool.release(std::move(d));
    CHECK_FALSE(pool.drop_idle_if_quiet(mark));
    CHECK(pool.idle() == 1);
    CHECK(pool.drop_idle_if_quiet(mark));
    CHECK(pool.idle() == 0);
}
