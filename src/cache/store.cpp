// The blocking POSIX side of the cache: lookup, temp files, publish by rename, checks, cleanup.
#include "xs3/cache/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "xs3/base/digest.hpp"
#include "xs3/base/log.hpp"

namespace xs3::cache {
namespace {

std::string random_hex() {
    uint8_t bytes[8];
    if (::getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof bytes)) {
        // Uniqueness is what matters (O_EXCL catches collisions); fall back to pid, time, counter.
        static std::atomic<uint64_t> counter{0};
        uint64_t v = (static_cast<uint64_t>(::getpid()) << 40) ^
                     static_cast<uint64_t>(std::time(nullptr)) ^ (counter++ << 20);
        std::memcpy(bytes, &v, sizeof bytes);
    }
    return hex_lower(std::span<const uint8_t>(bytes, sizeof bytes));
}

std::string parent_of(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// Reads up to `want` bytes from `offset`; fewer only at end of file.
Result<std::string> pread_full(int fd, uint64_t want, uint64_t offset) {
    std::string buf(want, '\0');
    size_t got = 0;
    while (got < want) {
        ssize_t n = ::pread(fd, buf.data() + got, want - got, static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return status_from_errno(errno, "read cache file");
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    buf.resize(got);
    return buf;
}

Status pwrite_full(int fd, const char* data, size_t len, uint64_t offset, const std::string& path) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = ::pwrite(fd, data + done, len - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return status_from_errno(errno, "write " + path);
        if (n == 0) return Status(Code::io_error, "write " + path + ": wrote nothing");
        done += static_cast<size_t>(n);
    }
    return {};
}

Status fsync_dir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return status_from_errno(errno, "open directory " + dir);
    if (::fsync(fd.get()) != 0) return status_from_errno(errno, "fsync directory " + dir);
    return {};
}

// mkdir for every missing prefix of `path` at or below `from` (which must exist or be creatable
// by the first step); appends what it created.
Status make_dirs(const std::string& path, size_t from, std::vector<std::string>& created) {
    size_t pos = from;
    for (;;) {
        pos = path.find('/', pos + 1);
        std::string prefix = path.substr(0, pos);
        if (!prefix.empty()) {
            if (::mkdir(prefix.c_str(), 0755) == 0)
                created.push_back(prefix);
            else if (errno != EEXIST)
                return status_from_errno(errno, "mkdir " + prefix);
        }
        if (pos == std::string::npos) return {};
    }
}

// Unlinks `path` only if it is still the file `fd` has open, so a broken file is not confused
// with a good one that was published over it in the meantime.
void remove_if_same(const std::string& path, int fd) {
    struct stat open_st, path_st;
    if (::fstat(fd, &open_st) != 0 || ::stat(path.c_str(), &path_st) != 0) return;
    if (open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino)
        ::unlink(path.c_str());
}

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};

}  // namespace

FileFacts file_facts(const struct stat& st) noexcept {
    FileFacts f;
    f.disk_bytes = static_cast<uint64_t>(st.st_blocks) * 512;
    f.inode = static_cast<uint64_t>(st.st_ino);
    f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    return f;
}

Result<InspectedFile> inspect_cache_file(int fd) {
    auto first = pread_full(fd, kHeaderAlignment, 0);
    if (!first) return first.status();
    auto decoded = decode_header(*first);
    if (decoded && decoded->incomplete && first->size() == kHeaderAlignment) {
        auto whole = pread_full(fd, decoded->data_offset, 0);
        if (!whole) return whole.status();
        decoded = decode_header(*whole);
    }
    InspectedFile out;
    if (!decoded) {
        out.broken = decoded.status().message();
        return out;
    }
    if (decoded->incomplete) {
        out.broken = "file ends inside the header";
        return out;
    }
    if (::fstat(fd, &out.st) != 0) return status_from_errno(errno, "fstat cache file");
    uint64_t expected = decoded->data_offset + decoded->meta.size;
    if (static_cast<uint64_t>(out.st.st_size) != expected) {
        out.broken = "file has " + std::to_string(out.st.st_size) + " bytes, header says " +
                     std::to_string(expected);
        return out;
    }
    out.header = std::move(decoded.value());
    return out;
}

Store::Store(std::string root, unsigned level) : root_(std::move(root)), level_(level) {
    // Trailing slashes would make root_.size() disagree with the prefix object_path() builds.
    while (root_.size() > 1 && root_.back() == '/')
        root_.pop_back();
}

Result<std::optional<Entry>> Store::lookup(const CacheKey& key) const {
    std::string path = path_of(key);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT || errno == ENOTDIR) return std::optional<Entry>();
        return status_from_errno(errno, "open " + path);
    }
    auto inspected = inspect_cache_file(fd.get());
    if (!inspected) return inspected.status();
    if (!inspected->broken.empty()) {
        remove_if_same(path, fd.get());
        XS3_LOG_WARN("removed broken cache file", kv("path", path),
                     kv("reason", inspected->broken));
        return std::optional<Entry>();
    }
    Entry entry;
    entry.fd = std::move(fd);
    entry.meta = std::move(inspected->header.meta);
    entry.data_offset = inspected->header.data_offset;
    entry.inode = static_cast<uint64_t>(inspected->st.st_ino);
    return std::optional<Entry>(std::move(entry));
}

Result<TempFile> Store::create_temp(const CacheKey& key, const ObjectMeta& meta, bool direct_io,
                                    bool preallocate) const {
    std::string header = encode_header(meta);
    if (header.size() > kMaxHeaderLength)
        return Status(Code::invalid_argument, "object metadata too large for a cache header");

    TempFile temp;
    std::string dir = temp_dir(root_);
    temp.path = dir + "/" + cache_file_name(key) + "." + random_hex() + ".part";
    temp.data_offset = header.size();
    temp.total_size = header.size() + meta.size;
    temp.direct_io = direct_io;

    auto open_temp = [&] {
        int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | (temp.direct_io ? O_DIRECT : 0);
        temp.fd.reset(::open(temp.path.c_str(), flags, 0644));
    };
    open_temp();
    if (!temp.fd && errno == ENOENT) {
        if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
            return status_from_errno(errno, "mkdir " + dir);
        open_temp();
    }
    if (!temp.fd && errno == EINVAL && temp.direct_io) {
        XS3_LOG_INFO("O_DIRECT not supported by the cache filesystem; writing buffered",
                     kv("dir", dir));
        temp.direct_io = false;
        open_temp();
    }
    if (!temp.fd) return status_from_errno(errno, "create " + temp.path);

    auto fail = [&](Status st) -> Result<TempFile> {
        ::unlink(temp.path.c_str());
        return st;
    };
    Status st;
    if (temp.direct_io) {
        void* raw = nullptr;
        if (::posix_memalign(&raw, kHeaderAlignment, header.size()) != 0)
            return fail(Status(Code::internal, "out of memory for an aligned header buffer"));
        std::unique_ptr<char, FreeDeleter> aligned(static_cast<char*>(raw));
        std::memcpy(aligned.get(), header.data(), header.size());
        st = pwrite_full(temp.fd.get(), aligned.get(), header.size(), 0, temp.path);
    } else {
        st = pwrite_full(temp.fd.get(), header.data(), header.size(), 0, temp.path);
    }
    if (!st) return fail(std::move(st));

    // KEEP_SIZE: the blocks are reserved but the size grows only with real writes, so an
    // unfinished file can never pass the size check.
    if (preallocate && meta.size > 0 &&
        ::fallocate(temp.fd.get(), FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(temp.total_size)) !=
            0) {
        if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINTR)
            return fail(status_from_errno(errno, "preallocate " + temp.path));
    }
    return temp;
}

Status Store::publish(TempFile&& temp_in, const CacheKey& key, FileFacts* published) const {
    TempFile temp = std::move(temp_in);
    auto fail = [&](Status st) {
        ::unlink(temp.path.c_str());
        return st;
    };
    struct stat st;
    if (::fstat(temp.fd.get(), &st) != 0)
        return fail(status_from_errno(errno, "fstat " + temp.path));
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size < temp.total_size)
        return fail(Status(Code::io_error, "incomplete cache file " + temp.path + ": " +
                                               std::to_string(size) + " of " +
                                               std::to_string(temp.total_size) + " bytes"));
    if (size > temp.total_size &&
        ::ftruncate(temp.fd.get(), static_cast<off_t>(temp.total_size)) != 0)
        return fail(status_from_errno(errno, "truncate " + temp.path));
    if (::fsync(temp.fd.get()) != 0) return fail(status_from_errno(errno, "fsync " + temp.path));
    if (published) {
        // After fsync, so delayed allocation has settled and st_blocks is what the file keeps.
        struct stat synced;
        if (::fstat(temp.fd.get(), &synced) != 0)
            return fail(status_from_errno(errno, "fstat " + temp.path));
        *published = file_facts(synced);
    }

    std::string final_path = path_of(key);
    std::string dir = parent_of(final_path);
    std::vector<std::string> created;
    if (::rename(temp.path.c_str(), final_path.c_str()) != 0) {
        if (errno != ENOENT) return fail(status_from_errno(errno, "rename to " + final_path));
        // The hierarchy is created on demand, not all 16^level directories up front.
        Status made = make_dirs(dir, root_.size(), created);
        if (!made) return fail(std::move(made));
        if (::rename(temp.path.c_str(), final_path.c_str()) != 0)
            return fail(status_from_errno(errno, "rename to " + final_path));
    }
    temp.fd.reset();
    // The new name, and any new directories, must reach the disk before the object counts as
    // cached.
    Status synced = fsync_dir(dir);
    for (auto it = created.rbegin(); synced.ok() && it != created.rend(); ++it)
        synced = fsync_dir(parent_of(*it));
    return synced;
}

void Store::discard(TempFile&& temp_in) const {
    TempFile temp = std::move(temp_in);
    temp.fd.reset();
    if (!temp.path.empty()) ::unlink(temp.path.c_str());
}

Status Store::remove(const CacheKey& key) const {
    std::string path = path_of(key);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR)
        return status_from_errno(errno, "remove " + path);
    return {};
}

Result<bool> Store::remove_if_inode(const CacheKey& key, uint64_t inode) const {
    std::string path = path_of(key);
    if (inode != 0) {
        struct stat st;
        if (::lstat(path.c_str(), &st) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) return false;
            return status_from_errno(errno, "stat " + path);
        }
        if (static_cast<uint64_t>(st.st_ino) != inode) return false;
    }
    if (::unlink(path.c_str()) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return false;
        return status_from_errno(errno, "remove " + path);
    }
    return true;
}

Status Store::set_last_access(const CacheKey& key, int64_t unix_ns) const {
    std::string path = path_of(key);
    struct timespec times[2];
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_sec = static_cast<time_t>(unix_ns / 1000000000);
    times[1].tv_nsec = static_cast<long>(unix_ns % 1000000000);
    if (times[1].tv_nsec < 0) {
        times[1].tv_nsec += 1000000000;
        times[1].tv_sec -= 1;
    }
    if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return {};
        return status_from_errno(errno, "set mtime of " + path);
    }
    return {};
}

Status Store::check_writable() const {
    std::string what = "cache dir " + root_;
    if (root_.empty()) return Status(Code::invalid_argument, "cache dir is empty");
    std::vector<std::string> created;
    Status made = make_dirs(root_, 0, created);
    if (!made) return Status(made.code(), what + ": " + made.message(), made.sys_errno());
    struct stat st;
    if (::stat(root_.c_str(), &st) != 0) return status_from_errno(errno, what);
    if (!S_ISDIR(st.st_mode))
        return Status(Code::invalid_argument, what + ": not a directory", ENOTDIR);
    std::string tmp = temp_dir(root_);
    if (::mkdir(tmp.c_str(), 0755) != 0 && errno != EEXIST)
        return status_from_errno(errno, what + ": cannot create " + tmp);
    std::string probe = tmp + "/probe." + random_hex();
    UniqueFd fd(::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) return status_from_errno(errno, what + ": cannot create a file in " + tmp);
    Status wrote = pwrite_full(fd.get(), "xs3", 3, 0, probe);
    fd.reset();
    ::unlink(probe.c_str());
    if (!wrote) return Status(wrote.code(), what + ": " + wrote.message(), wrote.sys_errno());
    return {};
}

Result<uint64_t> Store::clean_temp_dir() const {
    std::string tmp = temp_dir(root_);
    DIR* dir = ::opendir(tmp.c_str());
    if (!dir) {
        if (errno == ENOENT) return uint64_t{0};
        return status_from_errno(errno, "open " + tmp);
    }
    uint64_t removed = 0;
    while (dirent* e = ::readdir(dir)) {
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        if (::unlinkat(::dirfd(dir), e->d_name, 0) == 0)
            ++removed;
        else
            XS3_LOG_WARN("cannot remove temp file", kv("dir", tmp), kv("name", e->d_name),
                         kv("error", std::strerror(errno)));
    }
    ::closedir(dir);
    if (removed > 0)
        XS3_LOG_INFO("removed leftover temp files", kv("dir", tmp), kv("count", removed));
    return removed;
}

Result<std::string> Store::retire_temp_dir() const {
    std::string tmp = temp_dir(root_);
    // tmp is "<root>/.tmp": keep "<root>/" and add the stale name.
    std::string stale =
        tmp.substr(0, tmp.size() - 4) + std::string(kStaleTempPrefix) + random_hex();
    if (::rename(tmp.c_str(), stale.c_str()) != 0) {
        if (errno == ENOENT) return std::string();
        return status_from_errno(errno, "rename " + tmp + " to " + stale);
    }
    return stale;
}

}  // namespace xs3::cache
