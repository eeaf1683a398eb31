// CurlClient: transfers on curl's multi handle — starting them, pause/resume/cancel, the write
// and header callbacks, the first-byte timer, and completion reporting outside curl's callback
// stack. The sockets and curl's timer on the ring are in curl_sockets.cpp.
#include "xs3/s3/curl_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

#include "xs3/base/ascii.hpp"
#include "xs3/base/histogram.hpp"
#include "xs3/base/log.hpp"
#include "xs3/s3/strings.hpp"

namespace xs3::s3 {

namespace {
// CURLOPT_BUFFERSIZE of HEAD transfers (curl's own default).
constexpr long kHeadBufferSize = 16 * 1024;

// The URL without its query string: presigned URLs must not end up in logs.
std::string_view url_for_message(std::string_view url) {
    size_t q = url.find('?');
    return q == std::string_view::npos ? url : url.substr(0, q);
}

Code code_for(CURLcode rc) {
    switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
            return Code::timeout;
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_HTTP2:
        case CURLE_PARTIAL_FILE:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_HTTP2_STREAM:
        case CURLE_HTTP3:
        case CURLE_QUIC_CONNECT_ERROR:
        case CURLE_PROXY:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_AGAIN:
            return Code::unavailable;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_BAD_FUNCTION_ARGUMENT:
            return Code::invalid_argument;
        default:
            return Code::internal;
    }
}

}  // namespace

void curl_global_setup() {
    static std::once_flag once;
    std::call_once(once, [] {
        CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (rc != CURLE_OK)
            XS3_LOG_ERROR("curl_global_init failed", kv("error", curl_easy_strerror(rc)));
        const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
        if (info != nullptr && !(info->features & CURL_VERSION_ASYNCHDNS))
            XS3_LOG_WARN("libcurl lacks an asynchronous resolver: name lookups block the ring",
                         kv("version", info->version));
    });
}

CurlFeatures curl_features() {
    CurlFeatures f;
    const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
    if (info == nullptr) return f;
    if (info->version != nullptr) f.version = info->version;
    if (info->ssl_version != nullptr) f.ssl_version = info->ssl_version;
    f.async_dns = (info->features & CURL_VERSION_ASYNCHDNS) != 0;
    for (const char* const* p = info->protocols; p != nullptr && *p != nullptr; ++p)
        if (std::strcmp(*p, "https") == 0) f.https = true;
    return f;
}

long connections_per_worker(long per_worker, long total, unsigned workers) noexcept {
    if (total <= 0) return per_worker > 0 ? per_worker : 0;
    const long n = workers > 0 ? static_cast<long>(workers) : 1;
    const long share = std::max(1L, (total + n - 1) / n);
    return per_worker > 0 ? std::min(per_worker, share) : share;
}

const std::string* HttpResponseHead::get(std::string_view lower_name) const {
    for (const auto& [name, value] : headers)
        if (name == lower_name) return &value;
    return nullptr;
}

namespace {

// S3's time to first byte: from start() to the complete response head, by how it went: ok
// (a 1xx-3xx head), error (S3 answered 4xx/5xx), failed (no head: timeout, reset, refused; the
// time until the failure).
struct FirstByteHistograms {
    HistogramFamily family{"xs3_s3_first_byte_seconds",
                           "Time from sending a request to S3 until its response head",
                           {"outcome"},
                           latency_bounds_us()};
    Histogram& ok = family.series({"ok"});
    Histogram& error = family.series({"error"});
    Histogram& failed = family.series({"failed"});
};
FirstByteHistograms& first_byte_histograms() {
    static auto* h = new FirstByteHistograms();
    return *h;
}
[[maybe_unused]] const bool g_registered = (first_byte_histograms(), true);

}  // namespace

struct CurlClient::Transfer {
    TransferId id = 0;
    CurlClient* client = nullptr;
    CURL* easy = nullptr;
    curl_slist* header_list = nullptr;
    TransferHandler* handler = nullptr;
    std::string method;
    std::string url;
    HttpResponseHead head;
    bool head_final = false;  // the blank line after a non-1xx status line was seen
    bool head_delivered = false;
    bool pause_wanted = false;  // pause() was called, or on_body returned 0
    bool curl_paused = false;   // the write callback returned CURL_WRITEFUNC_PAUSE
    bool cancelled = false;
    bool in_multi = false;  // curl_multi_add_handle succeeded
    uint64_t resumes = 0;   // resume() calls, to notice one made inside on_body
    ring::Ring::TimerId first_byte_timer;
    std::chrono::milliseconds first_byte_timeout{0};
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    bool first_byte_observed = false;
    Status handler_error;  // a handler broke the on_body contract
    char error_buffer[CURL_ERROR_SIZE] = {};

    ~Transfer() {
        if (easy != nullptr) curl_easy_cleanup(easy);
        if (header_list != nullptr) curl_slist_free_all(header_list);
    }

    // Once per transfer: the head arrived (status known) or the transfer failed without one.
    void observe_first_byte(bool failed) noexcept {
        if (first_byte_observed) return;
        first_byte_observed = true;
        auto& h = first_byte_histograms();
        (failed               ? h.failed
         : head.status >= 400 ? h.error
                              : h.ok)
            .observe(std::chrono::steady_clock::now() - started);
    }

    void deliver_head() noexcept {
        if (head_delivered || handler == nullptr) return;
        head_delivered = true;
        handler->on_head(head);
    }
};

CurlClient::CurlClient(ring::Ring& ring, const Options& options) : ring_(ring), options_(options) {}

Result<std::unique_ptr<CurlClient>> CurlClient::create(ring::Ring& ring, const Options& options) {
    curl_global_setup();
    std::unique_ptr<CurlClient> client(new CurlClient(ring, options));
    Status s = client->init();
    if (!s.ok()) return s;
    return client;
}

Status CurlClient::init() {
    CURLM* multi = curl_multi_init();
    if (multi == nullptr) return Status(Code::internal, "curl_multi_init failed");
    multi_ = multi;
    using SocketFn = int (*)(CURL*, curl_socket_t, int, void*, void*);
    using TimerFn = int (*)(CURLM*, long, void*);
    SocketFn socket_fn = &CurlClient::socket_callback;
    TimerFn timer_fn = &CurlClient::timer_callback;
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_fn);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_fn);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    // The multi handle's connection cache is what keeps connections to S3 alive between
    // transfers; let it hold as many idle connections as we allow open ones.
    if (options_.max_connections_total > 0) {
        curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, options_.max_connections_total);
        curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, options_.max_connections_total);
    }
    if (options_.max_host_connections > 0)
        curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, options_.max_host_connections);
    return {};
}

CurlClient::~CurlClient() {
    destroying_ = true;
    *alive_ = false;
    ring_.cancel_timer(timer_);
    CURLM* multi = static_cast<CURLM*>(multi_);
    for (auto& [id, t] : transfers_)
        stop_first_byte_timer(*t);
    ++curl_depth_;
    for (auto& [id, t] : transfers_)
        if (t->in_multi) curl_multi_remove_handle(multi, t->easy);
    for (auto& t : cancelled_)
        if (t->in_multi) curl_multi_remove_handle(multi, t->easy);
    transfers_.clear();
    cancelled_.clear();
    // Closes cached connections; curl reports each socket as CURL_POLL_REMOVE on the way.
    if (multi != nullptr) curl_multi_cleanup(multi);
    --curl_depth_;
    forget_sockets();
}

CurlClient::TransferId CurlClient::start(HttpRequest request, TransferHandler* handler) {
    TransferId id = next_id_++;
    auto t = std::make_unique<Transfer>();
    t->id = id;
    t->client = this;
    t->handler = handler;
    t->method = std::move(request.method);
    t->url = std::move(request.url);
    Transfer* tp = t.get();
    transfers_.emplace(id, std::move(t));

    CURL* easy = curl_easy_init();
    if (easy == nullptr) {
        fail_later(id, Status(Code::internal, "curl_easy_init failed"));
        return id;
    }
    tp->easy = easy;
    curl_easy_setopt(easy, CURLOPT_URL, tp->url.c_str());
    // S3 signs the path exactly as sent: keys holding "//", "./" or "../" must not be rewritten.
    curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, reinterpret_cast<void*>(static_cast<uintptr_t>(id)));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, tp->error_buffer);
    if (tp->method == "GET") {
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (tp->method == "HEAD") {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, tp->method.c_str());
    }
    for (const auto& [name, value] : request.headers) {
        // "Name;" is curl's spelling of a header with an empty value ("Name:" would remove it).
        std::string line = name;
        line += value.empty() ? ";" : ": ";
        line += value;
        curl_slist* next = curl_slist_append(tp->header_list, line.c_str());
        if (next == nullptr) {
            fail_later(id, Status(Code::internal, "curl_slist_append failed"));
            return id;
        }
        tp->header_list = next;
    }
    if (tp->header_list != nullptr) curl_easy_setopt(easy, CURLOPT_HTTPHEADER, tp->header_list);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(request.connect_timeout.count()));
    if (request.low_speed_timeout.count() > 0) {
        long secs = static_cast<long>((request.low_speed_timeout.count() + 999) / 1000);
        curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, std::max(1L, request.low_speed_limit));
        curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, secs);
    }
    if (request.total_timeout.count() > 0)
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                         static_cast<long>(request.total_timeout.count()));
    using DataFn = size_t (*)(char*, size_t, size_t, void*);
    DataFn write_fn = &CurlClient::write_callback;
    DataFn header_fn = &CurlClient::header_callback;
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_fn);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, tp);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_fn);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, tp);
    curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    // curl allocates the whole buffer for every transfer, queued ones included; a HEAD reads only
    // a head, so it does with curl's default (a burst of hits revalidating with HEADs held 128
    // KiB each: 5000 of them were most of a 500 MiB peak).
    long buffer = tp->method == "HEAD" ? std::min(options_.buffer_size, kHeadBufferSize)
                                       : options_.buffer_size;
    if (buffer > 0) curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, buffer);
    if (!options_.verify_tls) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    // curl copies string options, so the request's string may go away after this.
    const std::string& ca_bundle =
        request.ca_bundle.empty() ? options_.ca_bundle : request.ca_bundle;
    if (!ca_bundle.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, ca_bundle.c_str());
    curl_easy_setopt(easy, CURLOPT_DNS_CACHE_TIMEOUT,
                     static_cast<long>(options_.dns_cache_timeout.count()));
    if (request.first_byte_timeout.count() > 0) {
        tp->first_byte_timeout = request.first_byte_timeout;
        tp->first_byte_timer =
            ring_.add_timer(request.first_byte_timeout, [this, id] { on_first_byte_timeout(id); });
    }

    if (curl_depth_ > 0) {
        pending_add_.push_back(id);  // after_curl() adds it once curl has returned
        return id;
    }
    ++curl_depth_;
    CURLMcode mc = curl_multi_add_handle(static_cast<CURLM*>(multi_), easy);
    --curl_depth_;
    if (mc != CURLM_OK) {
        fail_later(id, Status(Code::internal,
                              std::string("curl_multi_add_handle: ") + curl_multi_strerror(mc)));
        return id;
    }
    tp->in_multi = true;
    after_curl();
    return id;
}

void CurlClient::fail_later(TransferId id, Status status) {
    // The transfer is in transfers_ but not in the multi handle; report on the next turn so
    // start() never calls back synchronously.
    auto alive = alive_;
    ring_.defer([this, alive, id, status = std::move(status)] {
        if (!*alive) return;
        auto it = transfers_.find(id);
        if (it == transfers_.end()) return;
        std::unique_ptr<Transfer> t = std::move(it->second);
        transfers_.erase(it);
        TransferHandler* handler = t->handler;
        destroy_transfer(std::move(t));
        if (handler != nullptr) handler->on_complete(status);
    });
}

void CurlClient::stop_first_byte_timer(Transfer& t) noexcept {
    if (t.first_byte_timer) ring_.cancel_timer(t.first_byte_timer);
}

void CurlClient::on_first_byte_timeout(TransferId id) noexcept {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    Transfer* t = it->second.get();
    t->first_byte_timer = ring::Ring::TimerId{};
    if (t->head_final) return;  // raced with the head's last line; nothing to do
    if (curl_depth_ > 0) {
        // Timers run from the ring loop, never inside curl; this only guards the invariant.
        auto alive = alive_;
        ring_.defer([this, alive, id] {
            if (*alive) on_first_byte_timeout(id);
        });
        return;
    }
    std::unique_ptr<Transfer> done = std::move(it->second);
    transfers_.erase(it);
    auto pending = std::find(pending_add_.begin(), pending_add_.end(), id);
    if (pending != pending_add_.end()) pending_add_.erase(pending);
    Status status(Code::timeout, done->method + " " + std::string(url_for_message(done->url)) +
                                     ": no response head within " +
                                     std::to_string(done->first_byte_timeout.count()) + " ms");
    TransferHandler* handler = done->handler;
    done->observe_first_byte(true);
    destroy_transfer(std::move(done));
    if (handler != nullptr) handler->on_complete(status);
}

void CurlClient::destroy_transfer(std::unique_ptr<Transfer> t) noexcept {
    stop_first_byte_timer(*t);
    if (t->in_multi) {
        t->in_multi = false;
        ++curl_depth_;
        curl_multi_remove_handle(static_cast<CURLM*>(multi_), t->easy);
        --curl_depth_;
    }
    t.reset();
}

void CurlClient::pause(TransferId id) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    it->second->pause_wanted = true;
}

void CurlClient::resume(TransferId id) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    Transfer* t = it->second.get();
    t->pause_wanted = false;
    ++t->resumes;
    if (!t->curl_paused) return;
    if (curl_depth_ > 0) {
        auto alive = alive_;
        ring_.defer([this, alive, id] {
            if (*alive) unpause(id);
        });
        return;
    }
    unpause(id);
}

void CurlClient::unpause(TransferId id) noexcept {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    Transfer* t = it->second.get();
    if (!t->curl_paused || t->pause_wanted) return;
    t->curl_paused = false;
    ++curl_depth_;
    // Hands the held-back bytes to the write callback right here; it may pause again.
    CURLcode rc = curl_easy_pause(t->easy, CURLPAUSE_CONT);
    --curl_depth_;
    if (rc != CURLE_OK)
        XS3_LOG_WARN("curl_easy_pause(CONT) failed", kv("error", curl_easy_strerror(rc)));
    after_curl();
}

void CurlClient::cancel(TransferId id) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    t->cancelled = true;
    t->handler = nullptr;
    stop_first_byte_timer(*t);
    auto pending = std::find(pending_add_.begin(), pending_add_.end(), id);
    if (pending != pending_add_.end()) pending_add_.erase(pending);
    if (curl_depth_ > 0 && t->in_multi) {
        cancelled_.push_back(std::move(t));  // removed by after_curl(), once curl has returned
        return;
    }
    destroy_transfer(std::move(t));
}

size_t CurlClient::write_callback(char* data, size_t size, size_t n, void* userp) noexcept {
    auto* t = static_cast<Transfer*>(userp);
    size_t len = size * n;
    if (t->cancelled || t->handler == nullptr) return 0;  // aborts; nobody is listening
    if (!t->head_delivered) {
        t->deliver_head();
        if (t->cancelled) return 0;
    }
    if (t->pause_wanted) {
        t->curl_paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (len == 0) return 0;
    uint64_t resumes = t->resumes;
    size_t took = t->handler->on_body(data, len);
    if (t->cancelled) return 0;
    if (took == len) return len;
    if (took == 0) {
        t->curl_paused = true;
        if (t->resumes == resumes) {
            t->pause_wanted = true;
        } else {
            // on_body called resume() before refusing the bytes: honour it on the next turn.
            auto* client = t->client;
            auto alive = client->alive_;
            TransferId id = t->id;
            client->ring_.defer([client, alive, id] {
                if (*alive) client->unpause(id);
            });
        }
        return CURL_WRITEFUNC_PAUSE;
    }
    t->handler_error = Status(Code::internal, "on_body accepted " + std::to_string(took) + " of " +
                                                  std::to_string(len) + " bytes");
    return 0;
}

size_t CurlClient::header_callback(char* data, size_t size, size_t n, void* userp) noexcept {
    auto* t = static_cast<Transfer*>(userp);
    size_t len = size * n;
    if (t->cancelled) return 0;
    if (t->head_final) return len;  // trailers: the head is already complete
    std::string_view line(data, len);
    if (line.size() >= 5 && line.substr(0, 5) == "HTTP/") {
        // A new status line: a previous 1xx head (or a proxy's) is discarded.
        t->head.headers.clear();
        t->head.status = 0;
        size_t sp = line.find(' ');
        if (sp != std::string_view::npos) {
            long code = 0;
            for (size_t i = sp + 1;
                 i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])); ++i)
                code = code * 10 + (line[i] - '0');
            t->head.status = code;
        }
        return len;
    }
    std::string_view body = trim_space(line);
    if (body.empty()) {
        if (t->head.status >= 200) {
            t->head_final = true;
            t->observe_first_byte(false);
            t->client->stop_first_byte_timer(*t);
        }
        return len;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !t->head.headers.empty()) {
        // obs-fold continuation of the previous header's value.
        auto& value = t->head.headers.back().second;
        value += ' ';
        value += body;
        return len;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return len;
    t->head.headers.emplace_back(ascii_lowercase(trim_space(line.substr(0, colon))),
                                 std::string(trim_space(line.substr(colon + 1))));
    return len;
}

void CurlClient::after_curl() noexcept {
    if (curl_depth_ > 0 || in_after_curl_ || destroying_) return;
    in_after_curl_ = true;
    CURLM* multi = static_cast<CURLM*>(multi_);
    for (;;) {
        if (!cancelled_.empty()) {
            auto doomed = std::move(cancelled_);
            cancelled_.clear();
            for (auto& t : doomed)
                destroy_transfer(std::move(t));
            continue;
        }
        if (!pending_add_.empty()) {
            auto ids = std::move(pending_add_);
            pending_add_.clear();
            for (TransferId id : ids) {
                auto it = transfers_.find(id);
                if (it == transfers_.end()) continue;
                ++curl_depth_;
                CURLMcode mc = curl_multi_add_handle(multi, it->second->easy);
                --curl_depth_;
                if (mc == CURLM_OK) {
                    it->second->in_multi = true;
                } else {
                    fail_later(id, Status(Code::internal, std::string("curl_multi_add_handle: ") +
                                                              curl_multi_strerror(mc)));
                }
            }
            continue;
        }
        int left = 0;
        ++curl_depth_;
        CURLMsg* msg = curl_multi_info_read(multi, &left);
        --curl_depth_;
        if (msg == nullptr) break;
        if (msg->msg != CURLMSG_DONE) continue;
        CURL* easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        void* priv = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        auto id = static_cast<TransferId>(reinterpret_cast<uintptr_t>(priv));
        auto it = transfers_.find(id);
        if (it == transfers_.end()) {
            // Cancelled transfers are removed above; anything else is not ours to keep.
            ++curl_depth_;
            curl_multi_remove_handle(multi, easy);
            --curl_depth_;
            continue;
        }
        Transfer* done = it->second.get();
        if (done->head_final && !done->head_delivered) {
            // A response without body bytes (HEAD, 304, or one that broke off right after its
            // head): the head goes out now, while cancel(id) from on_head still finds the id.
            done->deliver_head();
            it = transfers_.find(id);
            if (it == transfers_.end()) continue;
        }
        std::unique_ptr<Transfer> t = std::move(it->second);
        transfers_.erase(it);
        finish(std::move(t), rc);
    }
    in_after_curl_ = false;
}

void CurlClient::finish(std::unique_ptr<Transfer> t, int curl_code) noexcept {
    auto rc = static_cast<CURLcode>(curl_code);
    Status status;
    if (!t->handler_error.ok()) {
        status = t->handler_error;
    } else if (rc != CURLE_OK) {
        std::string msg = t->method + " " + std::string(url_for_message(t->url)) + ": ";
        msg += t->error_buffer[0] != '\0' ? t->error_buffer : curl_easy_strerror(rc);
        msg += " (curl " + std::to_string(static_cast<int>(rc)) + ")";
        status = Status(code_for(rc), std::move(msg));
    } else if (!t->head_final) {
        status = Status(Code::unavailable, t->method + " " + std::string(url_for_message(t->url)) +
                                               ": transfer ended without a response head");
    }
    TransferHandler* handler = t->handler;
    if (!t->head_final) t->observe_first_byte(true);
    destroy_transfer(std::move(t));
    if (handler != nullptr) handler->on_complete(status);
}

}  // namespace xs3::s3
