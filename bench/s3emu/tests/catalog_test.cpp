#include "../catalog.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <vector>

using namespace xs3::s3emu;

TEST_CASE("object specs parse, with units, booleans and count expansion") {
    auto r = parse_object_spec("name=big.bin,size=1GiB,seed=7,sha224=yes");
    REQUIRE(r.ok());
    REQUIRE(r->size() == 1);
    CHECK((*r)[0].name == "big.bin");
    CHECK((*r)[0].size == (1ull << 30));
    CHECK((*r)[0].seed == 7);
    CHECK((*r)[0].sha224);
    CHECK((*r)[0].content_type == "application/octet-stream");

    auto many = parse_object_spec("name=small/{i}.bin,size=4KiB,seed=100,count=3");
    REQUIRE(many.ok());
    REQUIRE(many->size() == 3);
    CHECK((*many)[2].name == "small/2.bin");
    CHECK((*many)[2].seed == 102);
    auto app = parse_object_spec("name=s,size=1,count=2");
    REQUIRE(app.ok());
    CHECK((*app)[1].name == "s-1");

    CHECK_FALSE(parse_object_spec("size=1").ok());
    CHECK_FALSE(parse_object_spec("name=a").ok());
    CHECK_FALSE(parse_object_spec("name=a,size=1,colour=red").ok());
    CHECK_FALSE(parse_object_spec("name=a,size=1,sha224=maybe").ok());
}

TEST_CASE("etag is stable per generation and changes when overwritten") {
    Object o(ObjectSpec{"k", 100, 1, false, "text/plain"});
    std::string e0 = o.etag(0);
    CHECK(e0.size() == 34);
    CHECK(e0.front() == '"');
    CHECK(e0 == o.etag(0));
    CHECK(o.bump_generation() == 1);
    CHECK(o.etag(1) != e0);
    CHECK(o.last_modified(1) == o.last_modified(0) + 60);
}

TEST_CASE("sha224 is the digest of the pattern bytes") {
    Object o(ObjectSpec{"data.bin", 3 * 1024 * 1024 + 5, 3, true, ""});
    std::vector<char> all(o.size());
    o.pattern(0).fill(all.data(), 0, all.size());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(all.data(), all.size(), md, &len, EVP_sha224(), nullptr);
    REQUIRE(len == 28);
    char hex[57];
    for (unsigned i = 0; i < len; ++i)
        std::snprintf(hex + 2 * i, 3, "%02x", md[i]);
    CHECK(compute_sha224_hex(o, 0) == std::string(hex));
    // Known answer for an empty object (SHA-224 of "").
    Object empty(ObjectSpec{"e", 0, 0, true, ""});
    CHECK(compute_sha224_hex(empty, 0) ==
          "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f");
}

TEST_CASE("the hasher fills digests in the background, on request per generation") {
    Catalog c;
    REQUIRE(c.add(ObjectSpec{"a", 1000, 1, true, ""}).ok());
    REQUIRE(c.add(ObjectSpec{"b", 10, 2, false, ""}).ok());
    CHECK_FALSE(c.add(ObjectSpec{"a", 1, 1, false, ""}).ok());
    c.start_hasher();
    c.wait_hasher_idle();
    CHECK(c.sha224_pending() == 0);
    Object* a = c.find("a");
    REQUIRE(a != nullptr);
    CHECK(a->sha224(0) == compute_sha224_hex(*a, 0));
    CHECK_FALSE(c.find("b")->sha224(0).has_value());
    CHECK_FALSE(a->sha224(1).has_value());
    c.request_sha224(*a, 1);
    c.wait_hasher_idle();
    REQUIRE(a->sha224(1).has_value());
    CHECK(*a->sha224(1) != *a->sha224(0));
    CHECK(c.find("zzz") == nullptr);
}
