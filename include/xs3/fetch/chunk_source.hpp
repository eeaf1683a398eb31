// Where a chunk's bytes come from. Every chunk GET of a fill (the probe included) goes through a
// ChunkSource: S3 today (S3ChunkSource, a signed ranged GET through the bucket client); the
// fleet adds the object's owning peer in front of it.
//
// The contract (what a source promises, what the chunk fetcher does with it):
//  - request(first, last, if_match) builds the HTTP request of one attempt at object bytes
//    [first, last] (inclusive), asked again for every attempt (a fresh signature, the latest
//    credentials). `if_match` is the object version's ETag, empty for the probe (which learns it).
//    It runs on the ring the chunk is fetched on and must not block.
//  - The answer must be what S3 answers that ranged GET: 206 with `Content-Range: bytes
//    first-last/size`, the object's ETag and metadata headers, exactly last - first + 1 body
//    bytes (or 200 with the whole object when it asked for all of it); 412 when the version is
//    not `if_match`; 416 with `Content-Range: bytes */size` past the end; S3's status and XML
//    error otherwise. The fetcher checks all of it and never writes a byte it did not ask for.
//  - A fill's sources are tried in order. A failed attempt (any status or transport error,
//    refusals included) from a source that is not the last moves the chunk to the next source
//    at once, without waiting and without drawing on the retry budget; the last source (S3)
//    gets the retry policy (--chunk-retries, backoff, budget), and its refusals are final.
//  - A source's error (the request cannot be built) counts as a failed attempt of that source.
//  - A source may set its own limits per attempt (limits()): a peer is given less time than S3.
//    The stall watchdog (no byte for `stall`) uses them too.
//  - Every attempt of a source is reported back to it once (attempt_done), so a peer source can
//    keep its owner's health (passive failure detection) and count what it delivered.
//  - After the probe, an answer must carry the ETag of the probe's answer (If-Match): one with
//    another ETag is a failed attempt (412 from the last source) and none of its bytes is
//    written. The probe itself has no If-Match: its source (the owning peer, else S3) says which
//    version the fill is of.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xs3/base/status.hpp"
#include "xs3/s3/bucket_client.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::fetch {

// Per-attempt limits of a source.
struct SourceLimits {
    std::chrono::milliseconds connect{0};
    std::chrono::milliseconds first_byte{0};  // until the response head; 0: none
    std::chrono::milliseconds stall{0};       // no byte for this long fails the attempt
    long low_speed_limit = 1;                 // bytes per second, averaged over `stall`
};

// How one attempt of a source went.
struct AttemptReport {
    bool ok = false;             // every byte asked for arrived and is written
    bool sent = true;            // false: request() refused to build it (nothing went out)
    Status error;                // when not ok
    int http_status = 0;         // the answer's status (0: none came)
    bool wrong_version = false;  // 412, or an answer with another ETag than If-Match named
    uint64_t bytes = 0;          // object bytes this attempt received in order
};

class ChunkSource {
  public:
    virtual ~ChunkSource() = default;
    // For log lines and counters: "s3", "peer 10.0.0.7:8080".
    virtual std::string_view name() const noexcept = 0;
    virtual Result<s3::HttpRequest> request(uint64_t first, uint64_t last,
                                            const std::string& if_match) const = 0;
    // Limits for this source's attempts; none: the download's own (S3's).
    virtual std::optional<SourceLimits> limits() const noexcept { return std::nullopt; }
    // Called once per attempt of this source that ran to its end (not for a download that was
    // abandoned meanwhile), on the ring the chunk is fetched on. Must not block.
    virtual void attempt_done(const AttemptReport& report) const noexcept { (void)report; }
    // A peer, not the object's origin: its bytes are counted apart from S3's.
    virtual bool is_peer() const noexcept { return false; }
};

// An object's sources in the order they are tried; the last one is S3.
using ChunkSources = std::vector<std::shared_ptr<const ChunkSource>>;

// Chooses a fill's sources when it starts. Unset: S3 only. `peers_allowed` is false for a fill
// started by a peer's request: the owner never forwards (the fleet's hop rule).
using ChunkSourcesFor = std::function<ChunkSources(const s3::BucketClient& bucket,
                                                   const s3::ObjectId& id, bool peers_allowed)>;

// The object's bytes from S3: a ranged GET with If-Match, signed by the bucket client.
class S3ChunkSource final : public ChunkSource {
  public:
    S3ChunkSource(const s3::BucketClient& bucket, s3::ObjectId id)
        : bucket_(bucket), id_(std::move(id)) {}
    std::string_view name() const noexcept override { return "s3"; }
    Result<s3::HttpRequest> request(uint64_t first, uint64_t last,
                                    const std::string& if_match) const override {
        return bucket_.get(id_, std::make_pair(first, last), if_match);
    }

  private:
    const s3::BucketClient& bucket_;  // outlives every fill
    const s3::ObjectId id_;
};

// The sources of a fill: `sources_for` when set (it must end with S3), else S3 alone.
ChunkSources chunk_sources(const ChunkSourcesFor& sources_for, const s3::BucketClient& bucket,
                           const s3::ObjectId& id, bool peers_allowed);

// A source made from a bare request factory (tests, and callers with one source).
class FactorySource final : public ChunkSource {
  public:
    using Factory =
        std::function<s3::HttpRequest(uint64_t first, uint64_t last, const std::string& if_match)>;
    explicit FactorySource(Factory f) : f_(std::move(f)) {}
    std::string_view name() const noexcept override { return "origin"; }
    Result<s3::HttpRequest> request(uint64_t first, uint64_t last,
                                    const std::string& if_match) const override {
        return f_(first, last, if_match);
    }

  private:
    Factory f_;
};

}  // namespace xs3::fetch
