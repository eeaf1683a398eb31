// HeapTrimmer's decision, and that a trim after a burst of frees gives memory back.
#include "xs3/base/heap.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

using namespace xs3;

// Under ASan and TSan malloc is the sanitizer's own (with a quarantine of freed memory): glibc's
// arenas hold nothing and malloc_trim has nothing to give back, so the test of the trim itself
// only runs on glibc's malloc. The trimmer thread's tests run everywhere (TSan checks them).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kGlibcMalloc = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kGlibcMalloc = false;
#else
constexpr bool kGlibcMalloc = true;
#endif
#else
constexpr bool kGlibcMalloc = true;
#endif

TEST_CASE("a trim follows growth beyond malloc's own use, not a steady state") {
    constexpr uint64_t MiB = 1 << 20;
    HeapStats s;
    s.in_use = 40 * MiB;
    s.rss = 40 * MiB + 20 * MiB;  // 20 MiB beyond what is in use
    // Against a baseline of 20 MiB (code, rings): nothing grew.
    CHECK_FALSE(HeapTrimmer::should_trim(s, 20 * MiB, 32 * MiB));
    // A burst left 200 MiB of free pages resident.
    s.rss = 40 * MiB + 220 * MiB;
    CHECK(HeapTrimmer::should_trim(s, 20 * MiB, 32 * MiB));
    // Just under and just over the growth allowed, whatever the heap's size.
    s.in_use = 400 * MiB;
    s.rss = 400 * MiB + 52 * MiB;
    CHECK_FALSE(HeapTrimmer::should_trim(s, 20 * MiB, 32 * MiB));
    s.rss = 400 * MiB + 53 * MiB;
    CHECK(HeapTrimmer::should_trim(s, 20 * MiB, 32 * MiB));
    // RSS below in_use (pages never touched) is no growth at all.
    s.rss = 100 * MiB;
    CHECK_FALSE(HeapTrimmer::should_trim(s, 0, 32 * MiB));
}

TEST_CASE("trim_heap gives freed arena memory back" * doctest::skip(!kGlibcMalloc)) {
    // 64 MiB in 16 KiB pieces (below the mmap threshold: they live in the arena), touched, freed.
    std::vector<std::unique_ptr<char[]>> pieces;
    for (int i = 0; i < 4096; ++i) {
        pieces.emplace_back(new char[16384]);
        for (int j = 0; j < 16384; j += 4096)
            pieces.back()[j] = 1;
    }
    // Keep every 64th piece so the arena cannot shrink from its top alone.
    for (size_t i = 0; i < pieces.size(); ++i)
        if (i % 64 != 0) pieces[i].reset();
    HeapStats before = heap_stats();
    trim_heap();
    HeapStats after = heap_stats();
    CHECK(before.rss > 0);
    CHECK(after.rss + (32 << 20) < before.rss);
}

TEST_CASE("the trimmer thread trims once free memory stays resident, and counts what went back") {
    HeapTrimmer::Options o;
    o.interval = std::chrono::milliseconds(10);
    o.min_growth = 16 << 20;
    HeapTrimmer trimmer(o);
    // Other threads allocate, touch and free while the trimmer looks (what workers do).
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
        threads.emplace_back([t] {
            for (int round = 0; round < 20; ++round) {
                std::vector<std::unique_ptr<char[]>> pieces;
                for (int i = 0; i < 64; ++i) {
                    pieces.emplace_back(new char[16384]);
                    std::memset(pieces.back().get(), round + t, 16384);
                }
            }
        });
    // A burst's leftovers: 64 MiB touched, then all but every 64th piece freed (the arena cannot
    // shrink from its top), so about 63 MiB of free pages stay resident until a trim.
    std::vector<std::unique_ptr<char[]>> pieces;
    for (int i = 0; i < 4096; ++i) {
        pieces.emplace_back(new char[16384]);
        std::memset(pieces.back().get(), 1, 16384);
    }
    for (size_t i = 0; i < pieces.size(); ++i)
        if (i % 64 != 0) pieces[i].reset();
    for (auto& t : threads)
        t.join();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    auto done = [&] {
        return trimmer.trims() >= 1 && (!kGlibcMalloc || trimmer.released() > (16u << 20));
    };
    while (!done() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(trimmer.trims() >= 1);
    // On glibc's malloc the trim gave most of those pages back.
    if (kGlibcMalloc) CHECK(trimmer.released() > (16u << 20));
}

TEST_CASE("the trimmer stops at once when destroyed, whatever its interval") {
    HeapTrimmer::Options o;
    o.interval = std::chrono::hours(1);
    auto start = std::chrono::steady_clock::now();
    {
        HeapTrimmer trimmer(o);
        CHECK(trimmer.trims() == 0);
    }
    // A trimmer that slept out its interval would hold the test for an hour (the test times out).
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::minutes(5));
}
