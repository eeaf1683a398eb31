#include <doctest/doctest.h>

#include <cstddef>

#include "xs3/fetch/planner.hpp"

using namespace xs3::fetch;

namespace {
uint64_t covered(const ChunkPlan& p) {
    uint64_t next = 0;
    for (auto& c : p.chunks) {
        REQUIRE(c.offset == next);
        REQUIRE(c.length > 0);
        next += c.length;
    }
    return next;
}
}  // namespace

TEST_CASE("empty object has no chunks") {
    auto p = plan_chunks(0, {});
    CHECK(p.chunks.empty());
    CHECK(p.concurrency == 0);
}

TEST_CASE("one byte is one chunk") {
    auto p = plan_chunks(1, {});
    REQUIRE(p.chunks.size() == 1);
    CHECK(p.chunks[0].length == 1);
    CHECK(p.concurrency == 1);
}

TEST_CASE("exact multiples and remainders") {
    PlannerOptions o;
    auto p = plan_chunks(3 * o.chunk_size, o);
    CHECK(p.chunks.size() == 3);
    CHECK(covered(p) == 3 * o.chunk_size);
    p = plan_chunks(3 * o.chunk_size + 1, o);
    CHECK(p.chunks.size() == 4);
    CHECK(p.chunks.back().length == 1);
    CHECK(covered(p) == 3 * o.chunk_size + 1);
    p = plan_chunks(o.chunk_size - 1, o);
    CHECK(p.chunks.size() == 1);
}

TEST_CASE("concurrency is capped and objects larger than concurrency x chunk still plan") {
    PlannerOptions o;
    o.max_concurrency = 4;
    uint64_t size = 10 * 4 * o.chunk_size + 12345;
    auto p = plan_chunks(size, o);
    CHECK(p.concurrency == 4);
    CHECK(p.chunks.size() == 41);
    CHECK(covered(p) == size);
}

TEST_CASE("chunk size is clamped into [min, max]") {
    PlannerOptions o;
    o.chunk_size = 100;
    o.min_chunk_size = 4096;
    CHECK(plan_chunks(10000, o).chunk_size == 4096);
    o.chunk_size = 1ULL << 30;
    o.max_chunk_size = 16ULL << 20;
    CHECK(plan_chunks(1ULL << 32, o).chunk_size == 16ULL << 20);
}

TEST_CASE("alignment rounds the chunk size up, so O_DIRECT chunks start on block boundaries") {
    PlannerOptions o;
    o.chunk_size = 5000;
    o.min_chunk_size = 1;
    o.alignment = 4096;
    CHECK(effective_chunk_size(o) == 8192);
    auto p = plan_chunks(20000, o);
    REQUIRE(p.chunks.size() == 3);
    for (auto& c : p.chunks)
        CHECK(c.offset % 4096 == 0);
    CHECK(p.chunks.back().length == 20000 - 2 * 8192);
    CHECK(covered(p) == 20000);
}

TEST_CASE("chunk boundaries do not depend on the object size") {
    PlannerOptions o;
    uint64_t cs = effective_chunk_size(o);
    for (uint64_t size : {cs, cs + 1, 7 * cs - 1, 100 * cs + 3}) {
        auto p = plan_chunks(size, o);
        for (size_t i = 0; i < p.chunks.size(); ++i)
            CHECK(p.chunks[i].offset == i * cs);
    }
}
