// Chunk planner: how an object is cut into ranged GETs and how many run at once. Chunk
// boundaries depend only on the options, never on the object size, so the chunk holding a given
// byte is known before the size is (the first GET of a cold object is that chunk's, and its
// answer tells the size).
#pragma once

#include <cstdint>
#include <vector>

namespace xs3::fetch {

struct PlannerOptions {
    uint64_t chunk_size = 8ULL << 20;  // preferred size, clamped into [min, max]
    uint64_t min_chunk_size = 1ULL << 20;
    uint64_t max_chunk_size = 256ULL << 20;
    unsigned max_concurrency = 32;
    // Chunk sizes are rounded up to a multiple of this (4096 for O_DIRECT writes); 1 = any size.
    uint64_t alignment = 1;
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

// The chunk size the options give: clamped into [min, max], then rounded up to the alignment.
uint64_t effective_chunk_size(const PlannerOptions& options);

ChunkPlan plan_chunks(uint64_t object_size, const PlannerOptions& options);

}  // namespace xs3::fetch
