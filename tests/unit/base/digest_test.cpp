#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "xs3/base/digest.hpp"

using namespace xs3;

TEST_CASE("sha256 matches FIPS 180-2 vectors") {
    CHECK(hex_lower(sha256("")) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(hex_lower(sha256("abc")) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("sha224 matches FIPS 180-2 vectors") {
    CHECK(hex_lower(sha224("")) == "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f");
    CHECK(hex_lower(sha224("abc")) == "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
}

TEST_CASE("incremental hashers equal the one-shot digest whatever the split") {
    const std::string million(1000000, 'a');
    Sha256Hasher h256;
    Sha224Hasher h224;
    // Uneven pieces so block boundaries fall inside updates.
    size_t pos = 0, piece = 1;
    while (pos < million.size()) {
        size_t n = std::min(piece, million.size() - pos);
        h256.update(std::string_view(million).substr(pos, n));
        h224.update(std::string_view(million).substr(pos, n));
        pos += n;
        piece = piece * 3 + 1;
    }
    CHECK(hex_lower(h256.finish()) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    CHECK(hex_lower(h224.finish()) == "20794655980c91d8bbb4c1ea97618a4bf03f42581948b2ee4ee7ad67");

    // finish() resets: the hasher starts over.
    h256.update("a").update("b").update("c");
    CHECK(hex_lower(h256.finish()) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex_lower(h256.finish()) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("hashers can be moved") {
    Sha224Hasher a;
    a.update("ab");
    Sha224Hasher b(std::move(a));
    b.update(std::string_view("c"));
    CHECK(hex_lower(b.finish()) == "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
    Sha224Hasher c;
    c = std::move(b);
    CHECK(hex_lower(c.finish()) == "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f");
}

TEST_CASE("hmac_sha256 matches RFC 4231 and common vectors") {
    // RFC 4231 test case 2.
    CHECK(hex_lower(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(hex_lower(hmac_sha256("key", "The quick brown fox jumps over the lazy dog")) ==
          "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    // RFC 4231 test case 1: a binary key passed as bytes.
    std::array<uint8_t, 20> key;
    key.fill(0x0b);
    CHECK(hex_lower(hmac_sha256(std::span<const uint8_t>(key), "Hi There")) ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    // An empty key is legal HMAC.
    CHECK(hex_lower(hmac_sha256("", "")) ==
          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    // RFC 4231 test cases 6 and 7: a key longer than the block is hashed first.
    const std::string long_key(131, '\xaa');
    CHECK(hex_lower(
              hmac_sha256(long_key, "Test Using Larger Than Block-Size Key - Hash Key First")) ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    CHECK(hex_lower(hmac_sha256(
              long_key,
              "This is a test using a larger than block-size key and a larger than block-size "
              "data. The key needs to be hashed before being used by the HMAC algorithm.")) ==
          "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST_CASE("hmac_sha256 agrees with OpenSSL's HMAC() for every key length around the block") {
    // Ours is RFC 2104 over a fetched SHA-256; OpenSSL's one-shot HMAC() is the reference. Key
    // lengths 0..130 cross the 64-byte block (padded, exact, hashed); data lengths too.
    std::string key, data;
    for (size_t klen = 0; klen <= 130; ++klen) {
        key.assign(klen, '\0');
        for (size_t i = 0; i < klen; ++i)
            key[i] = static_cast<char>(i * 7 + klen);
        for (size_t dlen :
             {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{200}}) {
            data.assign(dlen, '\0');
            for (size_t i = 0; i < dlen; ++i)
                data[i] = static_cast<char>(i * 13 + dlen);
            unsigned char want[32];
            unsigned int len = 0;
            static const unsigned char empty = 0;
            const void* kp = klen ? static_cast<const void*>(key.data()) : &empty;
            REQUIRE(HMAC(EVP_sha256(), kp, static_cast<int>(klen),
                         reinterpret_cast<const unsigned char*>(data.data()), data.size(), want,
                         &len) != nullptr);
            REQUIRE(len == 32);
            const Sha256Digest got = hmac_sha256(key, data);
            INFO("key length " << klen << ", data length " << dlen);
            CHECK(std::memcmp(got.data(), want, 32) == 0);
        }
    }
}

TEST_CASE("hex_lower encodes every byte value") {
    CHECK(hex_lower(std::string_view("")) == "");
    CHECK(hex_lower(std::string_view("\x00\x0f\xf0\xff", 4)) == "000ff0ff");
    const std::array<uint8_t, 3> bytes{0xde, 0xad, 0x01};
    CHECK(hex_lower(bytes) == "dead01");
}
