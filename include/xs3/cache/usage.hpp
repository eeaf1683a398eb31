// CacheUsage: one read-only snapshot of the cache's state (the index's figures, the evictor's
// last free-space sample, the scan's progress) for /cache/usage and /metrics.
#pragma once

#include <cstdint>

#include "xs3/cache/evictor.hpp"
#include "xs3/cache/index.hpp"
#include "xs3/cache/scan.hpp"

namespace xs3::cache {

struct CacheUsage {
    IndexStats index;
    EvictorStats evictor;
    ScanStats scan;
    unsigned watermark_percent = 0;
    unsigned target_percent = 0;
    uint64_t watermark_bytes = 0;
    uint64_t target_bytes = 0;
};

CacheUsage collect_usage(const CacheIndex& index, const Evictor& evictor, const CacheScan& scan);

}  // namespace xs3::cache
