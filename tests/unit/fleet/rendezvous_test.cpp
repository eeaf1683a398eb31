// Tests of rendezvous hashing: pinned hash values (the protocol), balance, and that membership
// changes move exactly the keys of the peer that came or went.
#include "xs3/fleet/rendezvous.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace xs3::fleet;

namespace {

struct Fleet {
    std::vector<std::string> ids;
    std::string owner(const std::string& key) const {
        std::vector<RankedPeer> ranked;
        for (const auto& id : ids)
            ranked.push_back({hash64(id), id});
        size_t i = rendezvous_owner(hash64(key), ranked);
        return i < ids.size() ? ids[i] : std::string();
    }
};

std::vector<std::string> keys(size_t n) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i)
        out.push_back(object_ring_key("bucket", "data/shard-" + std::to_string(i) + ".tar", ""));
    return out;
}

}  // namespace

TEST_CASE("the hash is pinned: every node of a fleet must compute the same weights") {
    // Values computed independently (a Python transcription of the definition in the header).
    CHECK(hash64("") == 0xefd01f60ba992926ULL);
    CHECK(hash64("a") == 0x82a2a958a9bece5bULL);
    CHECK(hash64("10.0.0.1:8080") == 0xe8c721156ed52b14ULL);
    CHECK(hash64("[fd00::1]:8080") == 0x0659f9ae85fc7119ULL);
    std::string key = object_ring_key("bucket", "key", "");
    CHECK(key == std::string("bucket\0key\0", 11));
    CHECK(hash64(key) == 0xae79b100c5c8dcadULL);
    uint64_t k = hash64(key);
    CHECK(rendezvous_weight(k, hash64("10.0.0.1:8080")) == 0x7fd501bca2b25c9dULL);
    CHECK(rendezvous_weight(k, hash64("10.0.0.2:8080")) == 0x0aa6e2bcf5eeaff4ULL);
    CHECK(rendezvous_weight(k, hash64("10.0.0.3:8080")) == 0x8ecd74f32a7af8a0ULL);
    Fleet f{{"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"}};
    CHECK(f.owner(key) == "10.0.0.3:8080");
}

TEST_CASE("object ring keys keep bucket, key and version apart") {
    CHECK(object_ring_key("b", "k", "v1") == std::string("b\0k\0v1", 6));
    CHECK(object_ring_key("ab", "c", "") != object_ring_key("a", "bc", ""));
    CHECK(object_ring_key("b", "k", "v1") != object_ring_key("b", "k", "v2"));
}

TEST_CASE("the owner does not depend on the order peers are listed in") {
    Fleet a{{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"}};
    Fleet b{{"10.0.0.4:80", "10.0.0.2:80", "10.0.0.1:80", "10.0.0.3:80"}};
    for (const auto& k : keys(2000))
        CHECK(a.owner(k) == b.owner(k));
}

TEST_CASE("keys spread evenly") {
    Fleet f{{"10.1.0.1:8080", "10.1.0.2:8080", "10.1.0.3:8080", "10.1.0.4:8080", "10.1.0.5:8080"}};
    std::map<std::string, size_t> count;
    const size_t n = 50000;
    for (const auto& k : keys(n))
        ++count[f.owner(k)];
    REQUIRE(count.size() == 5);
    for (const auto& [id, c] : count) {
        CAPTURE(id);
        CHECK(c > n / 5 * 94 / 100);  // within 6% of a fifth (3 sigma is about 1.5%)
        CHECK(c < n / 5 * 106 / 100);
    }
}

TEST_CASE("a peer joining takes keys only for itself, about 1/(n+1) of them") {
    Fleet before{
        {"10.2.0.1:8080", "10.2.0.2:8080", "10.2.0.3:8080", "10.2.0.4:8080", "10.2.0.5:8080"}};
    Fleet after = before;
    after.ids.push_back("10.2.0.6:8080");
    const auto ks = keys(30000);
    size_t moved = 0;
    for (const auto& k : ks) {
        std::string o1 = before.owner(k), o2 = after.owner(k);
        if (o1 != o2) {
            ++moved;
            CHECK(o2 == "10.2.0.6:8080");  // a key moves only to the newcomer
        }
        if (o2 == "10.2.0.6:8080") CHECK(o1 != o2);  // everything it owns moved to it
    }
    CHECK(moved > ks.size() / 6 * 90 / 100);
    CHECK(moved < ks.size() / 6 * 110 / 100);
}

TEST_CASE("a peer leaving gives away exactly its keys; the others keep theirs") {
    Fleet before{{"10.3.0.1:8080", "10.3.0.2:8080", "10.3.0.3:8080", "10.3.0.4:8080"}};
    Fleet after{{"10.3.0.1:8080", "10.3.0.2:8080", "10.3.0.4:8080"}};
    size_t moved = 0, owned = 0;
    std::map<std::string, size_t> heirs;
    for (const auto& k : keys(30000)) {
        std::string o1 = before.owner(k), o2 = after.owner(k);
        if (o1 == "10.3.0.3:8080") {
            ++owned;
            CHECK(o2 != o1);
            ++heirs[o2];
        } else {
            CHECK(o1 == o2);
        }
        if (o1 != o2) ++moved;
    }
    CHECK(moved == owned);
    // Its keys spread over the survivors instead of landing on one neighbour.
    REQUIRE(heirs.size() == 3);
    for (const auto& [id, c] : heirs)
        CHECK(c > owned / 3 * 85 / 100);
}

TEST_CASE("random joins and leaves move only the keys of the peer that changed") {
    std::mt19937 rng(17);
    Fleet f;
    for (int i = 1; i <= 6; ++i)
        f.ids.push_back("10.4.0." + std::to_string(i) + ":8080");
    int next = 7;
    const auto ks = keys(3000);
    for (int round = 0; round < 40; ++round) {
        Fleet g = f;
        std::string changed;
        if (g.ids.size() > 2 && rng() % 2 == 0) {
            size_t i = rng() % g.ids.size();
            changed = g.ids[i];
            g.ids.erase(g.ids.begin() + static_cast<long>(i));
        } else {
            changed = "10.4.0." + std::to_string(next++) + ":8080";
            g.ids.insert(g.ids.begin() + static_cast<long>(rng() % (g.ids.size() + 1)), changed);
        }
        for (const auto& k : ks) {
            std::string a = f.owner(k), b = g.owner(k);
            if (a != b) CHECK((a == changed || b == changed));
        }
        f = g;
    }
}

TEST_CASE("ties go to the smaller id; no peers, no owner") {
    std::vector<RankedPeer> same{{42, "b"}, {42, "a"}, {42, "c"}};
    CHECK(rendezvous_owner(7, same) == 1);
    CHECK(rendezvous_owner(7, std::span<const RankedPeer>()) == 0);
    std::vector<RankedPeer> one{{5, "x"}};
    CHECK(rendezvous_owner(123, one) == 0);
}
