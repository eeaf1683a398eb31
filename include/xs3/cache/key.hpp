// Cache keys and where their files live.
//
// A key is 56 lowercase hex digits. When S3 metadata promises the object's SHA-224
// (x-amz-meta-sha224), the key is that digest: the same bytes under any bucket or name share one
// cache file. Otherwise the key is SHA-224("xs3-name" NUL bucket NUL object-key); bucket names
// cannot contain NUL, so the split is unambiguous. Name keys get a ".n" file-name suffix so a name
// key can never alias a content key on disk, even if the two hashes were equal.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace xs3::cache {

struct CacheKey {
    std::string hex;  // 56 lowercase hex digits
    bool content_addressed = false;

    bool operator==(const CacheKey&) const = default;
};

struct CacheKeyChoice {
    CacheKey key;
    // Set when x-amz-meta-sha224 was present but not usable, saying why; the caller logs it.
    std::optional<std::string> ignored_sha224;
};

inline constexpr size_t kCacheKeyHexLength = 56;

CacheKeyChoice make_cache_key(std::string_view bucket, std::string_view key,
                              std::optional<std::string_view> x_amz_meta_sha224);

// hex, plus ".n" for name keys.
std::string cache_file_name(const CacheKey& key);

// <root>/<h0>/<h1>/.../<h(level-1)>/<file name>; level is 1..12 (config validates it).
std::string object_path(std::string_view root, const CacheKey& key, unsigned level);

// <root>/.tmp: temp files live on the cache's filesystem so publishing is an atomic rename.
std::string temp_dir(std::string_view root);

// <root>/<prefix><random>: a temp directory of an earlier run, moved aside at start-up and removed
// by the background scan.
inline constexpr std::string_view kStaleTempPrefix = ".tmp-stale-";

}  // namespace xs3::cache
