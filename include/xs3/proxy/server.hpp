// The proxy's process-wide state (SharedState) and its per-core Worker: one ring, one listener,
// one curl client, a buffer ring for recv, a pipe pool for splice, and the connections it owns.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "xs3/base/thread_pool.hpp"
#include "xs3/cache/index.hpp"
#include "xs3/cache/store.hpp"
#include "xs3/fetch/download.hpp"
#include "xs3/fleet/membership.hpp"
#include "xs3/http/date.hpp"
#include "xs3/http/h1_parser.hpp"
#include "xs3/http/h2_codec.hpp"
#include "xs3/net/cidr.hpp"
#include "xs3/net/connection.hpp"
#include "xs3/net/listener.hpp"
#include "xs3/net/socket_output.hpp"
#include "xs3/proxy/client_connection.hpp"
#include "xs3/proxy/open_files.hpp"
#include "xs3/ring/block_pool.hpp"
#include "xs3/ring/buffer_ring.hpp"
#include "xs3/ring/pipe_pool.hpp"
#include "xs3/ring/ring.hpp"
#include "xs3/s3/bucket_client.hpp"
#include "xs3/s3/curl_client.hpp"
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
    net::OutputOptions output;        // how file bytes reach sockets (copy or splice)
    unsigned copy_size = 256 * 1024;  // bytes per read + send in copy mode
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

// Counters shown by tests and /metrics.
struct Counters {
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
    // Downloads: started, published, failed for good, discarded for a sha224 mismatch; chunk
    // retries and object bytes received from the origin, summed when each download ends.
    std::atomic<uint64_t> downloads_started{0};
    std::atomic<uint64_t> downloads_published{0};
    std::atomic<uint64_t> downloads_failed{0};
    std::atomic<uint64_t> sha224_mismatches{0};
    std::atomic<uint64_t> chunk_retries{0};
    std::atomic<uint64_t> origin_bytes{0};
    // Fleet: peer fills this node served as the owner, and hop requests it refused.
    std::atomic<uint64_t> peer_requests{0};
    std::atomic<uint64_t> peer_requests_refused{0};
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
          open_files(options.open_files, options.open_file_max_bytes),
          retry_policy(options.retry),
          retry_budget(options.retry_budget) {
        options.download.budget = &retry_budget;
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
    fetch::DownloadManager downloads;
    // What is cached (sizes, LRU, reservations) and under which names; owned by the app's cache
    // lifecycle, which outlives this state.
    cache::CacheIndex& index;
    OpenFiles open_files;  // small cached files kept open for the next hit
    const s3::RetryPolicy retry_policy;
    s3::RetryBudget retry_budget;  // every retry to S3 in the process draws on it
    // True once every cached object's name is in the index (the start-up scan finished): then a
    // name the index does not know is not cached, and its first request goes straight to a
    // ranged GET. Until then unknown names start with a HEAD, so a cached copy under the
    // object's content key is found first.
    std::atomic<bool> names_complete{false};
    std::atomic<bool> cache_writable{true};
    // The fleet's membership (owners of keys, peer health), when --peers/--peers-dns is set.
    fleet::Membership* fleet = nullptr;
    std::atomic<uint64_t> connections{0};
    Counters counters;

    ~SharedState();
    // Wakes the cache probe (if any), then finishes and joins the blocking and hashing pools.
    void shutdown();

    // Called when a cache write failed in a way that says the cache is unusable (read-only,
    // missing, full): serve passthrough and probe again later.
    void cache_failed(const Status& why);

    // Every worker, set by main before any starts: an accepted socket goes to the least loaded
    // one (Worker::on_accept).
    std::vector<Worker*> workers;

    // The rings chunk fetches may run on: each worker adds its own once its ring and curl
    // client exist (with itself, for downloads started without a client), and takes it away
    // before they go.
    void add_fetch_slot(fetch::FetchSlot slot, Worker* worker);
    void remove_fetch_slot(ring::Ring* ring);
    std::vector<fetch::FetchSlot> fetch_slots() const;

    // Starts downloading each key into the cache without a client (admin warm-up); does not
    // wait. Keys already cached count as accepted; the rejected ones say why.
    struct WarmResult {
        uint64_t accepted = 0;
        std::vector<std::pair<std::string, std::string>> rejected;  // key, reason
    };
    WarmResult warm(const std::vector<std::string>& keys);

  private:
    mutable std::mutex slots_mu_;
    std::vector<fetch::FetchSlot> slots_;
    std::vector<Worker*> slot_workers_;
    size_t warm_rr_ = 0;
    std::mutex probe_mu_;
    std::condition_variable probe_cv_;
    bool stopping_ = false;
};

struct H2Upgrade;

class Worker {
  public:
    Worker(SharedState& shared, int id, int listen_fd);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Creates the ring and everything on it, then runs the loop; on the calling thread.
    Status run();
    // From any thread: stop accepting, let in-flight responses finish until `deadline` (then
    // close the rest); drained() turns true when no connection is left. The ring keeps running
    // (downloads may still use it) until stop().
    void drain(std::chrono::milliseconds deadline);
    bool drained() const noexcept { return drained_.load(std::memory_order_acquire); }
    // From any thread: ends run() (it tears the connections and the curl client down).
    void stop();

    int id() const noexcept { return id_; }
    SharedState& shared() noexcept { return shared_; }
    ring::Ring& ring() noexcept { return *ring_; }
    s3::CurlClient& curl() noexcept { return *curl_; }
    ring::PipePool& pipes() noexcept { return *pipes_; }
    ring::BlockPool& copy_blocks() noexcept { return *copy_blocks_; }
    ring::BufferRing* recv_buffers() noexcept { return recv_buffers_.get(); }
    http::DateCache& dates() noexcept { return dates_; }
    // A new x-amz-request-id: 16 uppercase hex digits, unique in the process (a random prefix
    // per start, the worker, a counter), so a client's error can be found in the log.
    std::string new_request_id();
    // What a client connection's input and output are made of on this worker.
    net::ConnectionIo connection_io() noexcept {
        return {*ring_, recv_buffers_.get(), *pipes_, *copy_blocks_, shared_.options.output};
    }

    // The connection with this id if it is still registered and of type T (H1Connection,
    // H2Connection), else nullptr.
    template <class T>
    T* find(uint64_t id) noexcept {
        auto it = connections_.find(id);
        return it == connections_.end() ? nullptr : dynamic_cast<T*>(it->second.get());
    }
    void forget(ClientConnection* c) noexcept;  // the connection is finished; freed at end of turn
    // The list of waiting connections (ClientConnection::set_waiting), oldest first.
    void link_waiting(ClientConnection* c) noexcept;
    void unlink_waiting(ClientConnection* c) noexcept;
    // Closes the connection that has waited longest, to make room for a new one; false when no
    // connection of this worker is waiting.
    bool reclaim_waiting() noexcept;
    size_t waiting_count() const noexcept { return waiting_count_; }
    // An HTTP/1.1 connection turned out to speak HTTP/2 (the preface, or Upgrade: h2c): `fd` and
    // the bytes read so far become an H2Connection, which first writes `first_output` (the 101).
    void hand_over_to_h2(int fd, std::string received, std::optional<H2Upgrade> upgrade,
                         std::string first_output);
    size_t connection_count() const noexcept { return connections_.size(); }
    // On this worker's ring only: calls `f` with every registered connection.
    template <class F>
    void for_each_connection(F&& f) const {
        for (const auto& [id, c] : connections_)
            f(*c);
    }
    // From any thread: runs `task` on this worker's ring; false when the ring is not running.
    bool post(std::function<void()> task);
    // Connections registered here or on their way (read by other workers to pick one).
    uint64_t load() const noexcept { return load_.load(std::memory_order_relaxed); }

  private:
    void on_accept(int fd);
    // The least loaded worker still accepting, if it has fewer connections than this one.
    Worker* lighter_worker() noexcept;
    // Makes an H1Connection of an accepted socket (counted in SharedState::connections).
    void adopt(int fd);
    void check_drained();
    void teardown();
    std::vector<ClientConnection*> snapshot_connections() const;

    SharedState& shared_;
    const int id_;
    int listen_fd_;
    std::unique_ptr<ring::Ring> ring_;
    std::atomic<ring::Ring*> ring_ptr_{nullptr};  // for drain() from other threads
    std::unique_ptr<ring::BufferRing> recv_buffers_;
    std::unique_ptr<ring::PipePool> pipes_;
    std::unique_ptr<ring::BlockPool> copy_blocks_;
    std::unique_ptr<s3::CurlClient> curl_;
    std::unique_ptr<net::Acceptor> acceptor_;
    http::DateCache dates_;
    uint64_t next_conn_id_ = 1;
    uint64_t next_request_ = 0;
    std::unordered_map<uint64_t, std::unique_ptr<ClientConnection>> connections_;
    ClientConnection* waiting_head_ = nullptr;  // waiting longest
    ClientConnection* waiting_tail_ = nullptr;
    size_t waiting_count_ = 0;
    bool draining_ = false;
    std::atomic<bool> drained_{false};
    std::atomic<bool> accepting_{false};  // running and not draining: may be given sockets
    std::atomic<uint64_t> load_{0};
};

}  // namespace xs3::proxy
