// plan_eviction: watermark/target on occupancy, plus the free-space floor.
#include "xs3/cache/eviction_policy.hpp"

#include <algorithm>

namespace xs3::cache {
uint64_t percent_of(uint64_t a, unsigned percent) noexcept {
    return a / 100 * percent + a % 100 * percent / 100;
}

uint64_t floor_bytes(const FreeSpaceFloor& floor, uint64_t fs_total_bytes) noexcept {
    if (floor.percent != 0) return percent_of(fs_total_bytes, std::min(floor.percent, 100u));
    return floor.bytes;
}

EvictionPlan plan_eviction(const SpaceSample& s) noexcept {
    EvictionPlan plan;
    uint64_t occupied = s.used_bytes + s.reserved_bytes;
    uint64_t watermark = percent_of(s.max_bytes, s.watermark_percent);
    uint64_t target = percent_of(s.max_bytes, s.target_percent);
    plan.over_watermark = occupied > watermark;
    plan.below_floor = s.have_fs && s.fs_free_bytes < s.fs_floor_bytes;
    if (!plan.over_watermark && !plan.below_floor) return plan;
    uint64_t for_target = occupied > target ? occupied - target : 0;
    uint64_t for_floor = plan.below_floor ? s.fs_floor_bytes - s.fs_free_bytes : 0;
    // Reserved bytes cannot be evicted; asking for more than is published just empties the cache.
    plan.bytes_to_free = std::min(std::max(for_target, for_floor), s.used_bytes);
    return plan;
}

}  // namespace xs3::cache
