// purge_object and purge_prefix: index removal, then the unlinks.
#include "xs3/cache/purge.hpp"

#include <optional>
#include <string>
#include <vector>

namespace xs3::cache {
namespace {

Result<PurgeOutcome> unlink_all(const Store& store, const std::vector<Removal>& removals,
                                bool scanning) {
    PurgeOutcome out;
    out.complete = !scanning;
    Status first_error;
    for (const auto& r : removals) {
        auto removed = store.remove_if_inode(r.key, r.inode);
        if (!removed.ok()) {
            if (first_error.ok()) first_error = removed.status();
        } else if (*removed) {
            ++out.objects;
            out.bytes += r.disk_bytes;
        }
    }
    if (!first_error.ok()) return first_error;
    return out;
}

}  // namespace

Result<PurgeOutcome> purge_object(CacheIndex& index, const Store& store, const ObjectName& name) {
    bool scanning = index.stats().scanning;
    std::vector<Removal> removals;
    if (auto info = index.find_name(name))
        if (auto r = index.remove(info->key)) removals.push_back(std::move(*r));
    // The name-keyed copy, which the index may not know (not scanned yet, or never bound).
    if (name.version_id.empty()) {
        CacheKey name_key = make_cache_key(name.bucket, name.key, std::nullopt).key;
        bool listed = false;
        for (const auto& r : removals)
            listed = listed || r.key == name_key;
        if (!listed) {
            auto r = index.remove(name_key);
            removals.push_back(r ? std::move(*r) : Removal{name_key, 0, 0});
        }
    }
    return unlink_all(store, removals, scanning);
}

Result<PurgeOutcome> purge_prefix(CacheIndex& index, const Store& store, std::string_view bucket,
                                  std::string_view key_prefix) {
    bool scanning = index.stats().scanning;
    return unlink_all(store, index.remove_prefix(bucket, key_prefix), scanning);
}

}  // namespace xs3::cache
