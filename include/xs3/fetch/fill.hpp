// Fill: the one owner of a cold object, from its first request to its publication in the cache.
//
// A request that misses calls Fills::join(). The first request for an object name starts its
// Fill; the others join it. The Fill probes the object (or takes the HEAD the caller made),
// decides what to do with it — already cached under its content key, passed through (the cache
// cannot be written, the object is larger than the cache, no room even after eviction), or
// cached — reserves the space, makes the temp file on the blocking pool, attaches it to its
// Download, has the bytes verified against their SHA-224, publishes the file into the store and
// the index, and leaves the registry. The metadata and the cache key are computed once, here.
//
// Each joiner is told once, on its own ring, with a FillAnswer: read the Download (the answer
// goes out as soon as size and metadata are known, before the temp file exists), serve it from
// the cache, pass it through, or the failure. Nothing polls: the Fill promises the callback.
// Lower layers are called down into (Download, Store, CacheIndex) and report back to the Fill;
// nothing here knows HTTP or the proxy.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "xs3/base/status.hpp"
#include "xs3/base/thread_pool.hpp"
#include "xs3/cache/index.hpp"
#include "xs3/cache/store.hpp"
#include "xs3/cache/writability.hpp"
#include "xs3/fetch/chunk_source.hpp"
#include "xs3/fetch/download.hpp"
#include "xs3/fetch/fetch_slots.hpp"
#include "xs3/fetch/object_info.hpp"
#include "xs3/s3/bucket_client.hpp"

namespace xs3::fetch {

// What the fills count, for /metrics (the proxy's Counters hold these).
struct FillCounters {
    std::atomic<uint64_t> downloads_started{0};    // a temp file was made and attached
    std::atomic<uint64_t> downloads_published{0};  // the file is in the cache
    std::atomic<uint64_t> downloads_failed{0};     // failed for good
    std::atomic<uint64_t> sha224_mismatches{0};    // discarded: bytes not matching the SHA-224
    std::atomic<uint64_t> chunk_retries{0};        // summed when each download ends
    std::atomic<uint64_t> origin_bytes{0};         // object bytes received from S3, likewise
    std::atomic<uint64_t> peer_bytes{0};           // object bytes received from peers, likewise
};

struct FillOptions {
    DownloadOptions download;
    uint64_t max_cache_size = UINT64_MAX;  // larger objects are passed through
    bool direct_io = false;
    bool preallocate = true;  // fallocate a download's blocks up front
    bool abandon_on_disconnect = false;
};

// Everything a Fill uses; all of it outlives the Fills.
struct FillContext {
    FillOptions options;
    cache::Store& store;
    cache::CacheIndex& index;
    cache::Writability& writability;
    // True once every cached object's name is in the index (the start-up scan finished). Until
    // then a name the index does not know may still be on disk under its content key.
    const std::atomic<bool>& names_complete;
    ThreadPool& blocking;  // temp files, disk lookups, publish
    ThreadPool& hashing;   // SHA-224 verification
    FetchSlots& slots;
    FillCounters& counters;
    // The chunk sources of an object, tried in order (see chunk_source.hpp); unset: S3 only.
    ChunkSourcesFor sources_for;
};

struct FillRequest {
    const s3::BucketClient* bucket = nullptr;  // outlives the fill
    s3::ObjectId id;                           // key and version; never a part (relayed)
    // The byte the caller wants first: a new fill's probe fetches the chunk holding it, a
    // joiner's chunk is fetched before the others.
    uint64_t first_byte = 0;
    // What a HEAD the caller made said (size, metadata, key): a new fill then needs no probe.
    std::optional<ObjectInfo> known;
    // The caller's ring and curl client: the answer runs there, and a new fill's bookkeeping.
    FetchSlot home;
    // False for a peer's request (fleet): a fill it starts takes its bytes from S3 only.
    bool peers_allowed = true;
};

struct FillAnswer {
    enum class Kind {
        download,     // read `download` (DownloadBody); size/meta/key are set
        cached,       // in the cache under `info.key`: the same bytes under another name, or
                      // this name, published by a fill that ended after the caller looked
                      // (then only info.key, info.size and info.meta.etag are set)
        passthrough,  // the cache will not take it: relay from the origin (info if known)
        failed,       // failure, refusal_*; info.size when size_known (the origin told it)
    };
    Kind kind = Kind::failed;
    std::shared_ptr<Download> download;
    bool started = false;  // this request started the fill (a miss); else it joined one
    // A joined download already held every byte when this answer was given (being verified or
    // published): the joiner is served from the complete file, like a hit.
    bool complete = false;
    bool info_known = false;  // size, meta and key below are the object's
    ObjectInfo info;
    Status failure;
    int refusal_status = 0;    // the origin refused: 404, 403, 416, 412, 503...; 0: not a refusal
    std::string refusal_code;  // S3's error code, when it gave one
    bool size_known = false;   // info.size is the object's (always with info_known)
    bool fetched_any = false;  // object bytes arrived before the failure
    // The object's size and metadata came from a peer (the fleet's owner of it), not from S3.
    bool from_peer = false;
};

// The joiner's side: the answer runs once on its ring, unless the handle is gone by then.
class FillHandle;
using FillCallback = std::function<void(FillAnswer)>;

class Fill;

// The registry of fills, one per object name across all workers, and the context they share.
class Fills {
  public:
    explicit Fills(FillContext context);
    ~Fills();
    Fills(const Fills&) = delete;
    Fills& operator=(const Fills&) = delete;

    // Joins the object's fill or starts one. Call on req.home's ring; `done` runs there once
    // (never inside this call), while the returned handle is held.
    std::shared_ptr<FillHandle> join(FillRequest req, FillCallback done);
    // Starts filling an object with nobody waiting (admin warm-up): joins on a slot's ring, round
    // robin. False when no worker runs.
    bool warm(const s3::BucketClient& bucket, s3::ObjectId id);

    // Fills in flight (tests, metrics, shutdown).
    size_t active() const;
    // Fails every fill in flight (shutdown); each then leaves the registry.
    void fail_all(const Status& why);
    // The downloads in flight, for the read-only /debug view.
    std::vector<std::shared_ptr<Download>> downloads() const;

    FillContext& context() noexcept { return context_; }

  private:
    friend class Fill;
    void remove(const std::string& name_key, const Fill* fill);
    // The cached answer for a name the index holds (published since the caller looked), if any.
    std::optional<FillAnswer> published(const FillRequest& req) const;

    FillContext context_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, std::shared_ptr<Fill>> fills_;
};

}  // namespace xs3::fetch
