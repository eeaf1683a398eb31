// SharedState: the buckets served, the fills' context, shutdown, and the admin warm-up.
#include "xs3/proxy/shared_state.hpp"

#include "xs3/base/log.hpp"

namespace xs3::proxy {

fetch::FillContext SharedState::fill_context() {
    options.download.budget = &retry_budget;
    fetch::FillOptions fo;
    fo.download = options.download;
    fo.max_cache_size = options.max_cache_size;
    fo.direct_io = options.direct_io;
    fo.preallocate = options.preallocate;
    fo.abandon_on_disconnect = options.abandon_on_disconnect;
    return fetch::FillContext{fo,       store,   index, writability, names_complete,
                              blocking, hashing, slots, counters,    {}};
}

SharedState::~SharedState() {
    index.set_on_erase({});
    shutdown();
}

void SharedState::shutdown() {
    writability.stop();
    blocking.shutdown();
    hashing.shutdown();
}

const s3::BucketClient* SharedState::origin_for(std::string_view bucket) const noexcept {
    for (const auto& o : origins)
        if (o->bucket() == bucket) return o.get();
    return nullptr;
}

SharedState::WarmResult SharedState::warm(const std::vector<std::string>& keys) {
    WarmResult r;
    for (const auto& given : keys) {
        // With a bucket list a key names its bucket first, as a client URL does: bucket/key.
        const s3::BucketClient* origin = bucket_paths ? nullptr : &default_origin();
        std::string key = given;
        if (bucket_paths) {
            size_t slash = given.find('/');
            if (slash != std::string::npos) {
                origin = origin_for(std::string_view(given).substr(0, slash));
                key = given.substr(slash + 1);
            }
            if (origin == nullptr) {
                r.rejected.emplace_back(given, "give bucket/key for a bucket this proxy serves");
                continue;
            }
        }
        if (!s3::object_key_fits(key)) {
            r.rejected.emplace_back(given,
                                    "keys are 1 to " + std::to_string(s3::kMaxKeyBytes) + " bytes");
            continue;
        }
        if (Status valid = origin->validate(key); !valid.ok()) {
            r.rejected.emplace_back(given, valid.message());
            continue;
        }
        if (!writability.writable()) {
            r.rejected.emplace_back(given, "the cache cannot be written");
            continue;
        }
        if (index.find_name({origin->bucket(), key, ""})) {
            ++r.accepted;  // cached already
            continue;
        }
        if (!fills.warm(*origin, s3::ObjectId(key))) {
            r.rejected.emplace_back(given, "no worker is running");
            continue;
        }
        ++r.accepted;
    }
    return r;
}

}  // namespace xs3::proxy
