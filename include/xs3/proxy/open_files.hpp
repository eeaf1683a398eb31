// OpenFiles: cache files kept open for the next hit, so a hit on a small object costs no system
// call and no trip to the blocking pool (an open and a header read per request otherwise: about
// a third of the CPU of 4 KiB hits). Bounded by count, and only objects up to a size are kept:
// a file evicted while it is held open keeps its blocks until it leaves, so large ones are not
// held. Thread-safe; an LRU of shared entries.
//
// A held entry may be stale: its file replaced under the same name key by a newer version, or
// evicted. Callers check the entry's ETag against what S3 or the index says, and that the index
// still holds the key, before serving it (Exchange::serve_from_cache).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "xs3/cache/key.hpp"
#include "xs3/cache/store.hpp"

namespace xs3::proxy {

class OpenFiles {
  public:
    OpenFiles(size_t max_files, uint64_t max_object_bytes)
        : max_files_(max_files), max_object_bytes_(max_object_bytes) {}

    std::shared_ptr<const cache::Entry> find(const cache::CacheKey& key);
    // Keeps `entry` for `key` if it is small enough (replacing what was held for it).
    void put(const cache::CacheKey& key, std::shared_ptr<const cache::Entry> entry);
    void drop(const cache::CacheKey& key);
    size_t size() const;

  private:
    // Keyed by the CacheKey itself: a hit builds no file name (no allocation under the lock).
    struct KeyHash {
        size_t operator()(const cache::CacheKey& k) const noexcept {
            return std::hash<std::string>()(k.hex) ^ static_cast<size_t>(k.content_addressed);
        }
    };
    using Lru = std::list<std::pair<cache::CacheKey, std::shared_ptr<const cache::Entry>>>;
    const size_t max_files_;
    const uint64_t max_object_bytes_;
    mutable std::mutex mu_;
    Lru lru_;  // most recent first
    std::unordered_map<cache::CacheKey, Lru::iterator, KeyHash> by_key_;
};

}  // namespace xs3::proxy
