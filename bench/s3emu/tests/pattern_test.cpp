#include "../pattern.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using xs3::s3emu::Pattern;

TEST_CASE("pattern bytes are fixed by name, seed and generation") {
    Pattern p("big.bin", 7);
    // Pinned values: changing the pattern would invalidate every saved result and the verify tool.
    CHECK(p.block(0) == Pattern("big.bin", 7).block(0));
    CHECK(p.block(0) != Pattern("big.bin", 8).block(0));
    CHECK(p.block(0) != Pattern("big.bim", 7).block(0));
    CHECK(p.block(0) != Pattern("big.bin", 7, 1).block(0));
    CHECK(p.byte_at(0) == static_cast<uint8_t>(p.block(0)));
    CHECK(p.byte_at(13) == static_cast<uint8_t>(p.block(1) >> 40));
}

TEST_CASE("fill of any range equals byte_at, at any alignment") {
    Pattern p("obj", 42);
    std::vector<char> buf(200);
    for (uint64_t off : {0ull, 1ull, 7ull, 8ull, 9ull, 1000003ull, (1ull << 33) + 5}) {
        for (size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 200u}) {
            p.fill(buf.data(), off, len);
            for (size_t i = 0; i < len; ++i)
                REQUIRE(static_cast<uint8_t>(buf[i]) == p.byte_at(off + i));
            CHECK(p.verify(buf.data(), off, len) == len);
        }
    }
}

TEST_CASE("verify reports the first mismatching byte") {
    Pattern p("obj", 1);
    std::vector<char> buf(4096);
    p.fill(buf.data(), 3, buf.size());
    CHECK(p.verify(buf.data(), 3, buf.size()) == buf.size());
    buf[1234] ^= 0x10;
    buf[2000] ^= 0x01;
    CHECK(p.verify(buf.data(), 3, buf.size()) == 1234);
    // The same bytes checked at the wrong offset fail at once.
    p.fill(buf.data(), 3, buf.size());
    CHECK(p.verify(buf.data(), 4, buf.size()) == 0);
    buf[2] ^= 1;  // inside the unaligned head
    CHECK(p.verify(buf.data(), 3, buf.size()) == 2);
}

TEST_CASE("a range filled on its own matches the same bytes of a whole fill") {
    Pattern p("x", 9);
    std::vector<char> whole(1 << 16), part(777);
    p.fill(whole.data(), 0, whole.size());
    p.fill(part.data(), 40001, part.size());
    CHECK(std::string(part.begin(), part.end()) ==
          std::string(whole.begin() + 40001, whole.begin() + 40001 + 777));
}

TEST_CASE("bytes shifted by a word or by a whole table period do not verify") {
    Pattern p("obj", 5), other("obj2", 5);
    std::vector<char> buf(70000);
    p.fill(buf.data(), 1 << 20, buf.size());
    CHECK(p.verify(buf.data(), 1 << 20, buf.size()) == buf.size());
    CHECK(p.verify(buf.data(), (1 << 20) + 8, buf.size()) < 8);
    CHECK(p.verify(buf.data(), (1 << 20) + 32768, buf.size()) < 8);
    CHECK(other.verify(buf.data(), 1 << 20, buf.size()) < 8);
    // A corruption deep in a segment is found at its exact byte.
    buf[65537] ^= 0x80;
    CHECK(p.verify(buf.data(), 1 << 20, buf.size()) == 65537);
}
