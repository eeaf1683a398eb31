// Tests of the Evictor against real files: usage ends under the target with the least recently
// used objects gone and pinned ones kept, blocks on disk rather than apparent size, the free-space
// floor on a small tmpfs, queued removals, last-access persistence, and the thread's lifecycle.
#include "xs3/cache/evictor.hpp"

#include <doctest/doctest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "cache_files.hpp"
#include "xs3/cache/store.hpp"

using namespace xs3;
using namespace xs3::cache;
using namespace xs3::cache::testing;
namespace fs = std::filesystem;

namespace {

std::function<int64_t()> ticking_clock() {
    auto t = std::make_shared<std::atomic<int64_t>>(1'700'000'000'000'000'000);
    return [t] { return t->fetch_add(1'000'000); };
}

// Publishes `size` bytes of data under name key `k` through the real Store and tells the index.
CacheKey publish(const Store& store, CacheIndex& index, const std::string& k, uint64_t size) {
    CacheKey key = name_key(k);
    ObjectMeta meta = meta_of(k, size);
    auto reservation = index.reserve(disk_bytes_estimate(size));
    REQUIRE(reservation.ok());
    auto temp = store.create_temp(key, meta, false);
    REQUIRE(temp.ok());
    std::string data(size, 'd');
    REQUIRE(::pwrite(temp->fd.get(), data.data(), data.size(),
                     static_cast<off_t>(temp->data_offset)) == static_cast<ssize_t>(size));
    FileFacts facts;
    REQUIRE(store.publish(std::move(*temp), key, &facts).ok());
    index.publish(key, meta, facts, std::move(*reservation));
    return key;
}

uint64_t blocks_on_disk(const std::string& path) {
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
}

}  // namespace

TEST_CASE("a cache filled past its limit is evicted to the target, oldest first, pinned kept") {
    TempDir dir("evict");
    Store store(dir.path, 2);
    REQUIRE(store.check_writable().ok());
    const uint64_t max = 2 * 1024 * 1024;
    CacheIndex index(max, ticking_clock());
    EvictorOptions opt;
    opt.max_bytes = max;
    opt.watermark_percent = 80;
    opt.target_percent = 50;
    Evictor evictor(index, store, opt, plenty_of_space);

    // 30 objects of 60 KiB (64 KiB on disk with the header): 1920 KiB, 94% of the limit.
    std::vector<CacheKey> keys;
    for (int i = 0; i < 30; ++i)
        keys.push_back(publish(store, index, "obj" + std::to_string(i), 60 * 1024));
    CHECK(index.stats().used_bytes == 30 * 64 * 1024);
    // Use the oldest few again, and pin one of the cold ones: they must survive.
    for (int i : {0, 1, 2})
        CHECK(index.touch(keys[i]));
    Pin pinned = index.pin(keys[5]);

    EvictionPlan plan = evictor.run_pass();
    CHECK(plan.over_watermark);
    IndexStats s = index.stats();
    CHECK(s.used_bytes <= max / 2);
    CHECK(s.used_bytes > max / 2 - 64 * 1024);  // no more than needed

    // Files 3, 4, 6, 7, ... went in LRU order; the pinned one and the used ones stayed.
    for (int i : {0, 1, 2, 5})
        CHECK(fs::exists(store.path_of(keys[i])));
    CHECK_FALSE(fs::exists(store.path_of(keys[3])));
    CHECK_FALSE(fs::exists(store.path_of(keys[4])));
    CHECK_FALSE(fs::exists(store.path_of(keys[6])));
    CHECK(fs::exists(store.path_of(keys[29])));
    // What the index holds is exactly what is on disk.
    uint64_t on_disk = 0, files = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir.path))
        if (e.is_regular_file() && e.path().parent_path().filename() != ".tmp") {
            on_disk += blocks_on_disk(e.path());
            ++files;
        }
    CHECK(on_disk == s.used_bytes);
    CHECK(files == s.objects);
    EvictorStats es = evictor.stats();
    CHECK(es.evicted_objects == 30 - s.objects);
    CHECK(es.files_removed == es.evicted_objects);

    // Nothing more to do on the next pass.
    CHECK(evictor.run_pass().bytes_to_free == 0);
}

TEST_CASE("usage counts blocks on disk, not the apparent size of a sparse file") {
    TempDir dir("sparse");
    Store store(dir.path, 2);
    REQUIRE(store.check_writable().ok());
    CacheKey key = name_key("sparse");
    ObjectMeta meta = meta_of("sparse", 64 * 1024 * 1024);
    auto temp = store.create_temp(key, meta, false);
    REQUIRE(temp.ok());
    // A 64 MiB object of which only the last byte was written. create_temp preallocated the
    // blocks (then they are really taken), so punch them out again to get a real hole.
    REQUIRE(::pwrite(temp->fd.get(), "z", 1, static_cast<off_t>(temp->total_size - 1)) == 1);
    REQUIRE(::fallocate(temp->fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096,
                        static_cast<off_t>(meta.size - 4096)) == 0);
    FileFacts facts;
    REQUIRE(store.publish(std::move(*temp), key, &facts).ok());
    struct stat st;
    REQUIRE(::stat(store.path_of(key).c_str(), &st) == 0);
    CHECK(static_cast<uint64_t>(st.st_size) == 4096 + 64 * 1024 * 1024);
    CHECK(facts.disk_bytes == static_cast<uint64_t>(st.st_blocks) * 512);
    CHECK(facts.disk_bytes < 1024 * 1024);  // a header block and a data block or so
    CHECK(facts.inode == st.st_ino);

    CacheIndex index(16 * 1024 * 1024, ticking_clock());
    index.publish(key, meta, facts, Reservation());
    CHECK(index.stats().used_bytes == facts.disk_bytes);
    EvictorOptions opt;
    opt.max_bytes = 16 * 1024 * 1024;  // far below the apparent 64 MiB
    Evictor evictor(index, store, opt, plenty_of_space);
    CHECK(evictor.run_pass().bytes_to_free == 0);
    CHECK(fs::exists(store.path_of(key)));
}

TEST_CASE("queued removals are unlinked by inode, never a newer file under the same name") {
    TempDir dir("removals");
    Store store(dir.path, 2);
    REQUIRE(store.check_writable().ok());
    CacheIndex index(1 << 30, ticking_clock());
    EvictorOptions opt;
    opt.max_bytes = 1 << 30;
    Evictor evictor(index, store, opt, plenty_of_space);

    // b is dropped by the index, and a new b is published before anyone unlinks the old one.
    CacheKey b = publish(store, index, "b", 100);
    auto old_b = index.remove(b);
    REQUIRE(old_b.has_value());
    publish(store, index, "b", 200);
    uint64_t new_inode = 0;
    {
        struct stat st;
        REQUIRE(::stat(store.path_of(b).c_str(), &st) == 0);
        new_inode = st.st_ino;
    }
    REQUIRE(new_inode != old_b->inode);
    auto stale = store.remove_if_inode(b, old_b->inode);
    REQUIRE(stale.ok());
    CHECK_FALSE(*stale);
    CHECK(fs::exists(store.path_of(b)));  // the new file survives the stale removal
    auto current = store.remove_if_inode(b, new_inode);
    REQUIRE(current.ok());
    CHECK(*current);
    CHECK_FALSE(fs::exists(store.path_of(b)));
    auto missing = store.remove_if_inode(b, 0);
    REQUIRE(missing.ok());
    CHECK_FALSE(*missing);

    // invalidate() queues the removal; the next pass does it.
    CacheKey c = publish(store, index, "c", 100);
    CacheKey d = publish(store, index, "d", 100);
    REQUIRE(index.invalidate(ObjectName{"bkt", "c", ""}));
    CHECK(fs::exists(store.path_of(c)));
    evictor.run_pass();
    CHECK_FALSE(fs::exists(store.path_of(c)));
    CHECK(fs::exists(store.path_of(d)));
    CHECK(evictor.stats().files_removed == 1);
    CHECK(evictor.stats().remove_errors == 0);
}

TEST_CASE("last-access times reach the files' mtimes in passes and at stop") {
    TempDir dir("stamps");
    Store store(dir.path, 2);
    REQUIRE(store.check_writable().ok());
    CacheIndex index(1 << 30, ticking_clock());
    EvictorOptions opt;
    opt.max_bytes = 1 << 30;
    opt.stamps_per_pass = 2;
    std::vector<CacheKey> keys;
    for (int i = 0; i < 5; ++i)
        keys.push_back(publish(store, index, "k" + std::to_string(i), 10));
    {
        Evictor evictor(index, store, opt, plenty_of_space);
        for (const auto& k : keys)
            index.touch(k);
        evictor.run_pass();
        CHECK(evictor.stats().stamps_written == 2);
        CHECK(mtime_ns(store.path_of(keys[0])) == index.find(keys[0])->last_access_ns);
        CHECK(mtime_ns(store.path_of(keys[1])) == index.find(keys[1])->last_access_ns);
        CHECK(mtime_ns(store.path_of(keys[4])) != index.find(keys[4])->last_access_ns);
        evictor.stop();  // writes the rest
        CHECK(evictor.stats().stamps_written == 5);
    }
    for (const auto& k : keys)
        CHECK(mtime_ns(store.path_of(k)) == index.find(k)->last_access_ns);
}

TEST_CASE("the evictor thread wakes on demand and stops cleanly") {
    TempDir dir("thread");
    Store store(dir.path, 2);
    REQUIRE(store.check_writable().ok());
    CacheIndex index(1 << 20, ticking_clock());
    std::mutex mu;
    std::condition_variable cv;
    int samples = 0;
    EvictorOptions opt;
    opt.max_bytes = 1 << 20;
    opt.interval = std::chrono::hours(1);  // only wake-ups drive it
    Evictor evictor(index, store, opt, [&](const std::string& p) {
        {
            std::lock_guard lock(mu);
            ++samples;
        }
        cv.notify_all();
        return plenty_of_space(p);
    });
    evictor.start();
    auto wait_for_samples = [&](int n) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, std::chrono::seconds(20), [&] { return samples >= n; });
    };
    REQUIRE(wait_for_samples(1));  // the first pass runs at once
    CacheKey a = publish(store, index, "a", 100);
    REQUIRE(index.invalidate(ObjectName{"bkt", "a", ""}));  // queues a removal: wakes it
    REQUIRE(wait_for_samples(2));
    evictor.stop();
    CHECK_FALSE(fs::exists(store.path_of(a)));
    evictor.stop();  // idempotent
}

TEST_CASE("the free-space floor holds on a small tmpfs") {
    // A private mount namespace in a child, so nothing leaks if the test fails halfway.
    TempDir dir("tmpfs");
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (::unshare(CLONE_NEWNS) != 0 ||
            ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount("tmpfs", dir.path.c_str(), "tmpfs", 0, "size=8m") != 0)
            ::_exit(77);
        Store store(dir.path, 1);
        if (!store.check_writable().ok()) ::_exit(2);
        const uint64_t max = 1ULL << 30;  // far above the filesystem: only the floor binds
        CacheIndex index(max);
        EvictorOptions opt;
        opt.max_bytes = max;
        opt.min_free.bytes = 3 * 1024 * 1024;
        Evictor evictor(index, store, opt);
        evictor.run_pass();  // first sample: 8 MiB free, the floor allows about 5 MiB
        std::vector<CacheKey> keys;
        int refused = 0;
        for (int i = 0; i < 12; ++i) {
            std::string k = "f" + std::to_string(i);
            CacheKey key = name_key(k);
            ObjectMeta meta = meta_of(k, 1024 * 1024 - 4096);
            auto r = index.reserve(disk_bytes_estimate(meta.size));
            if (!r.ok()) {
                ++refused;
                continue;
            }
            auto temp = store.create_temp(key, meta, false);
            if (!temp.ok()) ::_exit(3);
            std::string data(meta.size, 'f');
            if (::pwrite(temp->fd.get(), data.data(), data.size(), 4096) !=
                static_cast<ssize_t>(data.size()))
                ::_exit(4);
            FileFacts facts;
            if (!store.publish(std::move(*temp), key, &facts).ok()) ::_exit(5);
            index.publish(key, meta, facts, std::move(*r));
            keys.push_back(key);
            evictor.run_pass();  // unlinks what the reservation evicted, samples again
            auto space = statvfs_space(dir.path);
            if (!space.ok()) ::_exit(6);
            // Never below the floor (a little slack for directory blocks).
            if (space->free_bytes + 64 * 1024 < opt.min_free.bytes) ::_exit(7);
        }
        if (refused != 0) ::_exit(8);  // eviction always made room
        // The oldest went, the newest are there.
        if (::access(store.path_of(keys.front()).c_str(), F_OK) == 0) ::_exit(9);
        if (::access(store.path_of(keys.back()).c_str(), F_OK) != 0) ::_exit(10);
        if (index.stats().evicted_objects == 0) ::_exit(11);
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        MESSAGE("skipped: cannot mount a tmpfs here");
    else
        CHECK(WEXITSTATUS(status) == 0);
}
