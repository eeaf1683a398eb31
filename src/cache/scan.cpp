// The start-up scan: a depth-first walk of the hierarchy with directory fds (openat, fdopendir),
// one open + header read + fstat per cache file, results handed to the index in batches.
#include "xs3/cache/scan.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "xs3/base/log.hpp"

namespace xs3::cache {
namespace {

constexpr size_t kBatch = 512;
constexpr unsigned kMaxDepth = 12;        // the deepest --cache-hierarchy-level
constexpr uint64_t kLoggedRemovals = 20;  // then only the totals at the end

bool is_hex_digit(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// "<56 hex>" or "<56 hex>.n" (cache_file_name's two forms).
std::optional<CacheKey> parse_file_name(std::string_view name) {
    bool content = name.size() == kCacheKeyHexLength;
    if (!content &&
        (name.size() != kCacheKeyHexLength + 2 || name.substr(kCacheKeyHexLength) != ".n"))
        return std::nullopt;
    for (size_t i = 0; i < kCacheKeyHexLength; ++i)
        if (!is_hex_digit(name[i])) return std::nullopt;
    return CacheKey{std::string(name.substr(0, kCacheKeyHexLength)), content};
}

// "e/8/b" + "name" -> "e/8/b/name": where a file sits below the cache root, for log lines.
std::string below_root(const std::string& digits, std::string_view name) {
    std::string out;
    for (char c : digits) {
        out += c;
        out += '/';
    }
    out += name;
    return out;
}

bool is_directory(int dirfd, const dirent* e) {
    if (e->d_type != DT_UNKNOWN) return e->d_type == DT_DIR;
    struct stat st;
    return ::fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

bool is_regular(int dirfd, const dirent* e) {
    if (e->d_type != DT_UNKNOWN) return e->d_type == DT_REG;
    struct stat st;
    return ::fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// Opens `name` under `dirfd` as a directory stream (dirfd < 0: `name` is a path).
DirPtr open_dir(int dirfd, const char* name) {
    int fd = dirfd < 0 ? ::open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                       : ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return nullptr;
    DIR* d = ::fdopendir(fd);
    if (!d) ::close(fd);
    return DirPtr(d);
}

}  // namespace

std::string_view scan_state_name(ScanState s) noexcept {
    switch (s) {
        case ScanState::idle:
            return "idle";
        case ScanState::running:
            return "running";
        case ScanState::done:
            return "done";
        case ScanState::failed:
            return "failed";
        case ScanState::stopped:
            return "stopped";
    }
    return "unknown";
}

class CacheScan::Walker {
  public:
    explicit Walker(CacheScan& scan)
        : scan_(scan), level_(scan.store_.level()), began_(std::chrono::steady_clock::now()) {}

    uint64_t elapsed_ms() const {
        return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - began_)
                                         .count());
    }

    // False if the root could not be read at all.
    bool walk() {
        const std::string& root = scan_.store_.root();
        DirPtr dir = open_dir(-1, root.c_str());
        if (!dir) {
            if (errno == ENOENT) return true;  // nothing cached yet
            XS3_LOG_ERROR("cache scan cannot open the cache directory", kv("path", root),
                          kv("error", std::strerror(errno)));
            return false;
        }
        std::string prefix;
        walk_dir(dir.get(), 0, prefix);
        flush();
        return true;
    }

    const ScanStats& totals() const { return local_; }

  private:
    void walk_dir(DIR* dir, unsigned depth, std::string& prefix) {
        int dfd = ::dirfd(dir);
        while (!scan_.stop_.load(std::memory_order_relaxed)) {
            errno = 0;
            dirent* e = ::readdir(dir);
            if (!e) {
                if (errno != 0) error("read directory", prefix, errno);
                return;
            }
            std::string_view name = e->d_name;
            if (name == "." || name == "..") continue;
            if (depth == 0 && name.substr(0, 1) == ".") {
                // .tmp belongs to downloads of this run; .tmp-stale-* to earlier runs.
                if (name.substr(0, kStaleTempPrefix.size()) == kStaleTempPrefix &&
                    is_directory(dfd, e))
                    remove_stale_temp(dfd, e->d_name);
                else if (name != ".tmp")
                    ++local_.foreign;
                continue;
            }
            if (name.size() == 1 && is_hex_digit(name[0]) && depth < kMaxDepth &&
                is_directory(dfd, e)) {
                DirPtr sub = open_dir(dfd, e->d_name);
                if (!sub) {
                    error("open directory", below_root(prefix, name), errno);
                    continue;
                }
                prefix.push_back(name[0]);
                walk_dir(sub.get(), depth + 1, prefix);
                prefix.pop_back();
                continue;
            }
            auto key = parse_file_name(name);
            if (!key || !is_regular(dfd, e)) {
                ++local_.foreign;
                continue;
            }
            if (depth != level_ || key->hex.compare(0, depth, prefix) != 0) {
                // Unreachable where it is (another hierarchy level wrote it), so it would only
                // take space no eviction could ever give back.
                if (::unlinkat(dfd, e->d_name, 0) == 0) {
                    ++local_.removed_misplaced;
                    note_removal("removed misplaced cache file", below_root(prefix, name), "");
                } else if (errno != ENOENT) {
                    error("remove misplaced file", below_root(prefix, name), errno);
                }
                continue;
            }
            examine(dfd, e->d_name, std::move(*key), prefix);
        }
    }

    void examine(int dfd, const char* name, CacheKey key, const std::string& prefix) {
        // O_NOATIME spares an inode write per file under relatime; it needs the file's owner.
        int fd = ::openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
        if (fd < 0 && errno == EPERM) fd = ::openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            if (errno != ENOENT) error("open", below_root(prefix, name), errno);  // ENOENT: evicted
            return;
        }
        UniqueFd guard(fd);
        auto inspected = inspect_cache_file(fd);
        if (!inspected) {
            ++local_.errors;
            XS3_LOG_WARN("cache scan cannot read a file", kv("path", below_root(prefix, name)),
                         kv("error", inspected.status().to_string()));
            return;
        }
        if (!inspected->broken.empty()) {
            // Only if the name still holds the file we read: a publish may have replaced it.
            struct stat open_st, path_st;
            if (::fstat(fd, &open_st) == 0 &&
                ::fstatat(dfd, name, &path_st, AT_SYMLINK_NOFOLLOW) == 0 &&
                open_st.st_ino == path_st.st_ino && ::unlinkat(dfd, name, 0) == 0) {
                ++local_.removed_broken;
                note_removal("removed broken cache file", below_root(prefix, name),
                             inspected->broken);
            }
            return;
        }
        ObjectMeta& meta = inspected->header.meta;
        ScannedFile f;
        f.key = std::move(key);
        f.facts = file_facts(inspected->st);
        f.name =
            ObjectName{std::move(meta.bucket), std::move(meta.key), std::move(meta.version_id)};
        f.etag = std::move(meta.etag);
        f.size = meta.size;
        f.stored_at_unix = meta.stored_at_unix;
        ++local_.files;
        local_.bytes += f.facts.disk_bytes;
        batch_.push_back(std::move(f));
        if (batch_.size() >= kBatch) flush();
    }

    void remove_stale_temp(int rootfd, const char* name) {
        DirPtr dir = open_dir(rootfd, name);
        if (!dir) {
            error("open stale temp directory", name, errno);
            return;
        }
        int dfd = ::dirfd(dir.get());
        while (dirent* e = ::readdir(dir.get())) {
            if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
            if (::unlinkat(dfd, e->d_name, 0) == 0)
                ++local_.removed_temp;
            else
                error("remove stale temp file", std::string(name) + "/" + e->d_name, errno);
        }
        dir.reset();
        if (::unlinkat(rootfd, name, AT_REMOVEDIR) != 0) error("remove directory", name, errno);
    }

    void flush() {
        if (!batch_.empty()) scan_.index_.add_scanned(batch_);
        ScanStats now;
        {
            std::lock_guard lock(scan_.mu_);
            ScanState state = scan_.stats_.state;
            scan_.stats_ = local_;
            scan_.stats_.state = state;
            scan_.stats_.elapsed_ms = elapsed_ms();
            now = scan_.stats_;
        }
        if (scan_.progress_) scan_.progress_(now);
    }

    void note_removal(const char* what, const std::string& path, const std::string& reason) {
        if (++logged_ > kLoggedRemovals) return;
        XS3_LOG_WARN(what, kv("path", path), kv("reason", reason));
    }

    void error(const char* what, const std::string& where, int err) {
        ++local_.errors;
        XS3_LOG_WARN("cache scan error", kv("op", what), kv("path", where),
                     kv("error", std::strerror(err)));
    }

    CacheScan& scan_;
    const unsigned level_;
    const std::chrono::steady_clock::time_point began_;
    std::vector<ScannedFile> batch_;
    ScanStats local_;
    uint64_t logged_ = 0;
};

CacheScan::CacheScan(const Store& store, CacheIndex& index) : store_(store), index_(index) {}

CacheScan::~CacheScan() {
    stop();
}

void CacheScan::start() {
    if (thread_.joinable()) return;
    {
        std::lock_guard lock(mu_);
        stats_.state = ScanState::running;
    }
    index_.begin_scan();
    thread_ = std::thread([this] { run(); });
}

void CacheScan::stop() {
    stop_.store(true);
    join();
}

void CacheScan::join() {
    if (thread_.joinable()) thread_.join();
}

void CacheScan::run() {
    {
        std::lock_guard lock(mu_);
        stats_.state = ScanState::running;
    }
    index_.begin_scan();
    Walker walker(*this);
    bool ok = walker.walk();
    index_.end_scan();
    ScanStats s;
    {
        std::lock_guard lock(mu_);
        stats_ = walker.totals();
        stats_.state =
            !ok ? ScanState::failed : (stop_.load() ? ScanState::stopped : ScanState::done);
        stats_.elapsed_ms = walker.elapsed_ms();
        s = stats_;
    }
    XS3_LOG_INFO("cache scan finished", kv("state", scan_state_name(s.state)), kv("files", s.files),
                 kv("bytes", s.bytes), kv("removed_broken", s.removed_broken),
                 kv("removed_misplaced", s.removed_misplaced), kv("removed_temp", s.removed_temp),
                 kv("foreign", s.foreign), kv("errors", s.errors), kv("ms", s.elapsed_ms));
    if (finished_) finished_(s);
}

ScanStats CacheScan::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

}  // namespace xs3::cache
