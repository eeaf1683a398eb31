// The on-disk cache store: lookup, temp files, atomic publish, removal and writability checks.
// Blocking POSIX calls throughout: the app runs these on its blocking thread pool, never on a
// ring thread.
//
// A download writes <root>/.tmp/<file name>.<random>.part (header first, then data) and publish()
// fsyncs and renames it to object_path(); a crash leaves only .part files, which
// clean_temp_dir() removes at start-up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "xs3/base/status.hpp"
#include "xs3/cache/header.hpp"
#include "xs3/cache/key.hpp"
#include "xs3/cache/unique_fd.hpp"

namespace xs3::cache {

struct Entry {
    UniqueFd fd;  // read-only
    ObjectMeta meta;
    uint64_t data_offset = 0;  // object byte i is at file offset data_offset + i
};

struct TempFile {
    UniqueFd fd;  // write-only; O_DIRECT when direct_io
    std::string path;
    uint64_t data_offset = 0;
    uint64_t total_size = 0;  // data_offset + meta.size: the size publish() expects
    // False if O_DIRECT was asked for but the filesystem refused it (tmpfs): buffered writes.
    bool direct_io = false;
};

class Store {
  public:
    Store(std::string root, unsigned level);

    const std::string& root() const noexcept { return root_; }
    unsigned level() const noexcept { return level_; }
    std::string path_of(const CacheKey& key) const { return object_path(root_, key, level_); }

    // nullopt on a miss. A file that cannot be decoded or whose size does not match its header is
    // removed (and logged) and reported as a miss.
    Result<std::optional<Entry>> lookup(const CacheKey& key) const;

    // A new temp file with the header written and the data range preallocated where the
    // filesystem supports it (the file size still grows only as data is written).
    Result<TempFile> create_temp(const CacheKey& key, const ObjectMeta& meta, bool direct_io) const;

    // fsync, create the key's directories if needed, rename into place, fsync the directory.
    // A file longer than total_size (O_DIRECT padding of the last block) is truncated; a shorter
    // one is an error. The temp file is removed on failure.
    Status publish(TempFile&& temp, const CacheKey& key) const;

    void discard(TempFile&& temp) const;

    // Removing a missing file is not an error. Open fds keep working.
    Status remove(const CacheKey& key) const;

    // Creates the root and .tmp if missing and writes and removes a probe file there; the error
    // says why the cache cannot be used (read-only, no space, not a directory...).
    Status check_writable() const;

    // Removes everything in .tmp: leftovers of a crash. Only call before downloads start.
    Result<uint64_t> clean_temp_dir() const;

  private:
    std::string root_;
    unsigned level_;
};

}  // namespace xs3::cache
