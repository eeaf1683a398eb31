// Tests of the pure eviction decision: watermark, target, free-space floor, and how the index's
// LRU order turns the decision into victims.
#include "xs3/cache/eviction_policy.hpp"

#include <doctest/doctest.h>

#include "cache_files.hpp"
#include "xs3/cache/index.hpp"

using namespace xs3;
using namespace xs3::cache;

namespace {

SpaceSample sample(uint64_t used, uint64_t reserved = 0) {
    SpaceSample s;
    s.used_bytes = used;
    s.reserved_bytes = reserved;
    s.max_bytes = 1000;
    s.watermark_percent = 95;
    s.target_percent = 90;
    return s;
}

}  // namespace

TEST_CASE("percent_of and floor_bytes") {
    CHECK(percent_of(1000, 95) == 950);
    CHECK(percent_of(199, 50) == 99);
    CHECK(percent_of(UINT64_MAX, 100) == UINT64_MAX);  // no overflow
    CHECK(percent_of(UINT64_MAX, 50) == UINT64_MAX / 2);
    CHECK(floor_bytes({123, 0}, 1000) == 123);
    CHECK(floor_bytes({123, 5}, 1000) == 50);  // the percentage wins when set
    CHECK(floor_bytes({0, 0}, 1000) == 0);
}

TEST_CASE("below the watermark and above the floor nothing is evicted") {
    auto p = plan_eviction(sample(950));
    CHECK(p.bytes_to_free == 0);
    CHECK_FALSE(p.over_watermark);
    CHECK_FALSE(p.below_floor);
    SpaceSample s = sample(500);
    s.have_fs = true;
    s.fs_free_bytes = 100;
    s.fs_floor_bytes = 100;
    CHECK(plan_eviction(s).bytes_to_free == 0);
}

TEST_CASE("past the watermark, down to the target; reservations count as occupied") {
    auto p = plan_eviction(sample(951));
    CHECK(p.over_watermark);
    CHECK(p.bytes_to_free == 51);
    p = plan_eviction(sample(600, 400));  // 1000 occupied, 400 of it promised to downloads
    CHECK(p.bytes_to_free == 100);
    // Reservations cannot be evicted: never ask for more than is published.
    p = plan_eviction(sample(50, 1000));
    CHECK(p.bytes_to_free == 50);
}

TEST_CASE("free space under the floor evicts enough to restore it, whichever needs more") {
    SpaceSample s = sample(300);
    s.have_fs = true;
    s.fs_free_bytes = 40;
    s.fs_floor_bytes = 100;
    auto p = plan_eviction(s);
    CHECK(p.below_floor);
    CHECK_FALSE(p.over_watermark);
    CHECK(p.bytes_to_free == 60);

    s.used_bytes = 990;  // both: 90 for the target, 60 for the floor
    CHECK(plan_eviction(s).bytes_to_free == 90);
    s.fs_free_bytes = 0;  // the floor needs more
    CHECK(plan_eviction(s).bytes_to_free == 100);
    s.have_fs = false;  // unknown free space: only the watermark counts
    CHECK(plan_eviction(s).bytes_to_free == 90);
}

TEST_CASE("given entries and a plan, the least recently used unpinned ones are chosen") {
    int64_t t = 0;
    CacheIndex index(1000, [&] { return t += 10; });
    auto add = [&](const std::string& k, uint64_t bytes) {
        CacheKey key = testing::name_key(k);
        FileFacts f;
        f.disk_bytes = bytes;
        index.publish(key, testing::meta_of(k, bytes), f, Reservation());
        return key;
    };
    CacheKey a = add("a", 300), b = add("b", 300), c = add("c", 200), d = add("d", 180);
    index.touch(a);  // LRU order: b, c, d, a
    Pin pin_c = index.pin(c);
    IndexStats st = index.stats();
    auto plan = plan_eviction(sample(st.used_bytes, st.reserved_bytes));  // 980 > 950
    REQUIRE(plan.bytes_to_free == 80);
    auto victims = index.evict(plan.bytes_to_free);
    REQUIRE(victims.size() == 1);
    CHECK(victims[0].key == b);  // c is pinned; b alone frees enough
    plan = plan_eviction(sample(index.stats().used_bytes));
    CHECK(plan.bytes_to_free == 0);
    (void)d;
}
