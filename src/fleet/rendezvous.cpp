// Rendezvous hashing: the hash, the weight and the choice of owner.
#include "xs3/fleet/rendezvous.hpp"

namespace xs3::fleet {
namespace {

// MurmurHash3's 64-bit finaliser: a bijection with full avalanche.
constexpr uint64_t fmix64(uint64_t k) noexcept {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

}  // namespace

uint64_t hash64(std::string_view bytes) noexcept {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 0x100000001b3ULL;  // FNV-1a 64 prime
    }
    return fmix64(h);
}

uint64_t rendezvous_weight(uint64_t key_hash, uint64_t peer_hash) noexcept {
    // fmix64 is a bijection, so two peers' weights for one key differ unless their hashes are
    // equal; the odd constant keeps key_hash == peer_hash from mapping to fmix64(0) == 0.
    return fmix64(key_hash ^ (peer_hash * 0x9e3779b97f4a7c15ULL));
}

size_t rendezvous_owner(uint64_t key_hash, std::span<const RankedPeer> peers) noexcept {
    size_t best = peers.size();
    uint64_t best_weight = 0;
    for (size_t i = 0; i < peers.size(); ++i) {
        uint64_t w = rendezvous_weight(key_hash, peers[i].hash);
        if (best == peers.size() || w > best_weight ||
            (w == best_weight && peers[i].id < peers[best].id)) {
            best = i;
            best_weight = w;
        }
    }
    return best;
}

std::string object_ring_key(std::string_view bucket, std::string_view key,
                            std::string_view version_id) {
    std::string out;
    out.reserve(bucket.size() + key.size() + version_id.size() + 2);
    out.append(bucket).push_back('\0');
    out.append(key).push_back('\0');
    out.append(version_id);
    return out;
}

}  // namespace xs3::fleet
