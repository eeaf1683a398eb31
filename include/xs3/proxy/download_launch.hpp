// Starting a cache download and owning it: the metadata stored with a cached object, and the
// lifecycle of a Download — start (probe or known size) on a worker's ring, decide once the
// object's size and metadata are in (already cached under its content key? too large or cache
// unwritable: passthrough? else a temp file on the blocking pool), then publish or discard.
// Only after publishing does the download leave the manager, so requests in between join it
// instead of starting a second one.
#pragma once

#include <memory>
#include <string>

#include "xs3/cache/header.hpp"
#include "xs3/cache/key.hpp"
#include "xs3/fetch/download.hpp"
#include "xs3/s3/bucket_client.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::proxy {

class Worker;

// What S3's answer (HEAD or GET) says about the object, as the cache stores it. version_id is
// the version asked for (empty: the current one), which is how the index names it.
cache::ObjectMeta object_meta_from_head(const s3::HttpResponseHead& head, uint64_t size,
                                        std::string bucket, const s3::ObjectId& id);

// The cache key for an object's answer: its x-amz-meta-sha224 when usable, else its name (with
// the version, when one was asked for).
cache::CacheKey cache_key_for(const std::string& bucket, const s3::ObjectId& id,
                              const s3::HttpResponseHead& head);

// The name key of bucket/key(/version): the in-flight key of every request for it.
std::string name_key_of(const std::string& bucket, const s3::ObjectId& id);

// Runs `dl` (created by the caller and registered in the manager under `name_key`) with `w`'s
// ring as its home, fetching `id` from `origin` (which outlives the download).
void launch_download(Worker& w, std::shared_ptr<fetch::Download> dl, std::string name_key,
                     const s3::BucketClient& origin, s3::ObjectId id);

}  // namespace xs3::proxy
