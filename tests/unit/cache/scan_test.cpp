// Tests of the start-up scan against real directories: 10k files indexed in the background while
// lookups are answered, leftovers and broken files removed, foreign files kept, the name view fed
// from the headers, and the LRU order of the previous run restored.
#include "xs3/cache/scan.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "cache_files.hpp"
#include "xs3/cache/evictor.hpp"
#include "xs3/cache/store.hpp"

using namespace xs3;
using namespace xs3::cache;
using namespace xs3::cache::testing;
namespace fs = std::filesystem;

TEST_CASE("10k files are indexed in the background while lookups and hits are answered") {
    TempDir dir("scan10k");
    Store store(dir.path, 2);
    const int n = 10240;
    std::vector<CacheKey> keys;
    for (int i = 0; i < n; ++i) {
        std::string k = "file/" + std::to_string(i);
        keys.push_back(name_key(k));
        write_cache_file(dir.path, 2, keys.back(),
                         meta_of(k, 100, "\"etag" + std::to_string(i) + "\""));
    }

    CacheIndex index(1ULL << 40);
    CacheScan scan(store, index);
    // Hold the scan after its first batch until the lookups below are done, so they provably
    // happen while it runs.
    std::mutex mu;
    std::condition_variable cv;
    bool release = false, held = false;
    scan.set_progress([&](const ScanStats&) {
        std::unique_lock lock(mu);
        if (held) return;
        held = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
    });
    scan.start();
    {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return held; });
    }
    ScanStats during = scan.stats();
    CHECK(during.state == ScanState::running);
    CHECK(during.files >= 512);
    CHECK(during.files < static_cast<uint64_t>(n));
    CHECK(index.stats().scanning);
    // The first request's lookup: straight from disk, whether or not the scan got there.
    int found = 0;
    for (int i : {0, n / 2, n - 1}) {
        auto e = store.lookup(keys[i]);
        REQUIRE(e.ok());
        REQUIRE(e->has_value());
        CHECK((*e)->meta.etag == "\"etag" + std::to_string(i) + "\"");
        ++found;
        index.touch(keys[i]);  // remembered even if not scanned yet
    }
    CHECK(found == 3);
    {
        std::lock_guard lock(mu);
        release = true;
    }
    cv.notify_all();
    scan.join();

    ScanStats s = scan.stats();
    CHECK(s.state == ScanState::done);
    CHECK(s.files == static_cast<uint64_t>(n));
    CHECK(s.removed_broken == 0);
    CHECK(s.errors == 0);
    IndexStats is = index.stats();
    CHECK_FALSE(is.scanning);
    CHECK(is.objects == static_cast<uint64_t>(n));
    CHECK(is.names == static_cast<uint64_t>(n));
    CHECK(is.used_bytes == s.bytes);
    CHECK(s.bytes >= static_cast<uint64_t>(n) * 4096);
    auto info = index.find_name(ObjectName{"bkt", "file/77", ""});
    REQUIRE(info.has_value());
    CHECK(info->key == keys[77]);
    CHECK(info->etag == "\"etag77\"");
    CHECK(info->size == 100);
    CHECK(info->validated_at_unix == 1700000000);
    // The three hits made during the scan are the most recently used now.
    auto all = index.evict(UINT64_MAX);
    REQUIRE(all.size() == static_cast<size_t>(n));
    std::set<std::string> last3;
    for (size_t i = all.size() - 3; i < all.size(); ++i)
        last3.insert(all[i].key.hex);
    CHECK(last3 == std::set<std::string>{keys[0].hex, keys[n / 2].hex, keys[n - 1].hex});
}

TEST_CASE("the scan removes leftovers and broken files and leaves foreign ones alone") {
    TempDir dir("scanclean");
    Store store(dir.path, 2);
    REQUIRE(store.check_writable().ok());
    // A leftover download of the previous run, moved aside at start-up.
    {
        std::ofstream(dir.path + "/.tmp/" + std::string(56, 'a') + ".n.1234.part") << "partial";
        std::ofstream(dir.path + "/.tmp/other.part") << "partial";
    }
    auto stale = store.retire_temp_dir();
    REQUIRE(stale.ok());
    CHECK(stale->rfind(dir.path + "/.tmp-stale-", 0) == 0);
    CHECK_FALSE(fs::exists(dir.path + "/.tmp"));
    CHECK(*store.retire_temp_dir() == "");  // nothing left to retire
    REQUIRE(store.check_writable().ok());   // a fresh .tmp for this run's downloads
    std::ofstream(dir.path + "/.tmp/current.part") << "in use";

    CacheKey good = name_key("good");
    write_cache_file(dir.path, 2, good, meta_of("good", 1000));
    // Truncated: the header promises 1000 bytes, 10 are there.
    CacheKey truncated = name_key("truncated");
    std::string tpath = write_cache_file(dir.path, 2, truncated, meta_of("truncated", 1000));
    REQUIRE(::truncate(tpath.c_str(), 4096 + 10) == 0);
    // Not a cache file at all, under a cache file's name.
    CacheKey garbage = name_key("garbage");
    std::string gpath = object_path(dir.path, garbage, 2);
    fs::create_directories(fs::path(gpath).parent_path());
    std::ofstream(gpath) << "hello";
    // Written with --cache-hierarchy-level 4: unreachable at level 2.
    CacheKey deep = name_key("deep");
    std::string dpath = write_cache_file(dir.path, 4, deep, meta_of("deep", 10));
    // In the right depth but the wrong directory.
    CacheKey moved = name_key("moved");
    std::string right = object_path(dir.path, moved, 2);
    std::string wrong = dir.path + (moved.hex[0] == '0' ? "/1/1/" : "/0/0/") + moved.hex + ".n";
    write_cache_file(dir.path, 2, moved, meta_of("moved", 10));
    fs::create_directories(fs::path(wrong).parent_path());
    fs::rename(right, wrong);
    // Someone else's files.
    fs::create_directories(dir.path + "/lost+found");
    std::ofstream(dir.path + "/README") << "not ours";
    std::ofstream(fs::path(object_path(dir.path, good, 2)).parent_path() / "notes.txt") << "x";

    CacheIndex index(1ULL << 40);
    CacheScan scan(store, index);
    scan.run();
    ScanStats s = scan.stats();
    CHECK(s.state == ScanState::done);
    CHECK(s.files == 1);
    CHECK(s.removed_broken == 2);
    CHECK(s.removed_misplaced == 2);
    CHECK(s.removed_temp == 2);
    CHECK(s.foreign == 3);
    CHECK(s.errors == 0);

    CHECK(index.find(good).has_value());
    CHECK(index.stats().objects == 1);
    CHECK_FALSE(fs::exists(tpath));
    CHECK_FALSE(fs::exists(gpath));
    CHECK_FALSE(fs::exists(dpath));
    CHECK_FALSE(fs::exists(wrong));
    CHECK_FALSE(fs::exists(*stale));
    CHECK(fs::exists(dir.path + "/.tmp/current.part"));  // this run's downloads are not touched
    CHECK(fs::exists(dir.path + "/README"));
    CHECK(fs::exists(dir.path + "/lost+found"));
    CHECK(fs::exists(fs::path(object_path(dir.path, good, 2)).parent_path() / "notes.txt"));
}

TEST_CASE("a missing cache directory scans as empty; an unreadable one fails") {
    TempDir dir("scanmissing");
    CacheIndex index(1 << 20);
    Store nowhere(dir.path + "/nope", 2);
    CacheScan missing(nowhere, index);
    missing.run();
    CHECK(missing.stats().state == ScanState::done);
    CHECK_FALSE(index.stats().scanning);

    std::ofstream(dir.path + "/file") << "x";
    Store not_a_dir(dir.path + "/file", 2);
    CacheScan bad(not_a_dir, index);
    bad.run();
    CHECK(bad.stats().state == ScanState::failed);
    CHECK_FALSE(index.stats().scanning);
}

TEST_CASE("a restart restores the previous run's LRU order from the persisted last access") {
    TempDir dir("scanlru");
    Store store(dir.path, 2);
    REQUIRE(store.check_writable().ok());
    std::vector<CacheKey> keys;
    {
        CacheIndex index(1ULL << 40);
        for (int i = 0; i < 8; ++i) {
            std::string k = "k" + std::to_string(i);
            CacheKey key = name_key(k);
            std::string path = write_cache_file(dir.path, 2, key, meta_of(k, 10));
            set_mtime(path, 1600000000 + i);  // k0 oldest ... k7 newest on disk
            keys.push_back(key);
        }
        CacheScan scan(store, index);
        ScanStats finished;
        scan.set_on_finished([&](const ScanStats& s) {
            finished = s;
            CHECK_FALSE(index.stats().scanning);  // the index is complete when it is called
        });
        scan.run();
        CHECK(finished.state == ScanState::done);
        CHECK(finished.files == 8);
        REQUIRE(index.stats().objects == 8);
        // This run uses them in the order 5, 1, 7, 2: those become the most recent, in order.
        for (int i : {5, 1, 7, 2})
            CHECK(index.touch(keys[i]));
        EvictorOptions opt;
        opt.max_bytes = 1ULL << 40;
        Evictor evictor(index, store, opt, plenty_of_space);
        evictor.stop();  // shutdown: every last access reaches the disk
    }
    CacheIndex index(1ULL << 40);
    CacheScan scan(store, index);
    scan.start();
    scan.join();
    REQUIRE(index.stats().objects == 8);
    std::vector<std::string> order;
    for (const auto& r : index.evict(UINT64_MAX))
        order.push_back(r.key.hex);
    std::vector<std::string> expect;
    for (int i : {0, 3, 4, 6, 5, 1, 7, 2})
        expect.push_back(keys[i].hex);
    CHECK(order == expect);
}

TEST_CASE("stop() ends a running scan early and leaves the index usable") {
    TempDir dir("scanstop");
    Store store(dir.path, 1);
    for (int i = 0; i < 2000; ++i) {
        std::string k = "s" + std::to_string(i);
        write_cache_file(dir.path, 1, name_key(k), meta_of(k, 0));
    }
    CacheIndex index(1ULL << 40);
    CacheScan scan(store, index);
    std::mutex mu;
    std::condition_variable cv;
    bool first = false;
    scan.set_progress([&](const ScanStats&) {
        std::lock_guard lock(mu);
        first = true;
        cv.notify_all();
    });
    scan.start();
    {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return first; });
    }
    scan.stop();
    ScanStats s = scan.stats();
    CHECK((s.state == ScanState::stopped || s.state == ScanState::done));
    CHECK(s.files >= 512);
    CHECK(index.stats().objects == s.files);
    CHECK_FALSE(index.stats().scanning);
    scan.stop();  // idempotent
}
