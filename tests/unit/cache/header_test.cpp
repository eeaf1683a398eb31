// Tests of the cache file header: exact bytes, round trips, and rejection of damaged input.
#include "xs3/cache/header.hpp"

#include <doctest/doctest.h>

#include <random>

using namespace xs3;
using namespace xs3::cache;

namespace {

ObjectMeta small_meta() {
    ObjectMeta m;
    m.size = 5;
    m.etag = "\"e\"";
    m.content_type = "text/plain";
    m.user_meta = {{"Sha224", "x"}};
    m.bucket = "b";
    m.key = "k";
    m.stored_at_unix = 1700000000;
    return m;
}

std::string u32le(uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i)
        s[i] = static_cast<char>(v >> (8 * i));
    return s;
}

}  // namespace

TEST_CASE("header bytes are exactly the documented layout") {
    std::string h = encode_header(small_meta());
    const std::string body =
        "size 1 5\netag 3 \"e\"\nlast-modified 0 \ncontent-type 10 text/plain\n"
        "cache-control 0 \ncontent-encoding 0 \nbucket 1 b\nkey 1 k\n"
        "stored-at 10 1700000000\nmeta 9 6:sha224x\n";
    REQUIRE(h.size() == 4096);
    CHECK(h.substr(0, 8) == "XS3CACHE");
    CHECK(h.substr(8, 4) == u32le(1));
    CHECK(h.substr(12, 4) == u32le(4096));
    CHECK(h.substr(16, 4) == u32le(static_cast<uint32_t>(body.size())));
    // First 8 bytes of sha224(bytes 0..19 + body), computed independently.
    CHECK(h.substr(20, 8) == std::string("\x3a\x5e\x05\x5f\xf5\x6c\x0b\x31", 8));
    CHECK(h.substr(28, 4) == std::string(4, '\0'));
    CHECK(h.substr(32, body.size()) == body);
    CHECK(h.substr(32 + body.size()) == std::string(4096 - 32 - body.size(), '\0'));

    auto d = decode_header(h);
    REQUIRE(d.ok());
    CHECK_FALSE(d->incomplete);
    CHECK(d->data_offset == 4096);
    ObjectMeta expect = small_meta();
    expect.user_meta = {{"sha224", "x"}};  // names are stored lowercased
    CHECK(d->meta == expect);
}

TEST_CASE("awkward values round-trip, and a large header spans several blocks") {
    ObjectMeta m;
    m.size = 123456789012345ULL;
    m.etag = std::string("\"with\nnewline\0and nul\"", 22);
    m.last_modified = "Wed, 21 Oct 2015 07:28:00 GMT";
    m.content_type = "text/plain; charset=utf-8";
    m.cache_control = "size 3 abc\n";  // looks like a record
    m.content_encoding = "";
    m.bucket = "bücket-ünïcode-😀";
    m.key = std::string("key with spaces\n\r\t\0\xff", 21);
    m.stored_at_unix = -42;
    for (int i = 0; i < 10; ++i)
        m.user_meta.emplace_back("name-" + std::to_string(i),
                                 std::string(1024, static_cast<char>('a' + i)));
    m.user_meta.emplace_back("", "empty name");
    m.user_meta.emplace_back("colon:in:name", "v");
    std::string h = encode_header(m);
    CHECK(h.size() == 3 * 4096);  // ~10.7 KiB of metadata
    auto d = decode_header(h);
    REQUIRE(d.ok());
    CHECK(d->data_offset == 3 * 4096);
    CHECK(d->meta == m);

    // Given only the first block, the decoder asks for the whole header.
    auto part = decode_header(std::string_view(h).substr(0, 4096));
    REQUIRE(part.ok());
    CHECK(part->incomplete);
    CHECK(part->data_offset == 3 * 4096);
    // A prefix shorter than the fixed fields still asks for at least one block.
    auto tiny = decode_header(std::string_view(h).substr(0, 5));
    REQUIRE(tiny.ok());
    CHECK(tiny->incomplete);
    CHECK(tiny->data_offset == 4096);
    CHECK(decode_header("").ok());
}

TEST_CASE("damaged headers are errors") {
    std::string h = encode_header(small_meta());
    CHECK(decode_header("XS3CACHX").status().message() ==
          "corrupt cache header: bad magic (not a cache file)");
    CHECK(decode_header(std::string(4096, '\0')).status().message() ==
          "corrupt cache header: bad magic (not a cache file)");

    std::string v2 = h;
    v2[8] = 2;
    CHECK(decode_header(v2).status().message() ==
          "corrupt cache header: unsupported format version 2");

    std::string bad_len = h;
    bad_len[12] = 1;  // 4097
    CHECK(decode_header(bad_len).status().message() ==
          "corrupt cache header: bad header length 4097");

    std::string huge_body = h;
    huge_body.replace(16, 4, u32le(5000));
    CHECK(decode_header(huge_body).status().message() ==
          "corrupt cache header: metadata length 5000 exceeds the header length 4096");

    std::string flipped = h;
    flipped[40] ^= 1;  // inside the metadata
    CHECK(decode_header(flipped).status().message() == "corrupt cache header: checksum mismatch");

    std::string bad_sum = h;
    bad_sum[25] ^= 0x80;
    CHECK(decode_header(bad_sum).status().message() == "corrupt cache header: checksum mismatch");

    std::string reserved = h;
    reserved[30] = 1;
    CHECK_FALSE(decode_header(reserved).ok());

    // Truncations: each prefix is either a request for more bytes or an error, never a header.
    for (size_t n = 0; n < 32 + 161; ++n) {
        auto d = decode_header(std::string_view(h).substr(0, n));
        CAPTURE(n);
        CHECK((d.ok() ? d->incomplete : true));
    }
    CHECK_FALSE(decode_header(std::string_view(h).substr(0, 32 + 161))->incomplete);
}

TEST_CASE("random bytes and random damage never crash the decoder") {
    std::mt19937_64 rng(12345);
    std::string h = encode_header(small_meta());
    const size_t used = 32 + 161;  // fixed fields + metadata; the rest is padding
    for (int i = 0; i < 3000; ++i) {
        CAPTURE(i);
        if (i % 3 == 0) {
            std::string s(rng() % 5000, '\0');
            for (auto& c : s)
                c = static_cast<char>(rng());
            if (i % 2 == 0 && s.size() >= 8) s.replace(0, 8, "XS3CACHE");
            auto d = decode_header(s);
            CHECK((d.ok() ? d->incomplete : d.status().code() == Code::invalid_argument));
            continue;
        }
        // Damage inside the meaningful bytes, then maybe truncate.
        std::string s = h;
        for (int k = 0, flips = 1 + static_cast<int>(rng() % 4); k < flips; ++k)
            s[rng() % used] ^= static_cast<char>(1 + rng() % 255);
        bool truncated = i % 2 == 0;
        if (truncated) s.resize(rng() % (h.size() + 1));
        auto d = decode_header(s);
        if (!truncated || s.size() >= used) {
            // Flips can cancel out (same byte twice); then the header must decode unchanged.
            if (s.compare(0, used, h, 0, used) == 0)
                CHECK(d.ok());
            else if (truncated && d.ok())
                // A damaged length can ask for more bytes than were given; the full read then
                // fails the checksum.
                CHECK(d->incomplete);
            else
                CHECK(d.status().code() == Code::invalid_argument);
        } else {
            CHECK((d.ok() ? d->incomplete : d.status().code() == Code::invalid_argument));
        }
    }
}

TEST_CASE("the newer fields round-trip and are only written when set") {
    ObjectMeta m = small_meta();
    m.content_disposition = "attachment; filename=\"a b.txt\"";
    m.content_language = "de-CH";
    m.expires = "Thu, 01 Dec 2094 16:00:00 GMT";
    m.version_id = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY";
    std::string h = encode_header(m);
    auto d = decode_header(h);
    REQUIRE(d.ok());
    CHECK(d->meta.content_disposition == m.content_disposition);
    CHECK(d->meta.content_language == "de-CH");
    CHECK(d->meta.expires == m.expires);
    CHECK(d->meta.version_id == m.version_id);
    CHECK(h.find("version-id 33 3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY\n") != std::string::npos);
    // Unset, they are absent from the bytes (the layout test above pins the exact bytes).
    CHECK(encode_header(small_meta()).find("expires") == std::string::npos);
}
