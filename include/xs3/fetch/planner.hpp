// Chunk planner: how an object is cut into ranged GETs and how many run at once.
#pragma once

#include <cstdint>
#include <vector>

namespace xs3::fetch {

struct PlannerOptions {
    uint64_t chunk_size = 8ULL << 20;  // preferred size, clamped into [min, max]
    uint64_t min_chunk_size = 1ULL << 20;
    uint64_t max_chunk_size = 256ULL << 20;
    unsigned max_concurrency = 32;
};

struct ChunkRange {
    uint64_t offset;
    uint64_t length;
};

struct ChunkPlan {
    uint64_t chunk_size = 0;
    unsigned concurrency = 0;  // min(max_concurrency, chunk count); 0 for an empty object
    std::vector<ChunkRange> chunks;
};

ChunkPlan plan_chunks(uint64_t object_size, const PlannerOptions& options);

}  // namespace xs3::fetch
