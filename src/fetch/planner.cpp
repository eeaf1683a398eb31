// Chunk planner.
#include "xs3/fetch/planner.hpp"

#include <algorithm>

namespace xs3::fetch {

uint64_t effective_chunk_size(const PlannerOptions& o) {
    uint64_t lo = std::max<uint64_t>(1, o.min_chunk_size);
    uint64_t hi = std::max(lo, o.max_chunk_size);
    uint64_t size = std::clamp(o.chunk_size, lo, hi);
    uint64_t align = std::max<uint64_t>(1, o.alignment);
    return (size + align - 1) / align * align;
}

ChunkPlan plan_chunks(uint64_t object_size, const PlannerOptions& o) {
    ChunkPlan plan;
    plan.chunk_size = effective_chunk_size(o);
    if (object_size == 0) return plan;
    uint64_t n = (object_size + plan.chunk_size - 1) / plan.chunk_size;
    plan.chunks.reserve(n);
    for (uint64_t off = 0; off < object_size; off += plan.chunk_size)
        plan.chunks.push_back({off, std::min(plan.chunk_size, object_size - off)});
    plan.concurrency =
        static_cast<unsigned>(std::min<uint64_t>(std::max(1u, o.max_concurrency), n));
    return plan;
}

}  // namespace xs3::fetch
