// The proxy's options, its counters and the state every worker shares (SharedState): the buckets
// served, the cache (store, index, writability, kept-open files), the pools, the retry budget and
// the fills of cold objects in flight. The per-core Worker is in worker.hpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "xs3/base/thread_pool.hpp"
#include "xs3/cache/index.hpp"
#include "xs3/cache/store.hpp"
#include "xs3/cache/writability.hpp"
#include "xs3/fetch/fetch_slots.hpp"
#include "xs3/fetch/fill.hpp"
#include "xs3/fleet/membership.hpp"
#include "xs3/http/h1_parser.hpp"
#include "xs3/http/h2_codec.hpp"
#include "xs3/net/cidr.hpp"
#include "xs3/net/socket_output.hpp"
#include "xs3/proxy/open_files.hpp"
#include "xs3/proxy/peer_source.hpp"
#include "xs3/s3/bucket_client.hpp"
#include "xs3/s3/operation.hpp"
#include "xs3/s3/retry.hpp"
#include "xs3/s3/sigv4_verify.hpp"

namespace xs3::proxy {

struct ProxyOptions {
    http::H1Limits limits;
    // HTTP/2: streams, windows, header list and rapid-reset limits per connection.
    http::H2Options h2;
    std::chrono::milliseconds idle_timeout{60000};
    std::chrono::milliseconds header_timeout{10000};
    // An answer that makes no progress for this long (the client does not read) is given up:
    // the connection is closed, or the HTTP/2 stream reset. 0: never.
    std::chrono::milliseconds send_timeout{60000};
    uint64_t max_connections = 10000;
    net::OutputOptions output;           // how file bytes reach sockets (copy or splice)
    unsigned copy_size = 1024 * 1024;    // bytes per read + send in copy mode
    uint64_t copy_memory = 64ULL << 20;  // copy-mode buffers of all workers together
    unsigned pipe_size = 1024 * 1024;
    bool direct_io = false;
    bool abandon_on_disconnect = false;
    uint64_t max_cache_size = UINT64_MAX;  // larger objects are served passthrough
    bool preallocate = true;               // fallocate a download's blocks up front
    // Revalidation: within metadata_ttl of S3's last confirmation a cached copy is served with no
    // upstream call (0: ask S3 every time); immutable: never ask; when asking fails, a copy
    // confirmed within metadata_ttl + stale_if_error is served marked x-cache: STALE.
    std::chrono::milliseconds metadata_ttl{0};
    bool immutable = false;
    std::chrono::milliseconds stale_if_error{0};
    fetch::DownloadOptions download;
    // Retries of the proxy's own S3 requests (HEADs, passthrough GETs); chunk GETs use
    // download.retry. One budget for all of them.
    s3::RetryOptions retry;
    s3::RetryBudget::Options retry_budget;
    long max_upstream_connections = 64;  // per worker
    // Hits on objects up to open_file_max_bytes keep their file open for the next hit (an LRU of
    // open_files files; 0: none): no open, no header read, no trip to the blocking pool.
    size_t open_files = 1024;
    bool access_log = false;  // a line per request (proxy/access_log.hpp)
    // Host names under which <bucket>.<name> is a virtual-hosted request (s3/operation.hpp).
    std::vector<std::string> virtual_host_suffixes;
    // Most parts of a multipart/byteranges answer; a Range with more gets the whole object.
    size_t max_ranges = 64;
    uint64_t open_file_max_bytes = 256 * 1024;
    // [[clients]]: every request must carry a SigV4 signature of one of these keys (nullptr:
    // no client keys, requests are not checked). Immutable, shared by every worker.
    std::shared_ptr<const s3::SigV4Verifier> client_verifier;
    // --allow-clients: connections from other addresses are closed at accept (empty: any).
    net::CidrSet allow_clients;
};

// Counters shown by tests and /metrics; the fills' own (downloads started, published, failed...)
// come from fetch::FillCounters.
struct Counters : fetch::FillCounters {
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> hits{0};
    std::atomic<uint64_t> misses{0};
    std::atomic<uint64_t> passes{0};
    std::atomic<uint64_t> responses_cut{0};
    std::atomic<uint64_t> open_file_hits{0};  // hits served from OpenFiles, no lookup
    std::atomic<uint64_t> connections_refused{0};
    std::atomic<uint64_t> clients_refused{0};  // connections from outside --allow-clients
    std::atomic<uint64_t> auth_refused{0};     // requests refused by the [[clients]] check
    // Waiting connections closed to make room at --max-connections; request heads not complete
    // within --header-timeout; answers that made no progress for --send-timeout (connections
    // closed, HTTP/2 streams reset).
    std::atomic<uint64_t> connections_reclaimed{0};
    std::atomic<uint64_t> header_timeouts{0};
    std::atomic<uint64_t> send_timeouts{0};
    // Fleet: peer fills this node served as the owner, and hop requests it refused.
    std::atomic<uint64_t> peer_requests{0};
    std::atomic<uint64_t> peer_requests_refused{0};
    // Fleet: this node's peer fills (asking side).
    PeerFillCounters peer_fill;
};

class Worker;

// Process-wide state every worker shares; all of it is thread-safe.
struct SharedState {
    // `origins`: one per bucket served. With `bucket_paths` clients name the bucket in the path
    // (/<bucket>/<key>); without, the first origin is the one bucket, served at /<key>.
    SharedState(ProxyOptions o, std::vector<s3::BucketOptions> origins, bool bucket_paths,
                std::string cache_dir, unsigned hierarchy_level, unsigned blocking_threads,
                cache::CacheIndex& cache_index)
        : options(std::move(o)),
          bucket_paths(bucket_paths),
          store(std::move(cache_dir), hierarchy_level),
          blocking(blocking_threads),
          hashing(1, "xs3-hash"),
          index(cache_index),
          writability(store, blocking),
          open_files(options.open_files, options.open_file_max_bytes),
          retry_policy(options.retry),
          retry_budget(options.retry_budget),
          fills(fill_context()) {
        for (auto& o : origins)
            this->origins.push_back(std::make_unique<s3::BucketClient>(std::move(o)));
        if (!bucket_paths && !this->origins.empty())
            addressing.single_bucket = this->origins.front()->bucket();
        addressing.virtual_host_suffixes = options.virtual_host_suffixes;
        // A file the index lets go of (evicted, purged, replaced) is closed, so its blocks go.
        index.set_on_erase([this](const cache::CacheKey& k) { open_files.drop(k); });
    }
    SharedState(const SharedState&) = delete;
    SharedState& operator=(const SharedState&) = delete;

    ProxyOptions options;
    const bool bucket_paths;
    std::vector<std::unique_ptr<s3::BucketClient>> origins;
    // The origin of `bucket`, or nullptr when the proxy does not serve it.
    const s3::BucketClient* origin_for(std::string_view bucket) const noexcept;
    // The one bucket served at /<key> (without bucket_paths).
    const s3::BucketClient& default_origin() const noexcept { return *origins.front(); }
    // How requests name buckets (single-bucket /<key>, path-style, virtual-hosted).
    s3::AddressingRules addressing;
    cache::Store store;
    ThreadPool blocking;
    ThreadPool hashing;  // sha224 verification of downloads, apart from the blocking calls
    // What is cached (sizes, LRU, reservations) and under which names; owned by the app's cache
    // lifecycle, which outlives this state.
    cache::CacheIndex& index;
    // Off while the cache cannot be written (misses are passed through), probed until it can.
    cache::Writability writability;
    OpenFiles open_files;  // small cached files kept open for the next hit
    const s3::RetryPolicy retry_policy;
    s3::RetryBudget retry_budget;  // every retry to S3 in the process draws on it
    // True once every cached object's name is in the index (the start-up scan finished): then a
    // name the index does not know is not cached, and its first request goes straight to a
    // ranged GET. Until then unknown names start with a HEAD, so a cached copy under the
    // object's content key is found first.
    std::atomic<bool> names_complete{false};
    // The fleet's membership (owners of keys, peer health), when --peers/--peers-dns is set.
    fleet::Membership* fleet = nullptr;
    std::atomic<uint64_t> connections{0};
    Counters counters;
    // The rings chunk fetches may run on: each worker adds its own once its ring and curl
    // client exist, and takes it away before they go.
    fetch::FetchSlots slots;
    // Cold objects in flight, one Fill per object name (declared last: it uses the above).
    fetch::Fills fills;

    ~SharedState();
    // Stops the cache probe (if any), then finishes and joins the blocking and hashing pools.
    void shutdown();

    // Every worker, set by main before any starts: an accepted socket goes to the least loaded
    // one (Worker::on_accept).
    std::vector<Worker*> workers;

    // Starts downloading each key into the cache without a client (admin warm-up); does not
    // wait. Keys already cached count as accepted; the rejected ones say why.
    struct WarmResult {
        uint64_t accepted = 0;
        std::vector<std::pair<std::string, std::string>> rejected;  // key, reason
    };
    WarmResult warm(const std::vector<std::string>& keys);

  private:
    fetch::FillContext fill_context();
};

}  // namespace xs3::proxy
