// object_meta, describe_object and name_key_of.
#include "xs3/fetch/object_info.hpp"

#include <ctime>

#include "xs3/base/log.hpp"

namespace xs3::fetch {
namespace {

// The name a name key hashes: the key, and the version after a NUL when one was asked for (a
// key cannot hold NUL, so a versioned name never equals a plain one).
std::string versioned_name(const s3::ObjectId& id) {
    if (id.version_id.empty()) return id.key;
    return id.key + std::string(1, '\0') + "versionId=" + id.version_id;
}

}  // namespace

cache::ObjectMeta object_meta(const std::string& bucket, const s3::ObjectId& id,
                              const s3::HttpResponseHead& head, uint64_t size) {
    cache::ObjectMeta meta;
    auto pick = [&](const char* n) {
        const std::string* v = head.get(n);
        return v ? *v : std::string();
    };
    meta.size = size;
    meta.etag = pick("etag");
    meta.last_modified = pick("last-modified");
    meta.content_type = pick("content-type");
    meta.cache_control = pick("cache-control");
    meta.content_encoding = pick("content-encoding");
    meta.content_disposition = pick("content-disposition");
    meta.content_language = pick("content-language");
    meta.expires = pick("expires");
    meta.version_id = id.version_id;
    for (const auto& [n, v] : head.headers)
        if (n.rfind("x-amz-meta-", 0) == 0) meta.user_meta.emplace_back(n.substr(11), v);
    meta.bucket = bucket;
    meta.key = id.key;
    meta.stored_at_unix = static_cast<int64_t>(time(nullptr));
    return meta;
}

ObjectInfo describe_object(const std::string& bucket, const s3::ObjectId& id,
                           const s3::HttpResponseHead& head, uint64_t size) {
    ObjectInfo info;
    info.size = size;
    info.meta = object_meta(bucket, id, head, size);
    const std::string* sha = head.get("x-amz-meta-sha224");
    auto choice = cache::make_cache_key(
        bucket, versioned_name(id),
        sha ? std::optional<std::string_view>(*sha) : std::optional<std::string_view>());
    if (choice.ignored_sha224)
        XS3_LOG_WARN("x-amz-meta-sha224 ignored", kv("key", id.key),
                     kv("why", *choice.ignored_sha224));
    info.key = std::move(choice.key);
    return info;
}

std::string name_key_of(const std::string& bucket, const s3::ObjectId& id) {
    return cache::make_cache_key(bucket, versioned_name(id), std::nullopt).key.hex;
}

}  // namespace xs3::fetch
