// NameMemo: what this process knows it has cached under an object name — the cache key (which
// may be a content key from x-amz-meta-sha224), the ETag and the size — so a request for a name
// that is cached can be revalidated with one conditional HEAD, and one that is not goes straight
// to a ranged GET (no HEAD in front of a cold miss). Filled on publish and on hits; thread-safe.
// Bounded: past max_entries it starts over (the cost is one extra probe per forgotten name).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "xs3/cache/key.hpp"

namespace xs3::proxy {

struct KnownObject {
    cache::CacheKey key;
    std::string etag;
    uint64_t size = 0;
};

class NameMemo {
  public:
    explicit NameMemo(size_t max_entries = 1 << 20) : max_entries_(max_entries) {}
    std::optional<KnownObject> find(const std::string& name_key) const;
    void remember(const std::string& name_key, KnownObject known);
    void forget(const std::string& name_key);
    size_t size() const;

  private:
    const size_t max_entries_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, KnownObject> known_;
};

}  // namespace xs3::proxy
