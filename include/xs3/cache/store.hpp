// The on-disk cache store: lookup, temp files, atomic publish, removal and writability checks.
// Blocking POSIX calls throughout: the app runs these on its blocking thread pool, never on a
// ring thread.
//
// A download writes <root>/.tmp/<file name>.<random>.part (header first, then data) and publish()
// fsyncs and renames it to object_path(); a crash leaves only .part files, which
// clean_temp_dir() removes at start-up (or retire_temp_dir() moves aside for the background scan).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

#include "xs3/base/status.hpp"
#include "xs3/base/unique_fd.hpp"
#include "xs3/cache/header.hpp"
#include "xs3/cache/key.hpp"

namespace xs3::cache {

struct Entry {
    UniqueFd fd;  // read-only
    ObjectMeta meta;
    uint64_t data_offset = 0;  // object byte i is at file offset data_offset + i
    uint64_t inode = 0;        // which file this is (the index knows the one it accounts for)
};

struct TempFile {
    UniqueFd fd;  // write-only; O_DIRECT when direct_io
    std::string path;
    uint64_t data_offset = 0;
    uint64_t total_size = 0;  // data_offset + meta.size: the size publish() expects
    // False if O_DIRECT was asked for but the filesystem refused it (tmpfs): buffered writes.
    bool direct_io = false;
};

// What the cache index needs to know about a file it accounts for.
struct FileFacts {
    uint64_t disk_bytes = 0;  // st_blocks * 512: what the file really takes on disk
    uint64_t inode = 0;       // so a removal never hits a newer file published under the same name
    int64_t mtime_ns = 0;     // the persisted last access (see Store::set_last_access)
};

FileFacts file_facts(const struct stat& st) noexcept;

// A cache file opened and checked: its header decoded and its size matching the header, or the
// reason it is broken.
struct InspectedFile {
    std::string broken;  // non-empty: corrupt header or a size that does not match it
    DecodedHeader header;
    struct stat st {};
};

// Reads and checks the header of an open cache file. An error means the reads themselves failed.
// Blocking.
Result<InspectedFile> inspect_cache_file(int fd);

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
    // Without `preallocate` the blocks are taken as the data is written (a full disk then shows
    // up as a failed write mid-download rather than here).
    Result<TempFile> create_temp(const CacheKey& key, const ObjectMeta& meta, bool direct_io,
                                 bool preallocate = true) const;

    // fsync, create the key's directories if needed, rename into place, fsync the directory.
    // A file longer than total_size (O_DIRECT padding of the last block) is truncated; a shorter
    // one is an error. The temp file is removed on failure.
    // `published`, when given, receives the facts of the file now in place (for the index).
    Status publish(TempFile&& temp, const CacheKey& key, FileFacts* published = nullptr) const;

    void discard(TempFile&& temp) const;

    // Removing a missing file is not an error. Open fds keep working.
    Status remove(const CacheKey& key) const;
    // Like remove(), but only if the file there is still `inode` (0: whatever is there), so an
    // eviction decided a moment ago cannot remove the object that was just published over it.
    // The check and the unlink are two calls; the window between them is microseconds, and losing
    // that race costs a refetch, never wrong bytes. True if a file was removed.
    Result<bool> remove_if_inode(const CacheKey& key, uint64_t inode) const;

    // Persists the index's last-access time as the file's mtime (atime is left alone: reads move
    // it under relatime, mtime only we change). Cache files never change after publish, so mtime
    // has no other meaning. A missing file is not an error.
    Status set_last_access(const CacheKey& key, int64_t unix_ns) const;

    // Creates the root and .tmp if missing and writes and removes a probe file there; the error
    // says why the cache cannot be used (read-only, no space, not a directory...).
    Status check_writable() const;

    // Removes everything in .tmp: leftovers of a crash. Only call before downloads start.
    Result<uint64_t> clean_temp_dir() const;

    // Renames .tmp to .tmp-stale-<random> (one rename however many files it holds), so start-up
    // does not wait for their removal; the background scan deletes stale directories. Returns the
    // new path, or "" when there was no .tmp. Only call before downloads start.
    Result<std::string> retire_temp_dir() const;

  private:
    std::string root_;
    unsigned level_;
};

}  // namespace xs3::cache
