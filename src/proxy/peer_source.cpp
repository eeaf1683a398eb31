// PeerChunkSource: ranged GETs to an object's owning peer, and the fills' chooser of sources.
#include "xs3/proxy/peer_source.hpp"

#include <ctime>

#include "xs3/base/log.hpp"
#include "xs3/fleet/protocol.hpp"
#include "xs3/fleet/rendezvous.hpp"
#include "xs3/s3/sigv4.hpp"

namespace xs3::proxy {

PeerChunkSource::PeerChunkSource(fleet::Membership& membership, fleet::PeerAddress owner,
                                 std::string target, const PeerSourceOptions& options,
                                 PeerFillCounters& counters)
    : membership_(membership),
      owner_(std::move(owner)),
      target_(std::move(target)),
      counters_(counters) {
    limits_.connect = options.connect;
    limits_.first_byte = options.first_byte;
    limits_.stall = options.stall;
    limits_.low_speed_limit = 1;
}

Result<s3::HttpRequest> PeerChunkSource::request(uint64_t first, uint64_t last,
                                                 const std::string& if_match) const {
    // A suspected owner is not asked: S3 at once, without a connection attempt that would fail.
    if (!membership_.usable(owner_.id)) {
        counters_.skipped.fetch_add(1, std::memory_order_relaxed);
        return Status(Code::unavailable, "peer " + owner_.id + " is suspected");
    }
    s3::HttpRequest r;
    r.method = "GET";
    r.url = "http://" + owner_.id + target_;
    r.headers.emplace_back("Range", "bytes=" + std::to_string(first) + "-" + std::to_string(last));
    if (!if_match.empty()) r.headers.emplace_back("If-Match", if_match);
    const std::string& self = membership_.self().id;
    r.headers.emplace_back(std::string(fleet::kHopHeader), self);
    if (!membership_.token().empty())
        r.headers.emplace_back(std::string(fleet::kAuthHeader),
                               fleet::sign_peer_request(membership_.token(), self, "GET", target_,
                                                        static_cast<int64_t>(std::time(nullptr))));
    counters_.attempts.fetch_add(1, std::memory_order_relaxed);
    return r;
}

void PeerChunkSource::attempt_done(const fetch::AttemptReport& report) const noexcept {
    if (!report.sent) return;  // counted as skipped
    if (report.ok) {
        membership_.request_succeeded(owner_.id);
        return;
    }
    counters_.fallbacks.fetch_add(1, std::memory_order_relaxed);
    // The owner is well but holds (or S3 now has) another version, or S3 itself refuses the
    // object: the chunk goes to S3, and the peer is not suspected for it.
    bool peer_is_fine = report.wrong_version || report.http_status == 404;
    if (report.wrong_version) counters_.wrong_version.fetch_add(1, std::memory_order_relaxed);
    XS3_LOG_INFO("peer fill attempt failed; the chunk comes from S3", kv("peer", owner_.id),
                 kv("target", target_), kv("status", report.http_status),
                 kv("error", report.error.to_string()));
    if (!peer_is_fine) membership_.request_failed(owner_.id, report.error.to_string());
}

std::string peer_target(std::string_view bucket, const s3::ObjectId& id) {
    std::string t = "/";
    t.append(bucket).append("/").append(s3::sigv4_uri_encode(id.key, true));
    if (!id.version_id.empty()) t.append("?versionId=").append(s3::sigv4_uri_encode(id.version_id));
    return t;
}

fetch::ChunkSourcesFor peer_sources_for(fleet::Membership& membership, PeerSourceOptions options,
                                        PeerFillCounters& counters) {
    return [&membership, options, &counters](const s3::BucketClient& bucket, const s3::ObjectId& id,
                                             bool peers_allowed) -> fetch::ChunkSources {
        fetch::ChunkSources sources;
        if (!peers_allowed) return sources;
        auto owner =
            membership.owner(fleet::object_ring_key(bucket.bucket(), id.key, id.version_id));
        if (owner.self) return sources;
        sources.push_back(std::make_shared<PeerChunkSource>(membership, std::move(owner.peer),
                                                            peer_target(bucket.bucket(), id),
                                                            options, counters));
        sources.push_back(std::make_shared<fetch::S3ChunkSource>(bucket, id));
        return sources;
    };
}

}  // namespace xs3::proxy
