// The cache's state for operators: /cache/usage's JSON document and the cache families of
// /metrics, both from one cache::CacheUsage snapshot.
#pragma once

#include <string>

#include "xs3/cache/usage.hpp"
#include "xs3/ops/prometheus.hpp"

namespace xs3::ops {

// {"used_bytes":..,"reserved_bytes":..,"max_bytes":..,"limit_bytes":..,"watermark_percent":..,
//  "watermark_bytes":..,"target_percent":..,"target_bytes":..,"objects":..,"names":..,
//  "pinned_bytes":..,"evicted_objects":..,"evicted_bytes":..,"removed_objects":..,
//  "reservations_refused":..,"filesystem":{"known":..,"total_bytes":..,"free_bytes":..,
//  "floor_bytes":..},"scan":{"state":"..","files":..,"bytes":..,"removed_broken":..,
//  "removed_misplaced":..,"removed_temp":..,"foreign":..,"errors":..,"elapsed_ms":..},
//  "evictor":{"passes":..,"files_removed":..,"remove_errors":..,"stamps_written":..}}
std::string cache_usage_json(const cache::CacheUsage& u);

void append_cache_metrics(PrometheusText& out, const cache::CacheUsage& u);

}  // namespace xs3::ops
