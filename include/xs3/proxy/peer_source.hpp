// The fleet's peer fill, asking side: an object's chunks from the peer that owns it (rendezvous
// over the live members), in front of S3. Each attempt is a ranged GET to the owner's proxy port
// with If-Match, `x-xs3-hop: <self>` (the owner serves it itself, never forwards it) and, with a
// fleet token, the signature (fleet/protocol.hpp). The owner answers from its cache, from its
// own fill of the object (joined: one S3 fetch for every peer and client) or starts that fill.
//
// Any failed attempt moves the chunk to S3 at once (fetch::ChunkFetcher); the failure is
// reported to the Membership (passive failure detection), so a suspected owner is not asked at
// all until a probe clears it (request() refuses to build the attempt: no network, no delay).
// Lives in proxy/ because it knows both the fleet and how this proxy addresses objects.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "xs3/fetch/chunk_source.hpp"
#include "xs3/fleet/membership.hpp"

namespace xs3::proxy {

struct PeerSourceOptions {
    // Per attempt: connecting to the owner, waiting for its answer's head, and no byte for this
    // long. The owner may be fetching the chunk from S3 itself, so the last two cover one S3
    // chunk fetch; past them, S3 directly is faster.
    std::chrono::milliseconds connect{1000};
    std::chrono::milliseconds first_byte{5000};
    std::chrono::milliseconds stall{5000};
};

// What peer fills did, for /metrics.
struct PeerFillCounters {
    std::atomic<uint64_t> attempts{0};       // chunk GETs sent to owners
    std::atomic<uint64_t> fallbacks{0};      // failed: the chunk went on to S3
    std::atomic<uint64_t> wrong_version{0};  // of those: 412, or another ETag than asked
    std::atomic<uint64_t> skipped{0};        // the owner was suspected: straight to S3
};

class PeerChunkSource final : public fetch::ChunkSource {
  public:
    // `target`: the object's request target on a member's proxy port (path and query, encoded).
    PeerChunkSource(fleet::Membership& membership, fleet::PeerAddress owner, std::string target,
                    const PeerSourceOptions& options, PeerFillCounters& counters);

    std::string_view name() const noexcept override { return "peer"; }
    Result<s3::HttpRequest> request(uint64_t first, uint64_t last,
                                    const std::string& if_match) const override;
    std::optional<fetch::SourceLimits> limits() const noexcept override { return limits_; }
    void attempt_done(const fetch::AttemptReport& report) const noexcept override;
    bool is_peer() const noexcept override { return true; }

    const fleet::PeerAddress& owner() const noexcept { return owner_; }
    const std::string& target() const noexcept { return target_; }

  private:
    fleet::Membership& membership_;
    const fleet::PeerAddress owner_;
    const std::string target_;
    fetch::SourceLimits limits_;
    PeerFillCounters& counters_;
};

// The request target under which every member serves `bucket`/`id`: path-style /<bucket>/<key>
// (a single-bucket proxy reads a path starting with its bucket's name path-style too), with
// versionId when set.
std::string peer_target(std::string_view bucket, const s3::ObjectId& id);

// The fills' chooser of sources (fetch::FillContext::sources_for): the owning peer, then S3, when
// another live member owns the object and the fill may ask peers; else S3 alone.
fetch::ChunkSourcesFor peer_sources_for(fleet::Membership& membership, PeerSourceOptions options,
                                        PeerFillCounters& counters);

}  // namespace xs3::proxy
