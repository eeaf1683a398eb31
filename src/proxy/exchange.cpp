// Exchange: routing, the S3 HEAD, cache lookup, and the choice between hit, miss (join or start
// a Download) and passthrough.
#include "xs3/proxy/exchange.hpp"

#include "xs3/base/log.hpp"
#include "xs3/cache/key.hpp"
#include "xs3/http/headers.hpp"
#include "xs3/proxy/download_launch.hpp"
#include "xs3/proxy/server.hpp"
#include "xs3/proxy/stream_body.hpp"
#include "xs3/s3/errors.hpp"

namespace xs3::proxy {
namespace {

// Query parameters that select a different object or bytes; serving them from the plain key's
// cache entry would be wrong, so until they are supported they are refused.
bool query_changes_object(std::string_view query) {
    size_t i = 0;
    while (i <= query.size()) {
        size_t amp = query.find('&', i);
        if (amp == std::string_view::npos) amp = query.size();
        std::string_view item = query.substr(i, amp - i);
        std::string_view name = item.substr(0, item.find('='));
        if (name == "versionId" || name == "partNumber") return true;
        i = amp + 1;
    }
    return false;
}

bool parse_u64(const std::string& s, uint64_t& out) {
    if (s.empty() || s.size() > 19) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    out = v;
    return true;
}

}  // namespace

std::pair<http::ResponseHead, std::string> s3_error_response(
    int status, std::string_view code, std::string_view message, std::string_view resource,
    std::initializer_list<std::pair<const char*, std::string>> extra) {
    http::ResponseHead head;
    head.status = status;
    for (auto& e : extra)
        head.headers.add(e.first, e.second);
    std::string body = s3::render_error_xml(code, message, resource, "");
    head.headers.add("Content-Type", "application/xml");
    head.headers.add("Content-Length", std::to_string(body.size()));
    return {std::move(head), std::move(body)};
}

// The S3 HEAD (or the 1-byte GET that learns S3's error code) of an exchange.
class Exchange::OriginHead final : public s3::TransferHandler {
  public:
    explicit OriginHead(Exchange& x) : x_(x) {}
    ~OriginHead() {
        if (active_) x_.w_.curl().cancel(tid_);
    }
    void start(s3::HttpRequest req) {
        active_ = true;
        tid_ = x_.w_.curl().start(std::move(req), this);
    }
    void on_head(const s3::HttpResponseHead& head) noexcept override { head_ = head; }
    size_t on_body(const char* data, size_t len) noexcept override {
        if (body_.size() < 64 * 1024) body_.append(data, std::min(len, 64 * 1024 - body_.size()));
        return len;
    }
    void on_complete(const Status& status) noexcept override {
        active_ = false;
        // The handler may be replaced by what follows: take what we need first.
        s3::HttpResponseHead head = std::move(head_);
        std::string body = std::move(body_);
        x_.on_origin_head(status, head, body);
    }

  private:
    Exchange& x_;
    s3::CurlClient::TransferId tid_ = 0;
    bool active_ = false;
    s3::HttpResponseHead head_;
    std::string body_;
};

Exchange::Exchange(Worker& worker, ResponseSink& sink, http::Request request)
    : w_(worker), sink_(sink), req_(std::move(request)) {
    is_head_ = req_.method == http::Method::head;
}

Exchange::~Exchange() = default;

std::function<void()> Exchange::if_alive(std::function<void(Exchange&)> fn) {
    std::weak_ptr<Exchange> weak = weak_from_this();
    return [weak, fn = std::move(fn)] {
        if (auto x = weak.lock(); x && !x->responded_) fn(*x);
    };
}

// ---------------------------------------------------------------------------------------------
// Responses

void Exchange::respond(http::ResponseHead head, std::unique_ptr<Body> body) {
    if (responded_) return;
    responded_ = true;
    if (is_head_) body.reset();
    sink_.respond(std::move(head), std::move(body));
}

void Exchange::respond_error(int status, std::string_view code, std::string_view message,
                             std::initializer_list<std::pair<const char*, std::string>> extra) {
    auto [head, body] = s3_error_response(status, code, message, "/" + key_, extra);
    respond(std::move(head), std::make_unique<MemoryBody>(std::move(body)));
}

void Exchange::respond_simple(int status, std::string_view content_type, std::string body) {
    http::ResponseHead head;
    head.status = status;
    head.headers.add("Content-Type", std::string(content_type));
    head.headers.add("Content-Length", std::to_string(body.size()));
    respond(std::move(head), std::make_unique<MemoryBody>(std::move(body)));
}

http::ResponseHead Exchange::object_head(const char* cache_status) const {
    http::ResponseHead head;
    bool partial = range_.kind == http::RangeKind::single;
    head.status = partial ? 206 : 200;
    uint64_t len = partial ? range_.length() : size_;
    head.headers.add("Content-Length", std::to_string(len));
    if (partial)
        head.headers.add("Content-Range",
                         http::content_range_value(range_.first, range_.last, size_));
    head.headers.add("Accept-Ranges", "bytes");
    for (const auto& [name, value] : meta_.headers) {
        if (name == "etag" || name == "last-modified" || name == "content-type" ||
            name == "cache-control" || name == "content-encoding" ||
            name == "content-disposition" || name == "content-language" || name == "expires" ||
            name.rfind("x-amz-meta-", 0) == 0 || name == "x-amz-version-id")
            head.headers.add(name == "etag"               ? "ETag"
                             : name == "last-modified"    ? "Last-Modified"
                             : name == "content-type"     ? "Content-Type"
                             : name == "cache-control"    ? "Cache-Control"
                             : name == "content-encoding" ? "Content-Encoding"
                                                          : name,
                             value);
    }
    if (cache_status != nullptr) head.headers.add("x-cache", cache_status);
    return head;
}

// ---------------------------------------------------------------------------------------------
// Request flow

void Exchange::start() {
    w_.shared().counters.requests.fetch_add(1, std::memory_order_relaxed);
    if (req_.path == "/healthz" && req_.method != http::Method::other) {
        respond_simple(200, "text/plain", "ok\n");
        return;
    }
    if (req_.method == http::Method::other) {
        respond_error(405, "MethodNotAllowed", "only GET and HEAD are supported",
                      {{"Allow", "GET, HEAD"}});
        return;
    }
    if (req_.path.empty() || req_.path[0] != '/') {
        respond_error(400, "InvalidURI", "the request target must be /<key>");
        return;
    }
    auto decoded = http::percent_decode(std::string_view(req_.path).substr(1));
    if (!decoded.ok()) {
        respond_error(400, "InvalidURI", "bad percent-encoding in the key");
        return;
    }
    key_ = std::move(decoded).value();
    if (key_.empty()) {
        respond_error(400, "InvalidRequest", "bucket listing is not supported; ask for /<key>");
        return;
    }
    if (key_.size() > 1024) {
        respond_error(400, "KeyTooLongError", "keys are at most 1024 bytes");
        return;
    }
    if (query_changes_object(req_.query)) {
        respond_error(501, "NotImplemented", "versionId and partNumber are not supported yet");
        return;
    }
    auto head_req = w_.shared().origin.head(key_);
    if (!head_req.ok()) {
        respond_error(400, "InvalidURI", head_req.status().message());
        return;
    }
    origin_head_ = std::make_unique<OriginHead>(*this);
    origin_head_->start(std::move(head_req).value());
}

void Exchange::on_origin_head(const Status& status, const s3::HttpResponseHead& head,
                              const std::string& body) {
    if (responded_) return;
    if (!status.ok()) {
        XS3_LOG_WARN("S3 HEAD failed", kv("key", key_), kv("error", status.to_string()));
        if (status.code() == Code::timeout)
            respond_error(504, "GatewayTimeout", "S3 did not answer in time");
        else
            respond_error(502, "BadGateway", "S3 could not be reached");
        return;
    }
    if (head.status != 200) {
        auto err = s3::parse_error_xml(body);
        std::string code = err ? err->code : std::string();
        switch (head.status) {
            case 404:
                respond_error(404, code.empty() ? "NoSuchKey" : code,
                              "The specified key does not exist.");
                return;
            case 403:
                if (code.empty() && !error_probed_) {
                    // A HEAD answer has no body, so S3's reason (SignatureDoesNotMatch,
                    // AccessDenied, ...) is unknown: ask once with a 1-byte GET, which has one.
                    error_probed_ = true;
                    auto probe = w_.shared().origin.get(key_, std::make_pair(0, 0), "");
                    if (probe.ok()) {
                        auto next = std::make_unique<OriginHead>(*this);
                        next->start(std::move(probe).value());
                        // The finished handler is on the stack: free it next turn.
                        w_.ring().dispose_later(std::exchange(origin_head_, std::move(next)));
                        return;
                    }
                }
                XS3_LOG_WARN("S3 refused the proxy's request", kv("key", key_),
                             kv("code", code.empty() ? std::string("AccessDenied") : code));
                respond_error(403, code.empty() ? "AccessDenied" : code, "Access Denied");
                return;
            case 503:
                respond_error(503, "SlowDown", "S3 asked to slow down; retry later");
                return;
            default:
                XS3_LOG_WARN("S3 HEAD answered an error", kv("key", key_),
                             kv("status", head.status));
                respond_error(502, "BadGateway",
                              "S3 answered HEAD with status " + std::to_string(head.status));
                return;
        }
    }
    const std::string* cl = head.get("content-length");
    uint64_t size = 0;
    if (cl == nullptr || !parse_u64(*cl, size)) {
        respond_error(502, "BadGateway", "S3 HEAD answer has no valid Content-Length");
        return;
    }
    meta_ = head;
    size_ = size;
    if (const std::string* r = req_.headers.get("range")) {
        range_ = http::parse_range(*r, size_);
        if (range_.kind == http::RangeKind::unsatisfiable) {
            respond_error(416, "InvalidRange", "The requested range is not satisfiable",
                          {{"Content-Range", http::unsatisfied_content_range(size_)}});
            return;
        }
    }
    if (range_.kind == http::RangeKind::single) {
        first_ = range_.first;
        end_ = range_.last + 1;
    } else {
        range_.kind = http::RangeKind::none;
        first_ = 0;
        end_ = size_;
    }
    if (is_head_) {
        respond(object_head(nullptr), nullptr);
        return;
    }

    const std::string* sha = head.get("x-amz-meta-sha224");
    auto choice = cache::make_cache_key(
        w_.shared().origin.bucket(), key_,
        sha ? std::optional<std::string_view>(*sha) : std::optional<std::string_view>());
    if (choice.ignored_sha224)
        XS3_LOG_WARN("x-amz-meta-sha224 ignored", kv("key", key_),
                     kv("why", *choice.ignored_sha224));
    cache_key_ = choice.key;

    // The lookup blocks (open + header read): it runs on the pool and its answer comes back here.
    auto found = std::make_shared<Result<std::optional<cache::Entry>>>(std::nullopt);
    auto deliver = if_alive([found](Exchange& x) { x.on_lookup(std::move(*found)); });
    SharedState* shared = &w_.shared();
    Worker* w = &w_;
    shared->blocking.submit([shared, w, ck = cache_key_, found, deliver] {
        *found = shared->store.lookup(ck);
        w->ring().post(deliver);
    });
}

void Exchange::on_lookup(Result<std::optional<cache::Entry>> result) {
    if (!result.ok())
        XS3_LOG_WARN("cache lookup failed", kv("key", key_),
                     kv("error", result.status().to_string()));
    if (result.ok() && result.value().has_value()) {
        cache::Entry& e = *result.value();
        const std::string* etag = meta_.get("etag");
        bool same = e.meta.size == size_ &&
                    (cache_key_.content_addressed || (etag != nullptr && e.meta.etag == *etag));
        if (same) {
            w_.shared().counters.hits.fetch_add(1, std::memory_order_relaxed);
            cache_status_ = "HIT";
            auto entry = std::make_shared<const cache::Entry>(std::move(e));
            respond(object_head("HIT"), std::make_unique<FileBody>(std::move(entry), first_, end_));
            return;
        }
        XS3_LOG_INFO("cached copy is stale; refetching", kv("key", key_));
    }
    w_.shared().counters.misses.fetch_add(1, std::memory_order_relaxed);
    if (!w_.shared().cache_writable.load(std::memory_order_relaxed)) {
        start_passthrough();
        return;
    }
    start_miss();
}

void Exchange::start_miss() {
    SharedState& shared = w_.shared();
    auto [dl, created] = shared.downloads.get_or_create(cache_key_.hex, [&] {
        return std::make_shared<fetch::Download>(key_, size_, shared.options.download);
    });
    download_ = dl;
    dl->prioritize(first_);
    if (created) {
        const std::string* etag = meta_.get("etag");
        launch_download(w_, dl, cache_key_, key_, etag ? *etag : std::string(),
                        object_meta_from_head(meta_, size_, shared.origin.bucket(), key_));
    }
    on_download_state();
}

// Waits until the download has its temp file (or failed) before committing to a response, so a
// cache that cannot be written still turns into a passthrough rather than a cut-off body.
void Exchange::on_download_state() {
    auto st = download_->state();
    if (st == fetch::Download::State::creating) {
        auto again = if_alive([](Exchange& x) { x.on_download_state(); });
        if (!download_->wait(0, w_.ring(), again)) w_.ring().defer(again);
        return;
    }
    if (st == fetch::Download::State::failed && download_->bytes_fetched() == 0) {
        Status why = download_->failure();
        download_.reset();
        if (why.code() == Code::precondition_failed) {
            respond_error(503, "SlowDown", "the object changed while it was being fetched; retry");
            return;
        }
        XS3_LOG_WARN("cache unavailable for this object; passthrough", kv("key", key_),
                     kv("why", why.to_string()));
        start_passthrough();
        return;
    }
    // A download that already holds every byte (it is being published) serves like a hit.
    bool complete = st == fetch::Download::State::complete;
    cache_status_ = complete ? "HIT" : "MISS";
    respond(object_head(cache_status_),
            std::make_unique<DownloadBody>(w_.ring(), std::move(download_), first_, end_));
}

void Exchange::start_passthrough() {
    w_.shared().counters.passes.fetch_add(1, std::memory_order_relaxed);
    cache_status_ = "PASS";
    if (size_ == 0) {
        respond(object_head("PASS"), nullptr);
        return;
    }
    const std::string* etag = meta_.get("etag");
    std::optional<std::pair<uint64_t, uint64_t>> range;
    if (range_.kind == http::RangeKind::single) range = std::make_pair(range_.first, range_.last);
    auto get_req = w_.shared().origin.get(key_, range, etag ? *etag : std::string());
    if (!get_req.ok()) {
        respond_error(400, "InvalidURI", get_req.status().message());
        return;
    }
    passthrough_ = std::make_unique<StreamBody>(w_.ring(), w_.curl());
    passthrough_->start(
        std::move(get_req).value(),
        [this](const s3::HttpResponseHead& h) { on_passthrough_head(h); },
        [this](const Status& st, const s3::HttpResponseHead& h, const std::string& body) {
            on_passthrough_failed(st, h, body);
        });
}

void Exchange::on_passthrough_head(const s3::HttpResponseHead&) {
    // The object's head came from the HEAD answer; the GET asked for exactly these bytes.
    passthrough_->accept(end_ - first_);
    respond(object_head("PASS"), std::move(passthrough_));
}

void Exchange::on_passthrough_failed(const Status& status, const s3::HttpResponseHead& head,
                                     const std::string&) {
    XS3_LOG_WARN("passthrough GET failed", kv("key", key_), kv("status", head.status),
                 kv("error", status.ok() ? std::string("-") : status.to_string()));
    // The handler is on its own stack: free it next turn.
    w_.ring().dispose_later(std::move(passthrough_));
    if (head.status == 412)
        respond_error(503, "SlowDown", "the object changed while it was being fetched; retry");
    else if (status.code() == Code::timeout)
        respond_error(504, "GatewayTimeout", "S3 did not answer in time");
    else
        respond_error(502, "BadGateway", "S3 passthrough GET failed");
}

}  // namespace xs3::proxy
