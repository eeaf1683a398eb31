// Purging cached objects on request (the admin endpoint): drop them from the index and unlink
// their files on the calling thread, so the answer can say they are gone. Blocking; never call
// it on a ring thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "xs3/base/status.hpp"
#include "xs3/cache/index.hpp"
#include "xs3/cache/store.hpp"

namespace xs3::cache {

struct PurgeOutcome {
    uint64_t objects = 0;  // files removed
    uint64_t bytes = 0;    // their blocks on disk, as the index knew them
    // False while the start-up scan runs: a content-keyed copy whose file has not been scanned
    // yet is not known under its name, so it can survive a purge by name or prefix.
    bool complete = true;
};

// The object `name` resolves to (and its other names), plus the name-keyed file for `name` even
// if the index does not know it yet.
Result<PurgeOutcome> purge_object(CacheIndex& index, const Store& store, const ObjectName& name);

// Every object with a name under bucket/key_prefix (current versions and others alike).
Result<PurgeOutcome> purge_prefix(CacheIndex& index, const Store& store, std::string_view bucket,
                                  std::string_view key_prefix);

}  // namespace xs3::cache
