// Rendezvous (highest-random-weight) hashing: the owner of a key is the live peer whose
// weight(key, peer) is highest. When a peer comes or goes only the keys it owned (or now owns)
// move; every other key keeps its owner, because the other peers' weights for it did not change.
//
// The hash is part of the peer protocol: nodes of one fleet must agree on every weight, across
// builds, versions and CPUs. So it is written out here (FNV-1a 64 over the bytes, then the
// MurmurHash3 64-bit finaliser to spread FNV's weak low bits; the weight mixes key and peer hashes
// through the finaliser again) and pinned by test vectors; never std::hash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace xs3::fleet {

// FNV-1a 64 of `bytes`, finalised.
uint64_t hash64(std::string_view bytes) noexcept;

// The weight of a key for a peer, from their hash64 values.
uint64_t rendezvous_weight(uint64_t key_hash, uint64_t peer_hash) noexcept;

struct RankedPeer {
    uint64_t hash;        // hash64 of the peer's id
    std::string_view id;  // breaks ties (only equal hashes can tie)
};

// The index in `peers` of the key's owner: the highest weight, ties to the smaller id.
// peers.size() when `peers` is empty.
size_t rendezvous_owner(uint64_t key_hash, std::span<const RankedPeer> peers) noexcept;

// The key an object is placed by: bucket NUL key NUL versionId (empty for the current version).
// The object's name, not its cache key: the content key is known only after the first answer,
// and a node must pick the owner before it asks anyone.
std::string object_ring_key(std::string_view bucket, std::string_view key,
                            std::string_view version_id);

}  // namespace xs3::fleet
