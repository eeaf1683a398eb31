// The evictor thread and its pass.
#include "xs3/cache/evictor.hpp"

#include <sys/statvfs.h>

#include <cerrno>
#include <limits>

#include "xs3/base/log.hpp"

namespace xs3::cache {

Result<FsSpace> statvfs_space(const std::string& path) {
    struct statvfs sv;
    if (::statvfs(path.c_str(), &sv) != 0) return status_from_errno(errno, "statvfs " + path);
    FsSpace s;
    s.total_bytes = static_cast<uint64_t>(sv.f_blocks) * sv.f_frsize;
    s.free_bytes = static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize;
    return s;
}

Evictor::Evictor(CacheIndex& index, const Store& store, EvictorOptions options, FsSpaceFn fs_space)
    : index_(index), store_(store), options_(options), fs_space_(std::move(fs_space)) {
    index_.set_wake([this] { wake(); }, percent_of(options_.max_bytes, options_.watermark_percent));
}

Evictor::~Evictor() {
    stop();
    index_.set_wake({}, UINT64_MAX);
}

void Evictor::start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable() || stopping_) return;
    wake_ = true;
    thread_ = std::thread([this] { loop(); });
}

void Evictor::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopped_) return;
        stopped_ = true;
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    // Last: whatever was dropped meanwhile, and every last-access time, so the next start's scan
    // sees the LRU order this run ended with.
    remove_all(index_.take_removals());
    write_stamps(std::numeric_limits<size_t>::max());
}

void Evictor::wake() noexcept {
    {
        std::lock_guard lock(mu_);
        if (wake_) return;
        wake_ = true;
    }
    cv_.notify_one();
}

void Evictor::loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        if (!wake_) cv_.wait_for(lock, options_.interval, [this] { return wake_ || stopping_; });
        if (stopping_) break;
        wake_ = false;
        lock.unlock();
        run_pass();
        lock.lock();
    }
}

void Evictor::remove_all(const std::vector<Removal>& removals) {
    uint64_t removed = 0, errors = 0;
    for (const auto& r : removals) {
        auto done = store_.remove_if_inode(r.key, r.inode);
        if (!done.ok()) {
            ++errors;
            XS3_LOG_WARN("cannot remove evicted cache file", kv("key", r.key.hex),
                         kv("error", done.status().to_string()));
        } else if (*done) {
            ++removed;
        }
    }
    std::lock_guard lock(stats_mu_);
    stats_.files_removed += removed;
    stats_.remove_errors += errors;
}

void Evictor::write_stamps(size_t max) {
    uint64_t written = 0, errors = 0;
    // In batches, so the index lock is never held for a long hand-out.
    while (max > 0) {
        auto stamps = index_.take_access_stamps(std::min<size_t>(max, 4096));
        if (stamps.empty()) break;
        max -= stamps.size();
        for (const auto& s : stamps) {
            if (store_.set_last_access(s.key, s.last_access_ns).ok())
                ++written;
            else
                ++errors;
        }
    }
    std::lock_guard lock(stats_mu_);
    stats_.stamps_written += written;
    stats_.stamp_errors += errors;
}

EvictionPlan Evictor::run_pass() {
    remove_all(index_.take_removals());

    SpaceSample sample;
    sample.max_bytes = options_.max_bytes;
    sample.watermark_percent = options_.watermark_percent;
    sample.target_percent = options_.target_percent;
    auto fs = fs_space_(store_.root());
    if (fs.ok()) {
        sample.have_fs = true;
        sample.fs_free_bytes = fs->free_bytes;
        sample.fs_floor_bytes = floor_bytes(options_.min_free, fs->total_bytes);
        index_.set_fs_space(sample.fs_free_bytes, sample.fs_floor_bytes);
    } else {
        XS3_LOG_WARN("cannot read free space of the cache filesystem",
                     kv("error", fs.status().to_string()));
    }
    IndexStats is = index_.stats();
    sample.used_bytes = is.used_bytes;
    sample.reserved_bytes = is.reserved_bytes;

    EvictionPlan plan = plan_eviction(sample);
    std::vector<Removal> victims;
    if (plan.bytes_to_free > 0) victims = index_.evict(plan.bytes_to_free);
    uint64_t victim_bytes = 0;
    for (const auto& v : victims)
        victim_bytes += v.disk_bytes;
    remove_all(victims);
    if (!victims.empty())
        XS3_LOG_INFO("evicted cache objects", kv("objects", victims.size()),
                     kv("bytes", victim_bytes), kv("over_watermark", plan.over_watermark),
                     kv("below_free_space_floor", plan.below_floor));
    write_stamps(options_.stamps_per_pass);

    std::lock_guard lock(stats_mu_);
    ++stats_.passes;
    stats_.evicted_objects += victims.size();
    stats_.evicted_bytes += victim_bytes;
    stats_.have_fs = sample.have_fs;
    if (fs.ok()) {
        stats_.fs_total_bytes = fs->total_bytes;
        stats_.fs_free_bytes = fs->free_bytes;
        stats_.fs_floor_bytes = sample.fs_floor_bytes;
    }
    return plan;
}

EvictorStats Evictor::stats() const {
    std::lock_guard lock(stats_mu_);
    return stats_;
}

}  // namespace xs3::cache
