// CurlClient: the HTTP transport of the s3 layer. libcurl's multi-socket API driven by one
// worker's ring: curl's sockets are watched with single-shot IORING_OP_POLL_ADD ops, curl's timer
// is a ring userspace timer, and finished transfers are reported through a TransferHandler.
//
// Everything here runs on the ring's thread. Handlers are called from curl's write callback
// (on_head, on_body) or right after curl returns (on_complete); they may call start(), pause(),
// resume() and cancel() on the client, but must not destroy the client from inside a callback.
// Destroy the client on the ring's thread; poll ops it leaves in flight free their state when the
// ring next dispatches their CQEs (or at thread exit if the ring goes away first).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "xs3/base/status.hpp"
#include "xs3/ring/ring.hpp"

namespace xs3::s3 {

// Calls curl_global_init once per process (std::call_once) and warns when libcurl has no
// asynchronous resolver (CURL_VERSION_ASYNCHDNS: without it name lookups block the ring). Call it
// before threads start; CurlClient::create() calls it too, for safety.
void curl_global_setup();

// What the linked libcurl can do, for start-up checks and the start-up log line.
struct CurlFeatures {
    std::string version;      // "7.88.1"
    std::string ssl_version;  // "OpenSSL/3.0.11", empty without TLS support
    bool async_dns = false;   // CURL_VERSION_ASYNCHDNS
    bool https = false;       // the "https" protocol is built in
};
CurlFeatures curl_features();

// The per-worker connection cap when `total` (0: none) is shared by `workers` workers: the
// smaller of `per_worker` (0: none) and total / workers rounded up; at least 1 when either is set.
// 0 means no cap.
long connections_per_worker(long per_worker, long total, unsigned workers) noexcept;

// Every timeout ends the transfer with on_complete(Code::timeout); the caller retries or answers
// 504.
struct HttpRequest {
    std::string method = "GET";  // GET or HEAD (HEAD sends no body request: CURLOPT_NOBODY)
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;  // already signed by the caller
    std::chrono::milliseconds connect_timeout{5000};
    // Abort when fewer than low_speed_limit bytes/s arrived, averaged over this long (curl counts
    // in whole seconds, so it is rounded up). 0 disables the check.
    std::chrono::milliseconds low_speed_timeout{30000};
    std::chrono::milliseconds total_timeout{0};  // whole transfer; 0 = none
    // From start() until the response head is complete (a ring timer; curl has no such
    // option). 0 = none.
    std::chrono::milliseconds first_byte_timeout{0};
    long low_speed_limit = 1;  // bytes per second; values below 1 count as 1
    // CA certificates for this transfer (a private store's CA); empty: Options::ca_bundle.
    std::string ca_bundle;
};

struct HttpResponseHead {
    long status = 0;
    // Names lowercased, values trimmed, in the order received.
    std::vector<std::pair<std::string, std::string>> headers;
    // The first header named `lower_name`, or nullptr.
    const std::string* get(std::string_view lower_name) const;
};

class TransferHandler {
  public:
    // The final response head (1xx skipped). Called once, before any body byte; for responses
    // without a body it comes right before on_complete. A transfer that fails after its head was
    // complete still gets on_head (then on_complete with the error); one that fails before it
    // gets only on_complete.
    virtual void on_head(const HttpResponseHead& head) noexcept = 0;
    // Body bytes. Return len to accept them all, or 0 to pause: the transfer stays paused until
    // CurlClient::resume(), and then the same bytes are handed over again. Any other value fails
    // the transfer with Code::internal.
    virtual size_t on_body(const char* data, size_t len) noexcept = 0;
    // Exactly once, last: ok, or Code::timeout for curl timeouts, Code::unavailable for
    // connect/DNS/reset/short-body errors (the message carries curl's error text). Never called
    // after cancel().
    virtual void on_complete(const Status& status) noexcept = 0;

  protected:
    ~TransferHandler() = default;
};

class CurlClient {
  public:
    struct Options {
        long max_connections_total = 64;  // CURLMOPT_MAX_TOTAL_CONNECTIONS and the cache size
        long max_host_connections = 0;    // 0 = no per-host limit
        bool verify_tls = true;
        std::string ca_bundle;          // empty = curl's default
        long buffer_size = 128 * 1024;  // CURLOPT_BUFFERSIZE: the largest on_body chunk
        // How long resolved names are reused (CURLOPT_DNS_CACHE_TIMEOUT; the cache is the multi
        // handle's, shared by its transfers). Lookups run on curl's resolver threads.
        std::chrono::seconds dns_cache_timeout{60};
    };
    using TransferId = uint64_t;

    static Result<std::unique_ptr<CurlClient>> create(ring::Ring& ring, const Options& options);
    // Cancels every transfer without callbacks. Poll ops still in flight free their own state
    // when their CQEs arrive, so the ring must keep turning afterwards (it normally does).
    ~CurlClient();
    CurlClient(const CurlClient&) = delete;
    CurlClient& operator=(const CurlClient&) = delete;

    // Starts a transfer. `handler` must stay alive until its on_complete or cancel(id). Errors
    // (even immediate ones) arrive through on_complete, never synchronously from start().
    TransferId start(HttpRequest request, TransferHandler* handler);
    // Stops delivering body bytes (takes effect at the next chunk) until resume().
    void pause(TransferId id);
    // Undoes pause() or an on_body that returned 0. From inside a curl callback it is deferred
    // to the next ring turn.
    void resume(TransferId id);
    // No further callbacks for this id. Unknown or finished ids are ignored.
    void cancel(TransferId id);
    // Transfers started and neither completed nor cancelled.
    size_t active() const noexcept { return transfers_.size(); }

    ring::Ring& ring() noexcept { return ring_; }

    // Sockets on this thread that curl (or a destroyed client) gave up but whose poll op still
    // awaits its CQE; they free themselves when it arrives. For tests and diagnostics.
    static size_t sockets_awaiting_cqe() noexcept;

  private:
    struct Transfer;
    struct SocketState;
    friend struct SocketState;

    CurlClient(ring::Ring& ring, const Options& options);
    Status init();

    static int socket_callback(void* easy, int fd, int what, void* userp, void* socketp) noexcept;
    static int timer_callback(void* multi, long timeout_ms, void* userp) noexcept;
    static size_t write_callback(char* data, size_t size, size_t n, void* userp) noexcept;
    static size_t header_callback(char* data, size_t size, size_t n, void* userp) noexcept;

    void watch_socket(int fd, int what, SocketState* state) noexcept;
    void update_poll(SocketState* state) noexcept;
    void arm_poll(SocketState* state) noexcept;
    void on_poll(SocketState* state, int res) noexcept;
    void release_socket(SocketState* state) noexcept;
    // The client is going: every socket is let go (freed once no CQE is pending).
    void forget_sockets() noexcept;
    void set_timer(long timeout_ms) noexcept;
    void on_timeout() noexcept;
    void socket_action(int fd, int events) noexcept;
    void unpause(TransferId id) noexcept;
    // Runs the work that must not happen on curl's callback stack: adding started transfers,
    // removing cancelled ones, and reporting finished ones.
    void after_curl() noexcept;
    void finish(std::unique_ptr<Transfer> t, int curl_code) noexcept;
    void fail_later(TransferId id, Status status);
    void on_first_byte_timeout(TransferId id) noexcept;
    void stop_first_byte_timer(Transfer& t) noexcept;
    void destroy_transfer(std::unique_ptr<Transfer> t) noexcept;

    ring::Ring& ring_;
    Options options_;
    void* multi_ = nullptr;  // CURLM*; kept opaque so this header does not pull in curl.h
    TransferId next_id_ = 1;
    std::unordered_map<TransferId, std::unique_ptr<Transfer>> transfers_;
    std::vector<TransferId> pending_add_;               // started inside a curl callback
    std::vector<std::unique_ptr<Transfer>> cancelled_;  // cancelled inside a curl callback
    std::vector<SocketState*> sockets_;                 // live sockets curl watches
    int curl_depth_ = 0;                                // > 0 while a curl call is on the stack
    bool in_after_curl_ = false;
    bool destroying_ = false;
    ring::Ring::TimerId timer_;
    bool timeout_deferred_ = false;
    // Deferred ring tasks check this before touching the client.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace xs3::s3
