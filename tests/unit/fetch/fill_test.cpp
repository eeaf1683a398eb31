// The miss decisions of a Fill against the S3 emulator running in-process, with a real store,
// index and pools: cache it (published, the name bound, every byte fetched once), pass it through
// (larger than the cache; no room even after eviction), serve it from the cache (the same bytes
// under another name), verification failing, the object changing at S3 mid-download, an empty
// object, joiners (one fill however many join; a join once every byte is there, before
// verification or publish; a join after the fill published and left), and shutdown. The
// emulator's counters say what reached S3.
#include "xs3/fetch/fill.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "emulator.hpp"

using namespace xs3;
using namespace xs3::fetch;
using namespace xs3::test;
using namespace std::chrono_literals;

namespace {

// A cache (store, index, writability) in a temp dir and a Fills over it, with `workers` rings.
struct Rig {
    explicit Rig(Emulator& emu, uint64_t cache_bytes = 1ULL << 30, unsigned workers = 2,
                 uint64_t max_cache_size = UINT64_MAX)
        : store(dir.path, 2),
          index(cache_bytes),
          blocking(2),
          hashing(1),
          writability(store, blocking),
          bucket(bucket_options(emu)) {
        names_complete.store(true);
        REQUIRE(store.check_writable().ok());
        for (unsigned i = 0; i < workers; ++i) {
            rings.push_back(std::make_unique<RingThread>());
            slots.add(rings.back()->slot());
        }
        FillOptions o;
        o.download = test_download_options();
        o.max_cache_size = max_cache_size;
        fills = std::make_unique<Fills>(FillContext{
            o, store, index, writability, names_complete, blocking, hashing, slots, counters, {}});
    }
    ~Rig() {
        for (int i = 0; i < 500 && fills->active() > 0; ++i)
            std::this_thread::sleep_for(10ms);
        fills->fail_all(Status(Code::cancelled, "test over"));
        for (int i = 0; i < 500 && Download::live_fetchers() > 0; ++i)
            std::this_thread::sleep_for(10ms);
        writability.stop();
        blocking.shutdown();
        hashing.shutdown();
        rings.clear();
    }

    static s3::BucketOptions bucket_options(Emulator& emu) {
        s3::BucketOptions b;
        b.bucket = "bench";
        auto ep = s3::parse_endpoint_url(emu.endpoint());
        REQUIRE(ep.ok());
        b.endpoint = *ep;
        b.endpoint.path_style = true;
        return b;
    }

    // Joins on ring `on` and waits for the answer.
    // The handle is kept until the test ends (a handle let go before the answer cancels it).
    FillAnswer join(const std::string& key, uint64_t first_byte = 0, size_t on = 0,
                    std::string version = {}) {
        std::promise<FillAnswer> p;
        auto handle = std::make_shared<std::shared_ptr<FillHandle>>();
        handles.push_back(handle);
        RingThread& r = *rings[on];
        s3::ObjectId id(key);
        id.version_id = std::move(version);
        r.ring().post([&, handle, id] {
            *handle = fills->join(FillRequest{&bucket, id, first_byte, std::nullopt, r.slot()},
                                  [&p](FillAnswer a) { p.set_value(std::move(a)); });
        });
        auto f = p.get_future();
        REQUIRE(f.wait_for(20s) == std::future_status::ready);
        return f.get();
    }

    // Waits until the object's fill has left the registry (published or dropped).
    void settle() {
        for (int i = 0; i < 2000 && fills->active() > 0; ++i)
            std::this_thread::sleep_for(5ms);
        REQUIRE(fills->active() == 0);
    }

    std::optional<cache::NameInfo> name(const std::string& key) {
        return index.find_name({"bench", key, ""});
    }

    TempDir dir;
    cache::Store store;
    cache::CacheIndex index;
    ThreadPool blocking;
    ThreadPool hashing;
    cache::Writability writability;
    std::atomic<bool> names_complete{false};
    s3::BucketClient bucket;
    FetchSlots slots;
    FillCounters counters;
    std::vector<std::unique_ptr<RingThread>> rings;
    std::unique_ptr<Fills> fills;
    std::vector<std::shared_ptr<std::shared_ptr<FillHandle>>> handles;
};

// The whole object read back from a download's file.
std::string read_download(Download& d) {
    std::string out(d.size(), '\0');
    size_t got = 0;
    while (got < out.size()) {
        ssize_t n = ::pread(d.fd(), out.data() + got, out.size() - got,
                            static_cast<off_t>(d.data_offset() + got));
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    out.resize(got);
    return out;
}

// The published file's object bytes.
std::string read_cached(Rig& rig, const cache::CacheKey& key) {
    auto e = rig.store.lookup(key);
    REQUIRE(e.ok());
    REQUIRE(e.value().has_value());
    const cache::Entry& entry = *e.value();
    std::string out(entry.meta.size, '\0');
    ssize_t n =
        ::pread(entry.fd.get(), out.data(), out.size(), static_cast<off_t>(entry.data_offset));
    REQUIRE(n == static_cast<ssize_t>(out.size()));
    return out;
}

void wait_complete(Download& d) {
    for (int i = 0;
         i < 4000 && d.state() != Download::State::complete && d.state() != Download::State::failed;
         ++i)
        std::this_thread::sleep_for(5ms);
}

}  // namespace

TEST_CASE("a cold object is cached: answered before publish, every byte fetched once") {
    Emulator emu({"name=cold.bin,size=5MiB,seed=21"}, {});
    Rig rig(emu);
    FillAnswer a = rig.join("cold.bin");
    REQUIRE(a.kind == FillAnswer::Kind::download);
    CHECK(a.started);
    REQUIRE(a.info_known);
    CHECK(a.info.size == 5 * kChunk);
    CHECK(a.info.meta.etag == emu.object("cold.bin").etag(0));
    CHECK_FALSE(a.info.key.content_addressed);  // no x-amz-meta-sha224: the name key
    wait_complete(*a.download);
    REQUIRE(a.download->state() == Download::State::complete);
    rig.settle();
    auto named = rig.name("cold.bin");
    REQUIRE(named.has_value());
    CHECK(named->key == a.info.key);
    CHECK(named->size == 5 * kChunk);
    check_bytes(emu, "cold.bin", read_cached(rig, a.info.key));
    CHECK(emu.body_bytes("cold.bin") == 5 * kChunk);
    CHECK(emu.gets("cold.bin") == 5);
    CHECK(rig.counters.downloads_started == 1);
    CHECK(rig.counters.downloads_published == 1);
    CHECK(rig.counters.downloads_failed == 0);
    CHECK(rig.counters.origin_bytes == 5 * kChunk);
    CHECK(rig.index.stats().reserved_bytes == 0);  // the reservation became usage
}

TEST_CASE("many joiners on two rings share one fill; the first started it") {
    Emulator emu({"name=herd.bin,size=4MiB,seed=22"}, {});
    Rig rig(emu);
    std::vector<std::future<FillAnswer>> answers;
    std::vector<std::shared_ptr<std::promise<FillAnswer>>> promises;
    std::vector<std::shared_ptr<FillHandle>> handles(16);
    for (size_t i = 0; i < 16; ++i) {
        auto p = std::make_shared<std::promise<FillAnswer>>();
        promises.push_back(p);
        answers.push_back(p->get_future());
        RingThread& r = *rig.rings[i % 2];
        r.ring().post([&, i, p, &r = r] {
            handles[i] = rig.fills->join(FillRequest{&rig.bucket, s3::ObjectId("herd.bin"),
                                                     i * 200000, std::nullopt, r.slot()},
                                         [p](FillAnswer a) { p->set_value(std::move(a)); });
        });
    }
    int started = 0;
    std::shared_ptr<Download> dl;
    for (auto& f : answers) {
        REQUIRE(f.wait_for(20s) == std::future_status::ready);
        FillAnswer a = f.get();
        REQUIRE(a.kind == FillAnswer::Kind::download);
        started += a.started ? 1 : 0;
        if (!dl) dl = a.download;
        CHECK(a.download == dl);  // one download for all of them
    }
    CHECK(started == 1);
    wait_complete(*dl);
    check_bytes(emu, "herd.bin", read_download(*dl));
    rig.settle();
    CHECK(emu.body_bytes("herd.bin") == 4 * kChunk);
    CHECK(emu.gets("herd.bin") == 4);
}

TEST_CASE("a join once every byte is there but before publish gets the complete download") {
    Emulator emu({"name=late.bin,size=2MiB,seed=23"}, {});
    Rig rig(emu);
    // Hold the blocking pool so the publish waits behind this task.
    std::mutex mu;
    std::condition_variable cv;
    bool release = false;
    FillAnswer first = rig.join("late.bin");
    REQUIRE(first.kind == FillAnswer::Kind::download);
    rig.blocking.submit([&] {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return release; });
    });
    rig.blocking.submit([&] {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return release; });
    });
    wait_complete(*first.download);
    REQUIRE(first.download->state() == Download::State::complete);
    CHECK(rig.fills->active() == 1);  // not published yet: still joinable
    FillAnswer late = rig.join("late.bin", 0, 1);
    REQUIRE(late.kind == FillAnswer::Kind::download);
    CHECK_FALSE(late.started);
    CHECK(late.download == first.download);
    CHECK(late.download->state() == Download::State::complete);
    CHECK(late.complete);  // the proxy answers it a HIT
    {
        std::lock_guard lk(mu);
        release = true;
    }
    cv.notify_all();
    rig.settle();
    // The joiner's descriptor still reads the object after the rename into place.
    check_bytes(emu, "late.bin", read_download(*late.download));
    CHECK(rig.name("late.bin").has_value());
    CHECK(emu.gets("late.bin") == 2);
}

TEST_CASE("a join while the written bytes are still being verified: the whole file, a hit") {
    // Every byte is on file but the SHA-224 is not checked yet (the hashing pool is held), so
    // the download is still running: the joiner reads the complete file, makes no GET, and is
    // told so (the proxy counts it a hit).
    Emulator emu({"name=hashing.bin,size=3MiB,seed=32,sha224=yes"}, {});
    Rig rig(emu);
    std::mutex mu;
    std::condition_variable cv;
    bool release = false;
    rig.hashing.submit([&] {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return release; });
    });
    FillAnswer first = rig.join("hashing.bin");
    REQUIRE(first.kind == FillAnswer::Kind::download);
    CHECK(first.started);
    CHECK_FALSE(first.complete);  // answered before any byte
    for (int i = 0; i < 4000 && !first.download->all_on_file(); ++i)
        std::this_thread::sleep_for(5ms);
    REQUIRE(first.download->all_on_file());
    CHECK(first.download->state() == Download::State::running);  // not verified yet
    CHECK(emu.gets("hashing.bin") == 3);
    FillAnswer late = rig.join("hashing.bin", 0, 1);
    REQUIRE(late.kind == FillAnswer::Kind::download);
    CHECK_FALSE(late.started);
    CHECK(late.complete);
    CHECK(late.download == first.download);
    check_bytes(emu, "hashing.bin", read_download(*late.download));
    {
        std::lock_guard lk(mu);
        release = true;
    }
    cv.notify_all();
    wait_complete(*first.download);
    CHECK(first.download->verified());
    rig.settle();
    CHECK(rig.name("hashing.bin").has_value());
    CHECK(emu.gets("hashing.bin") == 3);  // no GET for the joiner
    CHECK(emu.body_bytes("hashing.bin") == 3 * kChunk);
    CHECK(rig.counters.downloads_started == 1);
    CHECK(rig.counters.downloads_published == 1);
}

TEST_CASE("a join after the fill published and left the registry: the cached copy, no GET") {
    // The proxy looks the name up in the index and then joins; a fill that publishes between the
    // two is gone from the registry when the join comes, but its copy is in the index. Joining
    // after the fill settled is that window held open.
    Emulator emu({"name=after.bin,size=2MiB,seed=33"}, {});
    Rig rig(emu);
    FillAnswer first = rig.join("after.bin");
    REQUIRE(first.kind == FillAnswer::Kind::download);
    wait_complete(*first.download);
    rig.settle();
    REQUIRE(rig.name("after.bin").has_value());
    CHECK(emu.gets("after.bin") == 2);
    FillAnswer late = rig.join("after.bin", 0, 1);
    CHECK(late.kind == FillAnswer::Kind::cached);
    CHECK_FALSE(late.started);
    CHECK(late.info.key == first.info.key);
    CHECK(late.info.size == 2 * kChunk);
    CHECK(late.info.meta.etag == first.info.meta.etag);
    CHECK(rig.fills->active() == 0);    // no new fill
    CHECK(emu.gets("after.bin") == 2);  // no probe
    CHECK(emu.heads("after.bin") == 0);
    CHECK(rig.counters.downloads_started == 1);
    // A caller that knows another version (a HEAD said the object changed) fetches it.
    fetch::ObjectInfo other = first.info;
    other.meta.etag = "\"another\"";
    std::promise<FillAnswer> p;
    std::shared_ptr<FillHandle> h;
    rig.rings[0]->ring().post([&] {
        h = rig.fills->join(
            FillRequest{&rig.bucket, s3::ObjectId("after.bin"), 0, other, rig.rings[0]->slot()},
            [&p](FillAnswer a) { p.set_value(std::move(a)); });
    });
    auto f = p.get_future();
    REQUIRE(f.wait_for(20s) == std::future_status::ready);
    FillAnswer changed = f.get();
    CHECK(changed.started);
    CHECK(changed.kind != FillAnswer::Kind::cached);
}

TEST_CASE("an object larger than the cache is passed through, nothing reserved or written") {
    Emulator emu({"name=big.bin,size=3MiB,seed=24"}, {});
    Rig rig(emu, 1ULL << 30, 2, /*max_cache_size=*/2 * kChunk);
    FillAnswer a = rig.join("big.bin");
    CHECK(a.kind == FillAnswer::Kind::passthrough);
    REQUIRE(a.info_known);
    CHECK(a.info.size == 3 * kChunk);  // the relay can ask exactly the client's bytes, If-Match
    CHECK(a.info.meta.etag == emu.object("big.bin").etag(0));
    rig.settle();
    CHECK_FALSE(rig.name("big.bin").has_value());
    CHECK(rig.index.stats().reserved_bytes == 0);
    CHECK(rig.counters.downloads_started == 0);
    CHECK(emu.gets("big.bin") == 1);  // only the probe
}

TEST_CASE("no room even after eviction: the reservation is refused and the object passed") {
    Emulator emu({"name=room.bin,size=3MiB,seed=25"}, {});
    Rig rig(emu, /*cache_bytes=*/kChunk);  // the limit the index enforces
    FillAnswer a = rig.join("room.bin");
    CHECK(a.kind == FillAnswer::Kind::passthrough);
    rig.settle();
    CHECK(rig.index.stats().reservations_refused == 1);
    CHECK(rig.index.stats().reserved_bytes == 0);
    CHECK(rig.counters.downloads_started == 0);
    CHECK_FALSE(rig.name("room.bin").has_value());
}

TEST_CASE("the same bytes cached under another name: served from the cache, name bound") {
    // A version of the object is another name (another name key) with the same bytes: the
    // emulator ignores versionId, so both answers carry the same x-amz-meta-sha224.
    Emulator emu({"name=one.bin,size=2MiB,seed=26,sha224=yes"}, {});
    Rig rig(emu);
    FillAnswer one = rig.join("one.bin");
    REQUIRE(one.kind == FillAnswer::Kind::download);
    CHECK(one.info.key.content_addressed);
    wait_complete(*one.download);
    rig.settle();
    CHECK(one.download->verified());
    uint64_t gets_before = emu.gets("one.bin");
    FillAnswer two = rig.join("one.bin", 0, 1, "v2");
    CHECK(two.kind == FillAnswer::Kind::cached);
    CHECK(two.info.key == one.info.key);
    rig.settle();
    auto named = rig.index.find_name({"bench", "one.bin", "v2"});
    REQUIRE(named.has_value());
    CHECK(named->key == one.info.key);
    CHECK(emu.gets("one.bin") == gets_before + 1);  // the probe only
    CHECK(rig.counters.downloads_started == 1);
}

TEST_CASE("bytes not matching x-amz-meta-sha224: the fill fails, nothing is published") {
    Emulator emu({"name=bad.bin,size=2MiB,seed=27,sha224=yes"}, {});
    std::string wrong = *emu.object("bad.bin").sha224(0);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    emu.object("bad.bin").set_sha224(0, wrong);
    Rig rig(emu);
    FillAnswer a = rig.join("bad.bin");
    REQUIRE(a.kind == FillAnswer::Kind::download);  // answered before the bytes are checked
    wait_complete(*a.download);
    CHECK(a.download->state() == Download::State::failed);
    CHECK(a.download->verify_failed());
    rig.settle();
    CHECK_FALSE(rig.name("bad.bin").has_value());
    CHECK(rig.counters.sha224_mismatches == 1);
    CHECK(rig.counters.downloads_failed == 1);
    CHECK(rig.counters.downloads_published == 0);
    CHECK(rig.index.stats().reserved_bytes == 0);
    // The next request starts afresh (and fails the same way).
    FillAnswer again = rig.join("bad.bin");
    CHECK(again.started);
    CHECK(again.download != a.download);
}

TEST_CASE("the object changes at S3 mid-download: a 412 refusal, nothing cached, then afresh") {
    Emulator emu({"name=moving.bin,size=4MiB,seed=28"},
                 {"etag-change:object=moving.bin,request=3"});
    Rig rig(emu);
    FillAnswer a = rig.join("moving.bin");
    REQUIRE(a.kind == FillAnswer::Kind::download);
    wait_complete(*a.download);
    CHECK(a.download->state() == Download::State::failed);
    CHECK(a.download->refusal_status() == 412);
    rig.settle();
    CHECK_FALSE(rig.name("moving.bin").has_value());
    // A joiner after the failure gets a new fill, which caches the new version.
    FillAnswer b = rig.join("moving.bin");
    REQUIRE(b.kind == FillAnswer::Kind::download);
    CHECK(b.started);
    CHECK(b.info.meta.etag == emu.object("moving.bin").etag(1));
    wait_complete(*b.download);
    REQUIRE(b.download->state() == Download::State::complete);
    rig.settle();
    check_bytes(emu, "moving.bin", read_cached(rig, b.info.key), 1);
}

TEST_CASE("a missing object: every joiner gets the 404 refusal, nothing is left behind") {
    Emulator emu({"name=there.bin,size=10,seed=29"}, {});
    Rig rig(emu);
    FillAnswer a = rig.join("nope.bin");
    CHECK(a.kind == FillAnswer::Kind::failed);
    CHECK(a.refusal_status == 404);
    CHECK(a.refusal_code == "NoSuchKey");
    CHECK_FALSE(a.fetched_any);
    rig.settle();
    CHECK(rig.index.stats().reserved_bytes == 0);
}

TEST_CASE("an empty object: the metadata comes from a HEAD, and it is cached") {
    Emulator emu({"name=empty.bin,size=0,seed=30"}, {});
    Rig rig(emu);
    FillAnswer a = rig.join("empty.bin");
    REQUIRE(a.kind == FillAnswer::Kind::download);
    CHECK(a.info.size == 0);
    CHECK(a.info.meta.etag == emu.object("empty.bin").etag(0));
    rig.settle();
    REQUIRE(rig.name("empty.bin").has_value());
    CHECK(emu.heads("empty.bin") == 1);
}

TEST_CASE("a handle let go before the answer: the fill runs on, nothing is called") {
    Emulator emu({"name=gone.bin,size=2MiB,seed=31"}, {});
    Rig rig(emu);
    std::atomic<int> called{0};
    std::promise<void> joined;
    rig.rings[0]->ring().post([&] {
        auto h = rig.fills->join(FillRequest{&rig.bucket, s3::ObjectId("gone.bin"), 0, std::nullopt,
                                             rig.rings[0]->slot()},
                                 [&](FillAnswer) { called.fetch_add(1); });
        h.reset();  // the requester went away at once
        joined.set_value();
    });
    joined.get_future().wait();
    rig.settle();
    CHECK(called.load() == 0);
    CHECK(rig.name("gone.bin").has_value());  // warmed anyway
}
