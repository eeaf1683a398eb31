// Tests of purge_object and purge_prefix on real files.
#include "xs3/cache/purge.hpp"

#include <doctest/doctest.h>

#include <filesystem>

#include "cache_files.hpp"

using namespace xs3;
using namespace xs3::cache;
using namespace xs3::cache::testing;
namespace fs = std::filesystem;

namespace {

// Writes the file and tells the index, as a publish would.
CacheKey cached(const std::string& root, CacheIndex& index, const std::string& k,
                const CacheKey& key) {
    ObjectMeta meta = meta_of(k, 10);
    std::string path = write_cache_file(root, 2, key, meta);
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    index.publish(key, meta, file_facts(st), Reservation());
    return key;
}

}  // namespace

TEST_CASE("purge by key removes the file and every name bound to it") {
    TempDir dir("purge");
    Store store(dir.path, 2);
    CacheIndex index(1ULL << 40);
    CacheKey a = cached(dir.path, index, "a", name_key("a"));
    CacheKey b = cached(dir.path, index, "b", name_key("b"));
    CacheKey content{std::string(56, 'c'), true};
    cached(dir.path, index, "x", content);
    REQUIRE(index.bind_name(ObjectName{"bkt", "y", ""}, NameInfo{content, "\"e\"", 10, 0}));

    auto out = purge_object(index, store, ObjectName{"bkt", "a", ""});
    REQUIRE(out.ok());
    CHECK(out->objects == 1);
    CHECK(out->bytes == index.stats().used_bytes / 2);  // a and b were the same size
    CHECK(out->complete);
    CHECK_FALSE(fs::exists(store.path_of(a)));
    CHECK(fs::exists(store.path_of(b)));
    CHECK_FALSE(index.find(a).has_value());

    // The content copy goes for either of its names, and takes the other name along.
    out = purge_object(index, store, ObjectName{"bkt", "y", ""});
    REQUIRE(out.ok());
    CHECK(out->objects == 1);
    CHECK_FALSE(fs::exists(store.path_of(content)));
    CHECK_FALSE(index.find_name(ObjectName{"bkt", "x", ""}).has_value());

    // Unknown: nothing removed, not an error.
    out = purge_object(index, store, ObjectName{"bkt", "nope", ""});
    REQUIRE(out.ok());
    CHECK(out->objects == 0);
}

TEST_CASE("during the scan a purge by key also removes a name-keyed file not indexed yet") {
    TempDir dir("purgescan");
    Store store(dir.path, 2);
    CacheIndex index(1ULL << 40);
    CacheKey k = name_key("later");
    write_cache_file(dir.path, 2, k, meta_of("later", 10));
    index.begin_scan();
    auto out = purge_object(index, store, ObjectName{"bkt", "later", ""});
    REQUIRE(out.ok());
    CHECK(out->objects == 1);
    CHECK_FALSE(out->complete);
    CHECK_FALSE(fs::exists(store.path_of(k)));
    // If the scan had read it just before, it must not come back.
    std::vector<ScannedFile> batch(1);
    batch[0].key = k;
    batch[0].name = ObjectName{"bkt", "later", ""};
    index.add_scanned(batch);
    index.end_scan();
    CHECK_FALSE(index.find(k).has_value());
}

TEST_CASE("purge by prefix") {
    TempDir dir("purgeprefix");
    Store store(dir.path, 2);
    CacheIndex index(1ULL << 40);
    std::vector<CacheKey> in, out_keys;
    for (const char* k : {"img/1", "img/2", "img/sub/3"})
        in.push_back(cached(dir.path, index, k, name_key(k)));
    for (const char* k : {"imgx", "doc/1"})
        out_keys.push_back(cached(dir.path, index, k, name_key(k)));
    auto out = purge_prefix(index, store, "bkt", "img/");
    REQUIRE(out.ok());
    CHECK(out->objects == 3);
    for (const auto& k : in)
        CHECK_FALSE(fs::exists(store.path_of(k)));
    for (const auto& k : out_keys)
        CHECK(fs::exists(store.path_of(k)));
    CHECK(index.stats().objects == 2);
    CHECK(purge_prefix(index, store, "otherbucket", "")->objects == 0);
}
