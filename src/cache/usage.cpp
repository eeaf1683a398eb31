// collect_usage.
#include "xs3/cache/usage.hpp"

namespace xs3::cache {

CacheUsage collect_usage(const CacheIndex& index, const Evictor& evictor, const CacheScan& scan) {
    CacheUsage u;
    u.index = index.stats();
    u.evictor = evictor.stats();
    u.scan = scan.stats();
    const EvictorOptions& o = evictor.options();
    u.watermark_percent = o.watermark_percent;
    u.target_percent = o.target_percent;
    u.watermark_bytes = percent_of(o.max_bytes, o.watermark_percent);
    u.target_bytes = percent_of(o.max_bytes, o.target_percent);
    return u;
}

}  // namespace xs3::cache
