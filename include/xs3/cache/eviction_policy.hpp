// The eviction decision as a pure function: from usage, limits and free space, how many bytes
// must go. Which objects go is the index's LRU order (CacheIndex::evict); doing the I/O is the
// Evictor's.
#pragma once

#include <cstdint>

namespace xs3::cache {

// The free-space floor on the cache filesystem: a fixed number of bytes, or a percentage of the
// filesystem's size (percent != 0 wins).
struct FreeSpaceFloor {
    uint64_t bytes = 0;
    unsigned percent = 0;  // 0..100
};

// a * percent / 100, without overflow for any a.
uint64_t percent_of(uint64_t a, unsigned percent) noexcept;

uint64_t floor_bytes(const FreeSpaceFloor& floor, uint64_t fs_total_bytes) noexcept;

struct SpaceSample {
    uint64_t used_bytes = 0;      // published objects, blocks on disk
    uint64_t reserved_bytes = 0;  // promised to downloads in flight
    uint64_t max_bytes = 0;       // --max-cache-size
    unsigned watermark_percent = 95;
    unsigned target_percent = 90;
    bool have_fs = false;  // false: the filesystem could not be asked; the floor is not checked
    uint64_t fs_free_bytes = 0;
    uint64_t fs_floor_bytes = 0;
};

struct EvictionPlan {
    uint64_t bytes_to_free = 0;
    bool over_watermark = false;  // used + reserved passed watermark% of max_bytes
    bool below_floor = false;     // free space is under the floor
};

// Nothing to do until occupancy (used + reserved: reservations are space already promised) passes
// the watermark or free space falls below the floor. Then enough to bring occupancy down to the
// target and free space back up to the floor, whichever needs more.
EvictionPlan plan_eviction(const SpaceSample& s) noexcept;

}  // namespace xs3::cache
