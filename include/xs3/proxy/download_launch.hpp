// Starting a cache download: the metadata stored with a cached object, and the lifecycle of a new
// Download (temp file on the blocking pool, chunk fetches on a worker's ring, publish or discard).
#pragma once

#include <memory>
#include <string>

#include "xs3/cache/header.hpp"
#include "xs3/cache/key.hpp"
#include "xs3/fetch/download.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::proxy {

class Worker;

// What S3's HEAD answer says about the object, as the cache stores it.
cache::ObjectMeta object_meta_from_head(const s3::HttpResponseHead& head, uint64_t size,
                                        std::string bucket, std::string key);

// Creates the temp file off the ring, attaches it to `dl` and runs the chunk fetches on `w`'s
// ring. When they end the file is published (or discarded on failure) on the blocking pool, and
// only then does the download leave the manager, so requests in between join it instead of
// starting a second one. A temp file that cannot be created fails `dl` and turns the cache to
// passthrough.
void launch_download(Worker& w, std::shared_ptr<fetch::Download> dl, const cache::CacheKey& ck,
                     const std::string& key, const std::string& etag, cache::ObjectMeta meta);

}  // namespace xs3::proxy
