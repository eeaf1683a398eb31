// Tests of CacheIndex in memory: LRU order, pins, reservations, the name view, invalidation, the
// scan bookkeeping and the wake-ups.
#include "xs3/cache/index.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "cache_files.hpp"

using namespace xs3;
using namespace xs3::cache;
using xs3::cache::testing::meta_of;
using xs3::cache::testing::name_key;

namespace {

constexpr uint64_t kBlock = 4096;

// A clock that advances 1 µs per reading, so every stamp is distinct and ordered.
std::function<int64_t()> ticking_clock(int64_t start = 1'700'000'000'000'000'000) {
    auto t = std::make_shared<std::atomic<int64_t>>(start);
    return [t] { return t->fetch_add(1000); };
}

FileFacts facts(uint64_t bytes, uint64_t inode = 1) {
    FileFacts f;
    f.disk_bytes = bytes;
    f.inode = inode;
    return f;
}

// Publishes name key `k` with `bytes` on disk, without a reservation.
CacheKey add(CacheIndex& index, const std::string& k, uint64_t bytes, uint64_t inode = 1) {
    CacheKey key = name_key(k);
    index.publish(key, meta_of(k, bytes), facts(bytes, inode), Reservation());
    return key;
}

std::vector<std::string> evicted_hex(const std::vector<Removal>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs)
        out.push_back(r.key.hex);
    return out;
}

ObjectName obj(const std::string& key, const std::string& version = "") {
    return ObjectName{"bkt", key, version};
}

}  // namespace

TEST_CASE("disk_bytes_estimate: whole blocks plus a header block") {
    CHECK(disk_bytes_estimate(0) == kBlock);
    CHECK(disk_bytes_estimate(1) == 2 * kBlock);
    CHECK(disk_bytes_estimate(kBlock) == 2 * kBlock);
    CHECK(disk_bytes_estimate(kBlock + 1) == 3 * kBlock);
}

TEST_CASE("publish accounts blocks on disk; touch reorders; evict takes the least recently used") {
    CacheIndex index(1 << 30, ticking_clock());
    CacheKey a = add(index, "a", 10 * kBlock);
    CacheKey b = add(index, "b", 20 * kBlock);
    CacheKey c = add(index, "c", 30 * kBlock);
    IndexStats s = index.stats();
    CHECK(s.used_bytes == 60 * kBlock);
    CHECK(s.objects == 3);
    CHECK(s.names == 3);

    CHECK(index.touch(a));  // order, coldest first: b, c, a
    CHECK_FALSE(index.touch(name_key("missing")));
    CHECK_FALSE(index.touch(CacheKey{"not hex", false}));

    // Just over b's size: b and then c go, coldest first, and nothing more.
    auto out = index.evict(20 * kBlock + 1);
    CHECK(evicted_hex(out) == std::vector<std::string>{b.hex, c.hex});
    CHECK(out[0].disk_bytes == 20 * kBlock);
    CHECK(out[0].inode == 1);
    s = index.stats();
    CHECK(s.used_bytes == 10 * kBlock);
    CHECK(s.objects == 1);
    CHECK(s.names == 1);  // the evicted objects' names went with them
    CHECK(s.evicted_objects == 2);
    CHECK(s.evicted_bytes == 50 * kBlock);
    CHECK(index.find(a).has_value());
    CHECK_FALSE(index.find(b).has_value());
    CHECK_FALSE(index.find_name(obj("b")).has_value());
}

TEST_CASE("a publish over an existing key replaces its usage and keeps it pinned") {
    CacheIndex index(1 << 30, ticking_clock());
    CacheKey a = add(index, "a", 10 * kBlock, 7);
    Pin pin = index.pin(a);
    REQUIRE(pin);
    CHECK(index.stats().pinned_bytes == 10 * kBlock);
    add(index, "a", 4 * kBlock, 8);
    IndexStats s = index.stats();
    CHECK(s.used_bytes == 4 * kBlock);
    CHECK(s.objects == 1);
    CHECK(s.pinned_bytes == 4 * kBlock);
    CHECK(index.evict(UINT64_MAX).empty());  // still pinned
    pin.release();
    CHECK(index.stats().pinned_bytes == 0);
    auto out = index.evict(UINT64_MAX);
    REQUIRE(out.size() == 1);
    CHECK(out[0].inode == 8);  // the new file, not the one the rename replaced
}

TEST_CASE("pinned objects are skipped by eviction, and a pin outliving its entry is harmless") {
    CacheIndex index(1 << 30, ticking_clock());
    CacheKey a = add(index, "a", kBlock);
    CacheKey b = add(index, "b", kBlock);
    CacheKey c = add(index, "c", kBlock);
    Pin pa = index.pin(a);
    Pin pa2 = index.pin(a);
    CHECK(index.find(a)->pins == 2);
    CHECK_FALSE(index.pin(name_key("missing")));

    auto out = index.evict(2 * kBlock);
    CHECK(evicted_hex(out) == std::vector<std::string>{b.hex, c.hex});
    CHECK(index.evict(kBlock).empty());

    Pin moved = std::move(pa);
    CHECK_FALSE(pa);
    moved.release();
    CHECK(index.find(a)->pins == 1);
    pa2.release();
    CHECK(index.find(a)->pins == 0);

    // Removed while pinned, then published again: the old pin must not unpin the new entry.
    Pin old = index.pin(a);
    REQUIRE(index.remove(a).has_value());
    add(index, "a", kBlock);
    Pin fresh = index.pin(a);
    old.release();
    CHECK(index.find(a)->pins == 1);
    CHECK(index.stats().pinned_bytes == kBlock);
}

TEST_CASE("reservations: promised space counts, publish turns it into usage, release returns it") {
    CacheIndex index(100 * kBlock, ticking_clock());
    auto r1 = index.reserve(30 * kBlock);
    REQUIRE(r1.ok());
    CHECK(r1->bytes() == 30 * kBlock);
    CHECK(index.stats().reserved_bytes == 30 * kBlock);

    auto r2 = index.reserve(60 * kBlock);
    REQUIRE(r2.ok());
    // 90 of 100 blocks promised and nothing published to evict: no room for 11 more.
    auto r3 = index.reserve(11 * kBlock);
    REQUIRE_FALSE(r3.ok());
    CHECK(r3.status().code() == Code::no_space);
    CHECK(index.stats().reservations_refused == 1);

    // The download wrote a little less than estimated.
    CacheKey k = name_key("obj");
    index.publish(k, meta_of("obj", 100), facts(28 * kBlock), std::move(*r1));
    CHECK_FALSE(*r1);
    IndexStats s = index.stats();
    CHECK(s.reserved_bytes == 60 * kBlock);
    CHECK(s.used_bytes == 28 * kBlock);

    r2->release();  // discarded download
    CHECK(index.stats().reserved_bytes == 0);
    {
        auto r4 = index.reserve(72 * kBlock);
        REQUIRE(r4.ok());
        CHECK(index.stats().reserved_bytes == 72 * kBlock);
    }  // dropped without publishing
    CHECK(index.stats().reserved_bytes == 0);
    CHECK_FALSE(index.reserve(101 * kBlock).ok());  // larger than the whole cache
}

TEST_CASE("a reservation evicts least recently used objects to fit and queues their removal") {
    CacheIndex index(100 * kBlock, ticking_clock());
    CacheKey a = add(index, "a", 40 * kBlock, 11);
    CacheKey b = add(index, "b", 40 * kBlock, 12);
    index.touch(a);  // b is now the coldest
    auto r = index.reserve(30 * kBlock);
    REQUIRE(r.ok());
    IndexStats s = index.stats();
    CHECK(s.used_bytes == 40 * kBlock);
    CHECK(s.reserved_bytes == 30 * kBlock);
    CHECK(s.evicted_objects == 1);
    auto removals = index.take_removals();
    REQUIRE(removals.size() == 1);
    CHECK(removals[0].key == b);
    CHECK(removals[0].inode == 12);
    CHECK(index.take_removals().empty());

    // With a pinned, nothing can make room for more than what is free: refused, nothing dropped.
    Pin p = index.pin(a);
    CHECK_FALSE(index.reserve(31 * kBlock).ok());
    CHECK(index.find(a).has_value());
    CHECK(index.take_removals().empty());
}

TEST_CASE("a burst of reservations from many threads never promises more than the limit") {
    const uint64_t limit = 1000 * kBlock;
    CacheIndex index(limit, ticking_clock());
    for (int i = 0; i < 50; ++i)
        add(index, "old" + std::to_string(i), 8 * kBlock);
    std::atomic<uint64_t> over{0}, granted{0}, refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            std::vector<Reservation> held;
            for (int i = 0; i < 400; ++i) {
                auto r = index.reserve(static_cast<uint64_t>(1 + (i * 7 + t) % 13) * kBlock);
                IndexStats s = index.stats();
                if (s.used_bytes + s.reserved_bytes > limit) over.fetch_add(1);
                if (!r.ok()) {
                    refused.fetch_add(1);
                    if (!held.empty()) held.erase(held.begin());  // a download finished
                    continue;
                }
                granted.fetch_add(1);
                if (i % 3 == 0) {
                    std::string k = "new" + std::to_string(t) + "-" + std::to_string(i);
                    index.publish(name_key(k), meta_of(k, 1), facts(r->bytes()), std::move(*r));
                } else {
                    held.push_back(std::move(*r));
                }
            }
        });
    }
    for (auto& th : threads)
        th.join();
    CHECK(over.load() == 0);
    CHECK(granted.load() > 0);
    CHECK(refused.load() > 0);  // the burst really did run into the limit
    IndexStats s = index.stats();
    CHECK(s.reserved_bytes == 0);
    CHECK(s.used_bytes <= limit);
}

TEST_CASE("the free-space floor lowers the limit reservations see") {
    CacheIndex index(1000 * kBlock, ticking_clock());
    add(index, "a", 100 * kBlock);
    // 150 blocks free, floor 100: occupancy may grow by 50 blocks.
    index.set_fs_space(150 * kBlock, 100 * kBlock);
    CHECK(index.stats().limit_bytes == 150 * kBlock);
    auto r = index.reserve(50 * kBlock);
    REQUIRE(r.ok());
    CHECK(index.take_removals().empty());
    // One more block must come out of the published object.
    auto r2 = index.reserve(kBlock);
    REQUIRE(r2.ok());
    CHECK(index.take_removals().size() == 1);
    CHECK(index.stats().used_bytes == 0);
    // Free space below the floor with nothing to evict: refused.
    index.set_fs_space(10 * kBlock, 100 * kBlock);
    CHECK(index.stats().limit_bytes == 0);
    CHECK_FALSE(index.reserve(kBlock).ok());
}

TEST_CASE("the wake callback fires for queued removals and for occupancy above the threshold") {
    CacheIndex index(100 * kBlock, ticking_clock());
    std::atomic<int> wakes{0};
    index.set_wake([&] { wakes.fetch_add(1); }, 50 * kBlock);
    add(index, "a", 40 * kBlock);
    CHECK(wakes.load() == 0);
    CHECK(index.touch(name_key("a")));
    CHECK(wakes.load() == 0);             // hits never wake anyone
    auto r = index.reserve(20 * kBlock);  // 60 > 50
    CHECK(wakes.load() == 1);
    index.invalidate(obj("a"));  // a name-keyed file to unlink
    CHECK(wakes.load() == 2);
    index.set_wake({}, UINT64_MAX);
    add(index, "b", 90 * kBlock);
    CHECK(wakes.load() == 2);
}

TEST_CASE("the name view: publish binds, mark_validated refreshes, bind_name shares content") {
    CacheIndex index(1 << 30, ticking_clock());
    CacheKey k = add(index, "a", kBlock);
    auto info = index.find_name(obj("a"));
    REQUIRE(info.has_value());
    CHECK(info->key == k);
    CHECK(info->etag == "\"e\"");
    CHECK(info->size == kBlock);
    CHECK(info->validated_at_unix == 1700000000);
    CHECK_FALSE(index.find_name(obj("a", "v1")).has_value());  // another version
    CHECK_FALSE(index.find_name(ObjectName{"other", "a", ""}).has_value());

    CHECK(index.mark_validated(obj("a"), "\"e\"", 1800000000));
    CHECK(index.find_name(obj("a"))->validated_at_unix == 1800000000);
    CHECK_FALSE(index.mark_validated(obj("a"), "\"changed\"", 1900000000));
    CHECK(index.find_name(obj("a"))->validated_at_unix == 1800000000);
    CHECK_FALSE(index.mark_validated(obj("nope"), "\"e\"", 1900000000));

    // A content-keyed object published for x is also what y (same sha224) serves.
    CacheKey content{std::string(56, 'c'), true};
    ObjectMeta m = meta_of("x", 5, "\"ex\"");
    index.publish(content, m, facts(2 * kBlock), Reservation());
    NameInfo y{content, "\"ey\"", 5, 1700000500};
    CHECK(index.bind_name(obj("y"), y));
    CHECK(index.find_name(obj("y"))->key == content);
    CHECK(index.find_name(obj("y"))->etag == "\"ey\"");
    CHECK(index.find_name(obj("x"))->key == content);
    CHECK_FALSE(
        index.bind_name(obj("z"), NameInfo{CacheKey{std::string(56, 'd'), true}, "", 0, 0}));
    CHECK(index.stats().names == 3);

    // Removing the content drops both names.
    REQUIRE(index.remove(content).has_value());
    CHECK_FALSE(index.find_name(obj("x")).has_value());
    CHECK_FALSE(index.find_name(obj("y")).has_value());
    CHECK(index.stats().names == 1);

    // Three names on one content; one moves to other content (the object changed), then the
    // first content goes: only the names still bound to it go with it.
    CacheKey c1{std::string(56, '1'), true}, c2{std::string(56, '2'), true};
    index.publish(c1, meta_of("p", 5), facts(kBlock), Reservation());
    index.publish(c2, meta_of("other", 5), facts(kBlock), Reservation());
    CHECK(index.bind_name(obj("q"), NameInfo{c1, "\"q\"", 5, 0}));
    CHECK(index.bind_name(obj("r"), NameInfo{c1, "\"r\"", 5, 0}));
    CHECK(index.bind_name(obj("p"), NameInfo{c2, "\"p2\"", 5, 0}));  // p was c1's first name
    CHECK(index.bind_name(obj("q"), NameInfo{c1, "\"q2\"", 5, 0}));  // rebinding in place
    CHECK(index.find_name(obj("q"))->etag == "\"q2\"");
    REQUIRE(index.remove(c1).has_value());
    CHECK_FALSE(index.find_name(obj("q")).has_value());
    CHECK_FALSE(index.find_name(obj("r")).has_value());
    CHECK(index.find_name(obj("p"))->key == c2);
    CHECK(index.find_name(obj("other"))->key == c2);
    REQUIRE(index.remove(c2).has_value());
    CHECK_FALSE(index.find_name(obj("p")).has_value());
    CHECK(index.stats().names == 1);  // "a" alone
}

TEST_CASE("invalidate: a name-keyed copy goes at once, a shared content copy stays for others") {
    CacheIndex index(1 << 30, ticking_clock());
    CacheKey a = add(index, "a", 3 * kBlock, 21);
    CHECK(index.invalidate(obj("a")));
    CHECK_FALSE(index.find_name(obj("a")).has_value());
    CHECK_FALSE(index.find(a).has_value());
    CHECK(index.stats().used_bytes == 0);
    auto removals = index.take_removals();
    REQUIRE(removals.size() == 1);
    CHECK(removals[0].key == a);
    CHECK(removals[0].inode == 21);
    CHECK_FALSE(index.invalidate(obj("a")));

    CacheKey content{std::string(56, 'c'), true};
    index.publish(content, meta_of("x", 5), facts(kBlock), Reservation());
    CHECK(index.bind_name(obj("y"), NameInfo{content, "\"e\"", 5, 0}));
    CHECK(index.invalidate(obj("x")));
    CHECK_FALSE(index.find_name(obj("x")).has_value());
    CHECK(index.find_name(obj("y")).has_value());
    CHECK(index.find(content).has_value());
    CHECK(index.take_removals().empty());
}

TEST_CASE("remove_prefix drops every object named under the prefix, in that bucket only") {
    CacheIndex index(1 << 30, ticking_clock());
    add(index, "logs/2024/a", kBlock);
    add(index, "logs/2024/b", kBlock);
    add(index, "logs/2025/c", kBlock);
    add(index, "logsX", kBlock);
    CacheKey other = name_key("logs/2024/z", "otherbucket");
    index.publish(other, meta_of("logs/2024/z", 1, "\"e\"", "otherbucket"), facts(kBlock),
                  Reservation());
    auto out = index.remove_prefix("bkt", "logs/2024/");
    CHECK(out.size() == 2);
    CHECK(index.stats().objects == 3);
    CHECK(index.find_name(obj("logs/2025/c")).has_value());
    CHECK(index.find(other).has_value());
    CHECK(index.remove_prefix("bkt", "logs").size() == 2);
    CHECK(index.stats().objects == 1);
    CHECK(index.stats().removed_objects == 4);
}

TEST_CASE("last-access stamps: hits are handed out once, in batches; publishes need none") {
    CacheIndex index(1 << 30, ticking_clock());
    CacheKey a = add(index, "a", kBlock);
    CacheKey b = add(index, "b", kBlock);
    CacheKey c = add(index, "c", kBlock);
    CHECK(index.take_access_stamps(100).empty());
    index.touch(a);
    index.touch(b);
    index.touch(a);  // still one stamp for a, with the later time
    index.touch(c);
    index.remove(c);
    auto first = index.take_access_stamps(1);
    REQUIRE(first.size() == 1);
    CHECK(first[0].key == a);
    CHECK(first[0].last_access_ns == index.find(a)->last_access_ns);
    auto rest = index.take_access_stamps(100);
    REQUIRE(rest.size() == 1);  // c was removed
    CHECK(rest[0].key == b);
    CHECK(index.take_access_stamps(100).empty());
    // Stamps are strictly increasing in hit order, so the order survives on disk.
    CHECK(first[0].last_access_ns > rest[0].last_access_ns);
}

TEST_CASE("scan bookkeeping: sorted by persisted access, hits meanwhile, drops not re-added") {
    CacheIndex index(1 << 30, ticking_clock());
    index.begin_scan();
    CHECK(index.stats().scanning);

    auto scanned = [](const std::string& k, int64_t mtime_s, uint64_t bytes) {
        ScannedFile f;
        f.key = name_key(k);
        f.facts.disk_bytes = bytes;
        f.facts.inode = 100;
        f.facts.mtime_ns = mtime_s * 1000000000;
        f.name = obj(k);
        f.etag = "\"old\"";
        f.size = bytes;
        f.stored_at_unix = 1600000000;
        return f;
    };
    // Published during the scan: the scan's older copy of the same key must not replace it.
    CacheKey fresh = add(index, "fresh", kBlock);
    // A hit on a file the scan has not reached yet.
    CHECK_FALSE(index.touch(name_key("hit")));
    // Removed (purged) before the scan reaches it, and a name invalidated before it is scanned.
    auto purged = index.remove(name_key("purged"));
    REQUIRE(purged.has_value());
    CHECK(purged->inode == 0);  // not known: remove whatever is there
    CHECK_FALSE(index.invalidate(obj("changed")));

    std::vector<ScannedFile> batch;
    batch.push_back(scanned("m30", 30, kBlock));
    batch.push_back(scanned("m10", 10, kBlock));
    batch.push_back(scanned("fresh", 5, 9 * kBlock));
    batch.push_back(scanned("hit", 1, kBlock));
    batch.push_back(scanned("purged", 2, kBlock));
    batch.push_back(scanned("changed", 3, kBlock));
    index.add_scanned(batch);
    CHECK(batch.empty());
    std::vector<ScannedFile> batch2;
    batch2.push_back(scanned("m20", 20, kBlock));
    index.add_scanned(batch2);
    index.end_scan();
    CHECK_FALSE(index.stats().scanning);

    CHECK(index.find(fresh)->disk_bytes == kBlock);
    CHECK(index.find_name(obj("fresh"))->etag == "\"e\"");
    CHECK_FALSE(index.find(name_key("purged")).has_value());
    CHECK(index.find(name_key("changed")).has_value());        // its bytes are kept...
    CHECK_FALSE(index.find_name(obj("changed")).has_value());  // ...but the name is not bound
    CHECK(index.find_name(obj("m10"))->validated_at_unix == 1600000000);
    CHECK(index.stats().objects == 6);

    // LRU order: the scanned files by mtime (changed 3s, m10, m20, m30), then what was used
    // during the scan: "fresh" (published), then "hit" (its hit came later).
    std::vector<std::string> order;
    for (const auto& r : index.evict(UINT64_MAX))
        order.push_back(r.key.hex);
    std::vector<std::string> expect;
    for (const char* k : {"changed", "m10", "m20", "m30", "fresh", "hit"})
        expect.push_back(name_key(k).hex);
    CHECK(order == expect);

    // After the scan, removing an unknown key is a no-op again.
    CHECK_FALSE(index.remove(name_key("unknown")).has_value());
}

TEST_CASE("the index answers hits and names from other threads while a scan feeds it") {
    CacheIndex index(1ULL << 40, ticking_clock());
    CacheKey hot = add(index, "hot", kBlock);
    index.begin_scan();
    std::atomic<bool> done{false};
    std::atomic<uint64_t> hits{0};
    std::thread reader([&] {
        while (!done.load()) {
            if (index.touch(hot) && index.find_name(obj("hot"))) hits.fetch_add(1);
            Pin p = index.pin(hot);
        }
    });
    for (int b = 0; b < 40; ++b) {
        std::vector<ScannedFile> batch;
        for (int i = 0; i < 250; ++i) {
            ScannedFile f;
            std::string k = "s" + std::to_string(b * 250 + i);
            f.key = name_key(k);
            f.facts.disk_bytes = kBlock;
            f.facts.mtime_ns = (b * 250 + i) * 1000;
            f.name = obj(k);
            batch.push_back(std::move(f));
        }
        index.add_scanned(batch);
    }
    index.end_scan();
    done.store(true);
    reader.join();
    CHECK(hits.load() > 0);
    CHECK(index.stats().objects == 10001);
    CHECK(index.stats().pinned_bytes == 0);
    // The first victim is the oldest scanned file.
    auto first = index.evict(1);
    REQUIRE(first.size() == 1);
    CHECK(first[0].key == name_key("s0"));
}
