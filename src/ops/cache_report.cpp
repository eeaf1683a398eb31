// cache_usage_json and append_cache_metrics.
#include "xs3/ops/cache_report.hpp"

#include "xs3/base/json_writer.hpp"

namespace xs3::ops {

std::string cache_usage_json(const cache::CacheUsage& u) {
    JsonWriter w;
    w.begin_object();
    w.field("used_bytes", u.index.used_bytes);
    w.field("reserved_bytes", u.index.reserved_bytes);
    w.field("max_bytes", u.index.max_bytes);
    w.field("limit_bytes", u.index.limit_bytes);
    w.field("watermark_percent", u.watermark_percent);
    w.field("watermark_bytes", u.watermark_bytes);
    w.field("target_percent", u.target_percent);
    w.field("target_bytes", u.target_bytes);
    w.field("objects", u.index.objects);
    w.field("names", u.index.names);
    w.field("pinned_bytes", u.index.pinned_bytes);
    w.field("evicted_objects", u.index.evicted_objects);
    w.field("evicted_bytes", u.index.evicted_bytes);
    w.field("removed_objects", u.index.removed_objects);
    w.field("reservations_refused", u.index.reservations_refused);
    w.key("filesystem").begin_object();
    w.field("known", u.evictor.have_fs);
    w.field("total_bytes", u.evictor.fs_total_bytes);
    w.field("free_bytes", u.evictor.fs_free_bytes);
    w.field("floor_bytes", u.evictor.fs_floor_bytes);
    w.end_object();
    w.key("scan").begin_object();
    w.field("state", cache::scan_state_name(u.scan.state));
    w.field("files", u.scan.files);
    w.field("bytes", u.scan.bytes);
    w.field("removed_broken", u.scan.removed_broken);
    w.field("removed_misplaced", u.scan.removed_misplaced);
    w.field("removed_temp", u.scan.removed_temp);
    w.field("foreign", u.scan.foreign);
    w.field("errors", u.scan.errors);
    w.field("elapsed_ms", u.scan.elapsed_ms);
    w.end_object();
    w.key("evictor").begin_object();
    w.field("passes", u.evictor.passes);
    w.field("files_removed", u.evictor.files_removed);
    w.field("remove_errors", u.evictor.remove_errors);
    w.field("stamps_written", u.evictor.stamps_written);
    w.end_object();
    w.end_object();
    return w.text();
}

void append_cache_metrics(PrometheusText& out, const cache::CacheUsage& u) {
    out.gauge("xs3_cache_used_bytes", "Blocks on disk of cached objects", u.index.used_bytes);
    out.gauge("xs3_cache_reserved_bytes", "Space promised to downloads in flight",
              u.index.reserved_bytes);
    out.gauge("xs3_cache_max_bytes", "--max-cache-size", u.index.max_bytes);
    out.gauge("xs3_cache_limit_bytes",
              "Occupancy allowed now: --max-cache-size or less to keep the free-space floor",
              u.index.limit_bytes);
    out.gauge("xs3_cache_objects", "Cached objects in the index", u.index.objects);
    out.gauge("xs3_cache_pinned_bytes", "Bytes of objects pinned against eviction",
              u.index.pinned_bytes);
    out.counter("xs3_cache_evicted_objects_total", "Objects evicted", u.index.evicted_objects);
    out.counter("xs3_cache_evicted_bytes_total", "Bytes evicted", u.index.evicted_bytes);
    out.counter("xs3_cache_removed_objects_total", "Objects invalidated or purged",
                u.index.removed_objects);
    out.counter("xs3_cache_reservations_refused_total",
                "Downloads refused cache space even after evicting", u.index.reservations_refused);
    out.gauge("xs3_cache_fs_free_bytes", "Free space on the cache filesystem at the last check",
              u.evictor.fs_free_bytes);
    out.gauge("xs3_cache_fs_floor_bytes", "The free-space floor (--min-free-space)",
              u.evictor.fs_floor_bytes);
    out.counter("xs3_cache_evictor_passes_total", "Evictor passes", u.evictor.passes);
    out.counter("xs3_cache_remove_errors_total", "Cache files that could not be removed",
                u.evictor.remove_errors);
    out.family("xs3_cache_scan_state", "gauge", "Start-up scan state (1 for the current one)");
    for (auto s : {cache::ScanState::idle, cache::ScanState::running, cache::ScanState::done,
                   cache::ScanState::failed, cache::ScanState::stopped})
        out.sample("xs3_cache_scan_state", "state", cache::scan_state_name(s),
                   u.scan.state == s ? 1 : 0);
    out.gauge("xs3_cache_scan_files", "Cache files found by the start-up scan so far",
              u.scan.files);
}

}  // namespace xs3::ops
