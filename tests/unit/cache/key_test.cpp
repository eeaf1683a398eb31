// Tests of cache key rules and the directory layout.
#include "xs3/cache/key.hpp"

#include <doctest/doctest.h>

using namespace xs3::cache;

namespace {
const std::string kSha =
    "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7";  // sha224("abc")
const std::string kNameHash = "7f7ca78050548bed98af16c242224be05c6989c9cb21f0de3faac478";
}  // namespace

TEST_CASE("a valid x-amz-meta-sha224 is the key, lowercased") {
    auto c = make_cache_key("my-bucket", "path/to/object.bin", kSha);
    CHECK(c.key.hex == kSha);
    CHECK(c.key.content_addressed);
    CHECK_FALSE(c.ignored_sha224.has_value());

    std::string upper = "23097D223405D8228642A477BDA255B32AADBCE4BDA0B3F7E36C9DA7";
    auto u = make_cache_key("other-bucket", "other", upper);
    CHECK(u.key.hex == kSha);
    CHECK(u.key.content_addressed);
    CHECK(u.key == c.key);  // same content, same file, whatever the name
}

TEST_CASE("without usable sha224 metadata the key hashes bucket and key") {
    auto none = make_cache_key("my-bucket", "path/to/object.bin", std::nullopt);
    CHECK(none.key.hex == kNameHash);  // sha224("xs3-name\0my-bucket\0path/to/object.bin")
    CHECK_FALSE(none.key.content_addressed);
    CHECK_FALSE(none.ignored_sha224.has_value());

    auto short_one = make_cache_key("my-bucket", "path/to/object.bin", kSha.substr(0, 55));
    CHECK(short_one.key.hex == kNameHash);
    CHECK_FALSE(short_one.key.content_addressed);
    CHECK(short_one.ignored_sha224.value() ==
          "x-amz-meta-sha224 has 55 characters, expected 56 hex digits");

    std::string not_hex = kSha;
    not_hex[10] = 'g';
    auto bad = make_cache_key("my-bucket", "path/to/object.bin", not_hex);
    CHECK(bad.key.hex == kNameHash);
    CHECK(bad.ignored_sha224.value() == "x-amz-meta-sha224 is not hexadecimal");

    auto empty = make_cache_key("my-bucket", "path/to/object.bin", std::string_view());
    CHECK(empty.key.hex == kNameHash);
    CHECK(empty.ignored_sha224.has_value());

    // The separator keeps ("a", "bc") and ("ab", "c") apart.
    CHECK(make_cache_key("a", "bc", std::nullopt).key.hex !=
          make_cache_key("ab", "c", std::nullopt).key.hex);
    CHECK(make_cache_key("my-bucket", "", std::nullopt).key.hex ==
          "7f8140527e53903b036db3fbe2460e2c0d77240840bf042825506d5a");
}

TEST_CASE("object paths: one hex digit per level, name keys get .n") {
    CacheKey content{kSha, true};
    CacheKey name{kNameHash, false};
    CHECK(object_path("/c", content, 1) == "/c/2/" + kSha);
    CHECK(object_path("/c", content, 4) == "/c/2/3/0/9/" + kSha);
    CHECK(object_path("/c/", content, 4) == "/c/2/3/0/9/" + kSha);
    CHECK(object_path("/c", content, 12) == "/c/2/3/0/9/7/d/2/2/3/4/0/5/" + kSha);
    CHECK(object_path("/c", name, 4) == "/c/7/f/7/c/" + kNameHash + ".n");
    CHECK(object_path("rel", name, 1) == "rel/7/" + kNameHash + ".n");
    CHECK(object_path("/", content, 1) == "/2/" + kSha);
    CHECK(cache_file_name(name) == kNameHash + ".n");
    CHECK(cache_file_name(content) == kSha);
    CHECK(temp_dir("/c//") == "/c/.tmp");
    // A name key whose hash equals a content key still gets its own file.
    CacheKey same_hex_name{kSha, false};
    CHECK(object_path("/c", same_hex_name, 4) != object_path("/c", content, 4));
}
