// H1Connection request semantics: routing, the S3 HEAD, cache lookup, and the choice between
// hit, miss (join or start a Download) and passthrough.
#include <unistd.h>

#include <cstring>

#include "xs3/base/log.hpp"
#include "xs3/cache/key.hpp"
#include "xs3/http/headers.hpp"
#include "xs3/http/request.hpp"
#include "xs3/proxy/connection.hpp"
#include "xs3/proxy/download_launch.hpp"
#include "xs3/proxy/handler_types.hpp"
#include "xs3/proxy/server.hpp"
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

// ---------------------------------------------------------------------------------------------
// Transfer handlers

H1Connection::OriginHead::~OriginHead() {
    if (active_) c_.w_.curl().cancel(tid_);
}

void H1Connection::OriginHead::start(s3::HttpRequest req) {
    active_ = true;
    tid_ = c_.w_.curl().start(std::move(req), this);
}

void H1Connection::OriginHead::on_complete(const Status& status) noexcept {
    active_ = false;
    // The handler may be destroyed by what follows: take what we need first.
    s3::HttpResponseHead head = std::move(head_);
    std::string body = std::move(body_);
    c_.on_origin_head(status, head, body);
}

H1Connection::Passthrough::~Passthrough() {
    if (active_) c_.w_.curl().cancel(tid_);
}

void H1Connection::Passthrough::start(s3::HttpRequest req) {
    active_ = true;
    tid_ = c_.w_.curl().start(std::move(req), this);
}

void H1Connection::Passthrough::on_head(const s3::HttpResponseHead& head) noexcept {
    ok_ = head.status == 200 || head.status == 206;
    if (!ok_) XS3_LOG_WARN("passthrough GET failed", kv("status", head.status), kv("key", c_.key_));
}

size_t H1Connection::Passthrough::on_body(const char* data, size_t len) noexcept {
    if (!ok_) return len;
    // Appending may move out_'s storage; only do it when no send is reading from it. Every
    // append is sent at once, so at most one curl chunk waits here.
    if (c_.send_in_flight_) {
        paused_ = true;
        return 0;
    }
    c_.out_.append(data, len);
    if (!c_.send_in_flight_) c_.stream_send();
    return len;
}

void H1Connection::Passthrough::on_complete(const Status& status) noexcept {
    active_ = false;
    done_ = true;
    if (!status.ok() || !ok_) {
        XS3_LOG_WARN("passthrough transfer failed", kv("key", c_.key_),
                     kv("error", status.ok() ? std::string("bad status") : status.to_string()));
        c_.cut("passthrough transfer failed");
        return;
    }
    if (!c_.send_in_flight_) c_.stream_send();
}

void H1Connection::Passthrough::resume_if_paused() {
    if (paused_ && active_) {
        paused_ = false;
        c_.w_.curl().resume(tid_);
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

void H1Connection::send_head(http::ResponseHead head, BodyKind body, std::string_view inline_body) {
    head.headers.add("Server", std::string(http::server_header_value()));
    head.headers.add("Date", w_.dates().now());
    if (!keep_alive_ || finish_after_) head.headers.add("Connection", "close");
    state_ = State::sending;
    body_ = is_head_ ? BodyKind::none : body;
    out_.clear();
    out_off_ = 0;
    size_t dropped = http::serialize_response_head(head, out_);
    if (dropped > 0)
        XS3_LOG_WARN("response header fields dropped (invalid bytes)", kv("count", dropped),
                     kv("key", key_));
    out_.append(inline_body);
    send_out();
}

void H1Connection::respond_error(int status, std::string_view code, std::string_view message,
                                 std::initializer_list<std::pair<const char*, std::string>> extra) {
    http::ResponseHead head;
    head.status = status;
    for (auto& e : extra)
        head.headers.add(e.first, e.second);
    std::string body = s3::render_error_xml(code, message, "/" + key_, "");
    head.headers.add("Content-Type", "application/xml");
    head.headers.add("Content-Length", std::to_string(is_head_ ? 0 : body.size()));
    if (is_head_) body.clear();
    send_head(std::move(head), BodyKind::none, body);
}

http::ResponseHead H1Connection::object_head(const char* cache_status) const {
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

void H1Connection::start_request(http::Request req) {
    w_.ring().cancel_timer(timer_);
    state_ = State::handling;
    w_.shared().counters.requests.fetch_add(1, std::memory_order_relaxed);
    req_ = std::move(req);
    keep_alive_ = req_.keep_alive;
    is_head_ = req_.method == http::Method::head;
    key_.clear();
    range_ = {};
    error_probed_ = false;
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

void H1Connection::on_origin_head(const Status& status, const s3::HttpResponseHead& head,
                                  const std::string& body) {
    // Called from the OriginHead's on_complete: it is freed with the next request, not now.
    if (state_ != State::handling) return;
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
        pos_ = range_.first;
        end_ = range_.last + 1;
    } else {
        range_.kind = http::RangeKind::none;
        pos_ = 0;
        end_ = size_;
    }
    if (is_head_) {
        send_head(object_head(nullptr), BodyKind::none);
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
    auto deliver = for_this_request([found](H1Connection& c) {
        if (c.state_ == State::handling) c.on_lookup(std::move(*found));
    });
    SharedState* shared = &w_.shared();
    Worker* w = &w_;
    shared->blocking.submit([shared, w, ck = cache_key_, found, deliver] {
        *found = shared->store.lookup(ck);
        w->ring().post(deliver);
    });
}

void H1Connection::on_lookup(Result<std::optional<cache::Entry>> result) {
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
            entry_ = std::make_shared<cache::Entry>(std::move(e));
            file_fd_ = entry_->fd.get();
            file_base_ = entry_->data_offset;
            send_head(object_head("HIT"), BodyKind::file);
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

void H1Connection::start_miss() {
    SharedState& shared = w_.shared();
    auto [dl, created] = shared.downloads.get_or_create(cache_key_.hex, [&] {
        return std::make_shared<fetch::Download>(key_, size_, shared.options.download);
    });
    download_ = dl;
    dl->prioritize(pos_);
    if (created) {
        const std::string* etag = meta_.get("etag");
        launch_download(w_, dl, cache_key_, key_, etag ? *etag : std::string(),
                        object_meta_from_head(meta_, size_, shared.origin.bucket(), key_));
    }
    on_download_state();
}

// Waits until the download has its temp file (or failed) before committing to a response, so a
// cache that cannot be written still turns into a passthrough rather than a cut-off body.
void H1Connection::on_download_state() {
    auto st = download_->state();
    if (st == fetch::Download::State::creating) {
        auto again = for_this_request([](H1Connection& c) {
            if (c.state_ == State::handling) c.on_download_state();
        });
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
    file_fd_ = download_->fd();
    file_base_ = download_->data_offset();
    // A download that already holds every byte (it is being published) serves like a hit.
    bool complete = st == fetch::Download::State::complete;
    send_head(object_head(complete ? "HIT" : "MISS"), BodyKind::download);
}

void H1Connection::start_passthrough() {
    w_.shared().counters.passes.fetch_add(1, std::memory_order_relaxed);
    const std::string* etag = meta_.get("etag");
    std::optional<std::pair<uint64_t, uint64_t>> range;
    if (range_.kind == http::RangeKind::single) range = std::make_pair(range_.first, range_.last);
    if (size_ == 0) {
        send_head(object_head("PASS"), BodyKind::none);
        return;
    }
    auto get_req = w_.shared().origin.get(key_, range, etag ? *etag : std::string());
    if (!get_req.ok()) {
        respond_error(400, "InvalidURI", get_req.status().message());
        return;
    }
    passthrough_ = std::make_unique<Passthrough>(*this);
    send_head(object_head("PASS"), BodyKind::stream);
    passthrough_->start(std::move(get_req).value());
}

}  // namespace xs3::proxy
