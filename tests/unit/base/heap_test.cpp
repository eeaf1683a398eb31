// HeapTrimmer's decision, and that a trim after a burst of frees gives memory back.
#include "xs3/base/heap.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <vector>

using namespace xs3;

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

TEST_CASE("trim_heap gives freed arena memory back") {
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
