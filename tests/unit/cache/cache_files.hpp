// Test helpers for the cache lifecycle tests: a temporary directory, and cache files written
// straight into a hierarchy (header + data, no fsync) so thousands can be made quickly.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "xs3/cache/evictor.hpp"
#include "xs3/cache/header.hpp"
#include "xs3/cache/key.hpp"

namespace xs3::cache::testing {

struct TempDir {
    std::string path;
    explicit TempDir(const char* tag = "lifecycle") {
        std::string tmpl = std::string("/tmp/xs3-") + tag + "-XXXXXX";
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

inline CacheKey name_key(const std::string& key, const std::string& bucket = "bkt") {
    return make_cache_key(bucket, key, std::nullopt).key;
}

inline ObjectMeta meta_of(const std::string& key, uint64_t size, const std::string& etag = "\"e\"",
                          const std::string& bucket = "bkt") {
    ObjectMeta m;
    m.size = size;
    m.etag = etag;
    m.last_modified = "Wed, 21 Oct 2015 07:28:00 GMT";
    m.bucket = bucket;
    m.key = key;
    m.stored_at_unix = 1700000000;
    return m;
}

// Writes <path of key> with the header for `meta` and meta.size data bytes (a hole: sparse unless
// `dense`), creating directories as needed. Returns the path.
inline std::string write_cache_file(const std::string& root, unsigned level, const CacheKey& key,
                                    const ObjectMeta& meta, bool dense = true) {
    std::string path = object_path(root, key, level);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    std::string header = encode_header(meta);
    REQUIRE(::pwrite(fd, header.data(), header.size(), 0) == static_cast<ssize_t>(header.size()));
    if (dense && meta.size > 0) {
        std::string data(meta.size, 'x');
        REQUIRE(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(header.size())) ==
                static_cast<ssize_t>(data.size()));
    } else {
        REQUIRE(::ftruncate(fd, static_cast<off_t>(header.size() + meta.size)) == 0);
    }
    ::close(fd);
    return path;
}

// Sets a file's mtime (the persisted last access) to `seconds` since the epoch.
inline void set_mtime(const std::string& path, int64_t seconds) {
    struct timespec times[2];
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_sec = static_cast<time_t>(seconds);
    times[1].tv_nsec = 0;
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

// An FsSpaceFn for evictors whose tests are not about free space: 512 GiB free of 1 TiB.
inline Result<FsSpace> plenty_of_space(const std::string&) {
    return FsSpace{1ULL << 40, 1ULL << 39};
}

inline int64_t mtime_ns(const std::string& path) {
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace xs3::cache::testing
