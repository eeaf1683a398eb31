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
