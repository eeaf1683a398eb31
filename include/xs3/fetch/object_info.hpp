// What S3's answer (a HEAD, or a GET's head) says about an object, as the cache stores it: its
// size, its metadata and its cache key, computed once per answer. And the name key of an object,
// which keys its fill in flight.
#pragma once

#include <cstdint>
#include <string>

#include "xs3/cache/header.hpp"
#include "xs3/cache/key.hpp"
#include "xs3/s3/bucket_client.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::fetch {

struct ObjectInfo {
    uint64_t size = 0;
    cache::ObjectMeta meta;  // ETag, dates, content fields, x-amz-meta-*, bucket, key, version
    // Its x-amz-meta-sha224 when usable (the same bytes under any name share it), else the name.
    cache::CacheKey key;
};

// The metadata alone (a relayed answer, which is never cached). `size` is the object's (from
// Content-Length or Content-Range).
cache::ObjectMeta object_meta(const std::string& bucket, const s3::ObjectId& id,
                              const s3::HttpResponseHead& head, uint64_t size);

// Metadata and cache key. An unusable x-amz-meta-sha224 is logged and ignored.
ObjectInfo describe_object(const std::string& bucket, const s3::ObjectId& id,
                           const s3::HttpResponseHead& head, uint64_t size);

// The name key of bucket/key(/version): every request for that name joins the same fill.
std::string name_key_of(const std::string& bucket, const s3::ObjectId& id);

}  // namespace xs3::fetch
