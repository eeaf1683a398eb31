// Exchange: routing, and the known / cold / passthrough / HEAD paths of a request.
#include "xs3/proxy/exchange.hpp"

#include <limits>

#include "xs3/base/log.hpp"
#include "xs3/base/trace.hpp"
#include "xs3/cache/key.hpp"
#include "xs3/fleet/protocol.hpp"
#include "xs3/http/conditional.hpp"
#include "xs3/http/date.hpp"
#include "xs3/http/headers.hpp"
#include "xs3/proxy/client_auth.hpp"
#include "xs3/proxy/multipart_body.hpp"
#include "xs3/proxy/relay.hpp"
#include "xs3/proxy/stream_body.hpp"
#include "xs3/proxy/worker.hpp"
#include "xs3/s3/errors.hpp"
#include "xs3/s3/object_extent.hpp"
#include "xs3/s3/small_call.hpp"

namespace xs3::proxy {

std::pair<http::ResponseHead, std::string> s3_error_response(
    int status, std::string_view code, std::string_view message, std::string_view resource,
    std::string_view request_id, std::initializer_list<std::pair<const char*, std::string>> extra,
    std::span<const s3::ErrorDetail> details) {
    http::ResponseHead head;
    head.status = status;
    for (auto& e : extra)
        head.headers.add(e.first, e.second);
    std::string body = s3::render_error_xml(code, message, resource, request_id, details);
    head.headers.add("Content-Type", "application/xml");
    head.headers.add("Content-Length", std::to_string(body.size()));
    if (!request_id.empty()) head.headers.add("x-amz-request-id", std::string(request_id));
    return {std::move(head), std::move(body)};
}

Exchange::Exchange(Worker& worker, ResponseSink& sink, http::Request request)
    : w_(worker),
      sink_(sink),
      req_(std::move(request)),
      request_id_(worker.new_request_id()),
      origin_retry_(worker.shared().retry_policy, &worker.shared().retry_budget),
      pass_retry_(worker.shared().retry_policy, &worker.shared().retry_budget),
      relay_retry_(worker.shared().retry_policy, &worker.shared().retry_budget) {
    is_head_ = req_.method == http::Method::head;
    // Range is a single field (RFC 9110 14.2): two of them are ambiguous, and picking one could
    // differ from what a cache or proxy in front picked. Both are ignored (a 200 of the whole).
    if (req_.headers.count("range") == 1) range_header_ = req_.headers.get("range");
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
    if (!head.headers.has("x-amz-request-id")) head.headers.add("x-amz-request-id", request_id_);
    sink_.respond(std::move(head), std::move(body));
}

void Exchange::respond_error(int status, std::string_view code, std::string_view message,
                             std::initializer_list<std::pair<const char*, std::string>> extra,
                             std::vector<s3::ErrorDetail> details) {
    std::string resource = op_.resource.empty() ? req_.path : op_.resource;
    auto [head, body] =
        s3_error_response(status, code, message, resource, request_id_, extra, details);
    respond(std::move(head), std::make_unique<MemoryBody>(std::move(body)));
}

void Exchange::respond_origin_error(int http_status, std::string code, const Status& transport) {
    switch (http_status) {
        case 0:
            XS3_LOG_WARN("S3 request failed", kv("key", key_), kv("error", transport.to_string()));
            if (transport.code() == Code::timeout)
                respond_error(504, "GatewayTimeout", "S3 did not answer in time");
            else
                respond_error(502, "BadGateway", "S3 could not be reached");
            return;
        case 404: {
            if (!code.empty() && code != "NoSuchKey") {
                respond_error(404, code, s3::default_error_message(code));
                return;
            }
            // Say exactly which key of which bucket was looked up, and why that one: a
            // path-style request in single-bucket mode that names another bucket is read as a
            // key of the bucket served.
            std::string message = "The specified key does not exist.";
            if (op_.addressing == s3::Addressing::single_bucket && key_.find('/') != 0 &&
                key_.find('/') != std::string::npos)
                message += " (This proxy serves the bucket '" + origin_->bucket() +
                           "' at /<key>, so the whole path was looked up as the key '" + key_ +
                           "'; /" + origin_->bucket() + "/<key> names a key of it path-style.)";
            XS3_LOG_DEBUG("no such key", kv("bucket", origin_->bucket()), kv("key", key_),
                          kv("addressing", std::string(s3::addressing_name(op_.addressing))));
            respond_error(404, "NoSuchKey", message, {},
                          {{"Key", key_}, {"BucketName", origin_->bucket()}});
            return;
        }
        case 403:
            XS3_LOG_WARN("S3 refused the proxy's request", kv("key", key_),
                         kv("code", code.empty() ? std::string("AccessDenied") : code));
            respond_error(403, code.empty() ? "AccessDenied" : code, "Access Denied");
            return;
        case 412:
            respond_error(503, "SlowDown", "the object changed while it was being fetched; retry");
            return;
        case 416:
            if (info_known_)
                respond_error(416, "InvalidRange", "The requested range is not satisfiable",
                              {{"Content-Range", http::unsatisfied_content_range(size_)}});
            else
                respond_error(416, "InvalidRange", "The requested range is not satisfiable");
            return;
        case 503:
            respond_error(503, "SlowDown", "S3 asked to slow down; retry later");
            return;
        default:
            XS3_LOG_WARN("S3 answered an error", kv("key", key_), kv("status", http_status));
            respond_error(502, "BadGateway",
                          "S3 answered with status " + std::to_string(http_status));
            return;
    }
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
    head.status = partial || multipart_ ? 206 : 200;
    head.headers.add("Content-Length",
                     std::to_string(multipart_ ? multipart_->content_length : end_ - first_));
    if (partial)
        head.headers.add("Content-Range",
                         http::content_range_value(range_.first, range_.last, size_));
    head.headers.add("Accept-Ranges", "bytes");
    auto add = [&](const char* name, const std::string& value) {
        if (!value.empty()) head.headers.add(name, value);
    };
    add("ETag", meta_.etag);
    add("Last-Modified", meta_.last_modified);
    add("Content-Type", meta_.content_type);
    add("Cache-Control", meta_.cache_control);
    add("Content-Encoding", meta_.content_encoding);
    add("Content-Disposition", meta_.content_disposition);
    add("Content-Language", meta_.content_language);
    add("Expires", meta_.expires);
    add("x-amz-version-id", meta_.version_id);
    for (const auto& [name, value] : meta_.user_meta)
        head.headers.add("x-amz-meta-" + name, value);
    for (const auto& [field, value] : overrides_)
        head.headers.set(field, value);
    if (multipart_) head.headers.set("Content-Type", multipart_->content_type);
    if (cache_status != nullptr) head.headers.add("x-cache", stale_ ? "STALE" : cache_status);
    return head;
}

bool Exchange::settle_range(bool multipart_ok) {
    range_ = {};
    multipart_.reset();
    auto cond = http::evaluate_conditionals(
        req_.method, req_.headers, {meta_.etag, http::parse_http_date(meta_.last_modified)});
    if (cond.outcome == http::Precondition::not_modified) {
        // 304: the validators and caching fields, no body.
        http::ResponseHead head;
        head.status = 304;
        auto add = [&](const char* name, const std::string& value) {
            if (!value.empty()) head.headers.add(name, value);
        };
        add("ETag", meta_.etag);
        add("Last-Modified", meta_.last_modified);
        add("Cache-Control", meta_.cache_control);
        add("Expires", meta_.expires);
        respond(std::move(head), nullptr);
        return false;
    }
    if (cond.outcome == http::Precondition::precondition_failed) {
        respond_error(412, "PreconditionFailed",
                      "At least one of the pre-conditions you specified did not hold");
        return false;
    }
    if (range_header_ != nullptr && cond.range_applies) {
        // Several ranges become one multipart/byteranges answer (multipart_body.hpp), where the
        // caller can serve one; S3 itself answers a single range, so passthrough cannot.
        size_t max_parts = multipart_ok ? w_.shared().options.max_ranges : 1;
        http::RangeSet set = http::parse_ranges(*range_header_, size_, max_parts);
        if (set.kind == http::RangeKind::unsatisfiable) {
            respond_error(416, "InvalidRange", "The requested range is not satisfiable",
                          {{"Content-Range", http::unsatisfied_content_range(size_)}});
            return false;
        }
        if (set.kind == http::RangeKind::single)
            range_ = {http::RangeKind::single, set.parts[0].first, set.parts[0].last};
        if (set.kind == http::RangeKind::multi) {
            first_ = end_ = set.parts[0].first;
            for (const auto& p : set.parts) {  // the span, for joins and priorities
                first_ = std::min(first_, p.first);
                end_ = std::max(end_, p.last + 1);
            }
            std::string part_type = meta_.content_type;
            for (const auto& [field, value] : overrides_)
                if (http::iequals(field, "Content-Type")) part_type = value;
            multipart_ = http::layout_multipart(set.parts, size_, part_type, random_boundary());
            return true;
        }
    }
    if (range_.kind == http::RangeKind::single) {
        first_ = range_.first;
        end_ = range_.last + 1;
    } else {
        range_.kind = http::RangeKind::none;  // none, or several ranges: the whole object
        first_ = 0;
        end_ = size_;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// Routing

bool Exchange::admit_hop() {
    fleet::HopRequest r;
    r.hop = req_.headers.get(fleet::kHopHeader);
    if (r.hop == nullptr) return true;
    SharedState& shared = w_.shared();
    const fleet::Membership* m = shared.fleet;
    r.auth = req_.headers.get(fleet::kAuthHeader);
    r.method = req_.method_name;
    r.target = req_.target;
    r.now_unix = static_cast<int64_t>(::time(nullptr));
    bool member = false;
    // The address is asked of the kernel only when it decides (no token).
    if (m != nullptr && m->token().empty()) {
        r.remote_ip = sink_.client_ip();
        member = m->is_member_ip(r.remote_ip);
    }
    fleet::HopVerdict v = fleet::judge_hop(r, m != nullptr, m ? m->token() : "", member);
    if (v.kind == fleet::HopVerdict::Kind::peer) {
        peer_request_ = true;
        shared.counters.peer_requests.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    shared.counters.peer_requests_refused.fetch_add(1, std::memory_order_relaxed);
    // Anyone can send the header: at most one line a second, with how many went unlogged.
    static std::atomic<int64_t> last_logged{0};
    static std::atomic<uint64_t> unlogged{0};
    int64_t last = last_logged.load(std::memory_order_relaxed);
    if (r.now_unix > last && last_logged.compare_exchange_strong(last, r.now_unix))
        XS3_LOG_WARN("peer request refused", kv("hop", *r.hop), kv("why", v.why),
                     kv("target", req_.target), kv("not_logged_since_last", unlogged.exchange(0)));
    else
        unlogged.fetch_add(1, std::memory_order_relaxed);
    respond_error(403, "AccessDenied", "Access Denied");
    return false;
}

bool Exchange::check_client() {
    const auto& verifier = w_.shared().options.client_verifier;
    if (!verifier) return true;
    ClientVerdict verdict = check_request(*verifier, req_, time(nullptr));
    if (verdict.refusal) {
        w_.shared().counters.auth_refused.fetch_add(1, std::memory_order_relaxed);
        s3::AuthError& e = *verdict.refusal;
        respond_error(e.status, e.code, e.message, {}, std::move(e.details));
        return false;
    }
    client_ = verdict.client;
    return true;
}

void Exchange::start() {
    SharedState& shared = w_.shared();
    shared.counters.requests.fetch_add(1, std::memory_order_relaxed);
    if (req_.path == "/healthz" && req_.method != http::Method::other) {
        respond_simple(200, "text/plain", "ok\n");
        return;
    }
    if (!admit_hop()) return;
    // The client check comes before anything is classified, routed or fetched; a trusted
    // peer's fill (admitted above by the fleet token) is the fleet's, not a client's.
    if (!peer_request_ && !check_client()) return;
    const std::string* host = req_.headers.get("host");
    op_ = s3::classify_request(req_.method_name, req_.path, req_.query, host ? *host : "",
                               shared.addressing);
    switch (s3::route_of(op_.op)) {
        case s3::Route::refuse:
            respond_refusal();
            return;
        case s3::Route::service:
            respond_list_buckets();
            return;
        case s3::Route::relay:
        case s3::Route::cache:
            break;
    }
    origin_ = shared.origin_for(op_.bucket);
    if (origin_ == nullptr) {
        respond_error(403, "AccessDenied", "This proxy does not serve that bucket.", {},
                      {{"BucketName", op_.bucket}});
        return;
    }
    if (client_ != nullptr && !client_->may_read(origin_->bucket())) {
        shared.counters.auth_refused.fetch_add(1, std::memory_order_relaxed);
        respond_error(403, "AccessDenied", "Access Denied");
        return;
    }
    if (s3::route_of(op_.op) == s3::Route::relay) {
        XS3_TRACE("req.route", trace::f("req", req_.trace_id), trace::f("route", "relay"),
                  trace::f("key", op_.key));
        start_relay();
        return;
    }
    key_ = op_.key;
    object_ = s3::ObjectId(key_);
    object_.version_id = op_.version_id;
    object_.part_number = op_.part_number;
    overrides_ = op_.overrides;
    // Every later request for this object is built from it; one that cannot form a URL is
    // refused here, before anything is started for it.
    if (Status valid = origin_->validate(object_); !valid.ok()) {
        respond_error(400, "InvalidURI", valid.message());
        return;
    }
    // req.route says which path the request takes (docs/trace.md).
    auto route = [this](const char* r) {
        XS3_TRACE("req.route", trace::f("req", req_.trace_id), trace::f("route", r),
                  trace::f("key", key_));
    };
    if (is_head_) {
        // A HEAD of a name cached and still fresh (--immutable, within --metadata-ttl) is answered
        // from the cached copy's metadata, as a GET of it would be: S3 is not asked (clients such
        // as `aws s3 cp` HEAD before every GET). Otherwise, and for a part number (whose headers
        // are the part's), S3's HEAD answers it.
        if (object_.part_number.empty()) {
            name_ = {origin_->bucket(), key_, object_.version_id};
            known_ = shared.index.find_name(name_);
            if (known_ && fresh(*known_)) {
                route("head_fresh");
                serve_from_cache(known_->key, known_->etag);
                return;
            }
            known_.reset();
        }
        route("head");
        start_head_request();
        return;
    }
    if (!shared.writability.writable()) {
        route("pass_unwritable");
        shared.counters.misses.fetch_add(1, std::memory_order_relaxed);
        start_passthrough();
        return;
    }
    if (!object_.part_number.empty()) {
        // A part of a multipart object: relayed, never cached (its bytes are not the object's).
        route("pass_part");
        shared.counters.misses.fetch_add(1, std::memory_order_relaxed);
        start_passthrough();
        return;
    }
    name_ = {origin_->bucket(), key_, object_.version_id};
    known_ = shared.index.find_name(name_);
    if (!known_) {
        // Until the start-up scan has catalogued every name, a name the index does not know may
        // be cached under its content key: ask a HEAD first, to find it.
        bool complete = shared.names_complete.load(std::memory_order_relaxed);
        route(complete ? "cold" : "head_first");
        if (complete)
            start_cold();
        else
            start_head_request();
        return;
    }
    bool is_fresh = fresh(*known_);
    route(is_fresh ? "fresh" : "revalidate");
    if (is_fresh) {
        serve_from_cache(known_->key, known_->etag);
        return;
    }
    revalidate(*known_);
}

bool Exchange::fresh(const cache::NameInfo& known) const {
    const auto& o = w_.shared().options;
    int64_t age = static_cast<int64_t>(time(nullptr)) - known.validated_at_unix;
    return o.immutable || origin_->immutable() ||
           (o.metadata_ttl.count() > 0 &&
            age * 1000 < static_cast<int64_t>(o.metadata_ttl.count()));
}

bool Exchange::serve_stale(const Status& why) {
    const auto& o = w_.shared().options;
    if (!known_ || o.stale_if_error.count() <= 0 || stale_) return false;
    int64_t age = static_cast<int64_t>(time(nullptr)) - known_->validated_at_unix;
    if (age * 1000 >= static_cast<int64_t>((o.metadata_ttl + o.stale_if_error).count()))
        return false;
    XS3_LOG_WARN("S3 cannot be asked; serving the cached copy stale", kv("key", key_),
                 kv("age_s", age), kv("error", why.to_string()));
    XS3_TRACE("cache.stale", trace::f("req", req_.trace_id), trace::f("age_s", age),
              trace::f("error", why.to_string()));
    stale_ = true;
    serve_from_cache(known_->key, known_->etag);
    return true;
}

// ---------------------------------------------------------------------------------------------
// Client HEAD, and revalidation of a known name: both are an S3 HEAD

bool Exchange::retry_later(s3::RetryState& state, const Status& status,
                           const s3::HttpResponseHead& head, const std::string& body,
                           std::function<void(Exchange&)> again) {
    s3::AttemptOutcome outcome;
    std::string code;
    if (!status.ok()) {
        outcome = s3::AttemptOutcome::failed(status);
    } else if (head.status >= 400) {
        auto err = s3::parse_error_xml(body);
        if (err) code = err->code;
        outcome = s3::AttemptOutcome::http(head.status, code);
    } else {
        state.on_success();
        return false;
    }
    s3::RetryDecision d = state.on_failure(outcome);
    if (!d.retry) return false;
    XS3_LOG_INFO("S3 request failed; retrying", kv("key", key_), kv("status", head.status),
                 kv("kind", std::string(s3::retry_kind_name(d.kind))),
                 kv("delay_ms", d.delay.count()),
                 kv("error", status.ok() ? std::string("-") : status.to_string()));
    // Rebuilt when the timer fires: a fresh SigV4 date and the latest credentials.
    w_.ring().add_timer(d.delay, if_alive(std::move(again)));
    return true;
}

void Exchange::call_origin(s3::HttpRequest request) {
    // The previous call (if any) may be on the stack: free it next turn.
    if (origin_call_) w_.ring().dispose_later(std::move(origin_call_));
    origin_call_ = std::make_unique<s3::SmallCall>(w_.curl());
    origin_call_->start(std::move(request),
                        [this](const Status& st, const s3::HttpResponseHead& h,
                               const std::string& body) { on_origin_head(st, h, body); });
}

void Exchange::start_head_request() {
    origin_again_ = [](Exchange& x) { x.start_head_request(); };
    call_origin(std::move(origin_->head(object_)).value());
}

void Exchange::revalidate(const cache::NameInfo& known) {
    origin_again_ = [known](Exchange& x) { x.revalidate(known); };
    // A store without ETags gets no If-None-Match: its 200 then says nothing is confirmed.
    std::vector<std::pair<std::string, std::string>> extra;
    if (!known.etag.empty()) extra.emplace_back("if-none-match", known.etag);
    call_origin(std::move(origin_->build("HEAD", object_, std::move(extra))).value());
}

void Exchange::on_origin_head(const Status& status, const s3::HttpResponseHead& head,
                              const std::string& body) {
    if (responded_) return;
    if (origin_again_ && retry_later(origin_retry_, status, head, body, origin_again_)) return;
    if (!status.ok()) {
        if (serve_stale(status)) return;
        respond_origin_error(0, "", status);
        return;
    }
    if (head.status >= 500 &&
        serve_stale(Status(Code::unavailable, "S3 answered " + std::to_string(head.status))))
        return;
    bool untagged = false;
    if (known_) {
        // An answer that keeps the ETag (a 304, or a 200 from a store that ignores If-None-Match)
        // confirms the cached copy.
        const std::string* etag = head.get("etag");
        bool same = head.status == 304 || (head.status == 200 && etag && *etag == known_->etag);
        // A store that sends no ETags: the cached copy's Last-Modified and size decide, once
        // its file is read (entry_usable).
        untagged = head.status == 200 && etag == nullptr && known_->etag.empty();
        XS3_TRACE("cache.revalidated", trace::f("req", req_.trace_id),
                  trace::f("status", head.status), trace::f("changed", !same));
        if (same) {
            w_.shared().index.mark_validated(name_, known_->etag, time(nullptr));
            cache::NameInfo known = *known_;
            serve_from_cache(known.key, known.etag);
            return;
        }
    }
    if (head.status != 200) {
        auto err = s3::parse_error_xml(body);
        std::string code = err ? err->code : std::string();
        if (head.status == 403 && code.empty() && !error_probed_) {
            // A HEAD answer has no body, so S3's reason (SignatureDoesNotMatch, AccessDenied,
            // ...) is unknown: ask once with a 1-byte GET, which has one.
            error_probed_ = true;
            auto probe = origin_->get(object_, std::make_pair(0, 0), "");
            if (probe.ok()) {
                origin_again_ = nullptr;  // a 403 is final; this only learns its code
                call_origin(std::move(probe).value());
                return;
            }
        }
        respond_origin_error(static_cast<int>(head.status), code, Status());
        return;
    }
    auto ext = s3::object_extent(head);
    if (!ext.ok()) {
        respond_error(502, "BadGateway", "S3 HEAD answer has no valid Content-Length");
        return;
    }
    // Size, metadata and cache key, computed once: a fill started from here takes them as they are.
    fetch::ObjectInfo info = fetch::describe_object(origin_->bucket(), object_, head, ext->size);
    size_ = info.size;
    meta_ = info.meta;
    info_known_ = true;
    if (!settle_range()) return;
    if (is_head_) {
        // S3 answered it (not cached, not fresh, or a part number): MISS, like a GET that asks S3.
        cache_status_ = "MISS";
        respond(object_head(cache_status_), nullptr);
        return;
    }
    // A changed object, or a name not known to be cached: its content key may be cached
    // (the same bytes under another name or from an earlier run); else fetch this version.
    cache::CacheKey key = info.key;
    head_info_ = std::move(info);
    if (known_ && !untagged) {
        // Changed at S3: the old copy must not be served again, from now on.
        w_.shared().index.invalidate(name_);
        known_.reset();
        XS3_LOG_INFO("the object changed since it was cached; fetching it again", kv("key", key_));
    }
    serve_from_cache(key, meta_.etag);
}

// ---------------------------------------------------------------------------------------------
// Hits

bool Exchange::entry_usable(const cache::Entry& entry, const cache::CacheKey& ck,
                            const std::string& etag) const {
    // A content key holds the same bytes whatever name or ETag stored them; a name key must hold
    // this very version.
    // Without ETags (some stores send none) what S3 said of Last-Modified and size decides.
    if (ck.content_addressed) return !info_known_ || entry.meta.size == size_;
    if (!etag.empty() || !info_known_) return entry.meta.etag == etag;
    return entry.meta.etag.empty() && entry.meta.size == size_ &&
           s3::same_version({entry.meta.etag, entry.meta.last_modified},
                            {etag, meta_.last_modified});
}

void Exchange::serve_from_cache(const cache::CacheKey& ck, std::string etag) {
    SharedState* shared = &w_.shared();
    // A small object hit lately may still be open: if it is the very file the index accounts for
    // (not one evicted or replaced since), serve it now, on the ring.
    if (auto held = shared->open_files.find(ck)) {
        auto info = shared->index.find(ck);
        if (info && info->inode == held->inode && entry_usable(*held, ck, etag)) {
            shared->counters.open_file_hits.fetch_add(1, std::memory_order_relaxed);
            on_lookup(std::move(held), ck, etag, /*keep_open=*/false);  // already kept
            return;
        }
        shared->open_files.drop(ck);
    }
    // The lookup blocks (open + header read): it runs on the pool and its answer comes back here.
    auto found = std::make_shared<Result<std::shared_ptr<const cache::Entry>>>(nullptr);
    auto deliver = if_alive(
        [found, ck, etag](Exchange& x) { x.on_lookup(std::move(*found), ck, etag, true); });
    Worker* w = &w_;
    shared->blocking.submit([shared, w, ck, found, deliver] {
        auto looked = shared->store.lookup(ck);
        if (!looked.ok())
            *found = looked.status();
        else if (looked.value().has_value())
            *found = std::make_shared<const cache::Entry>(std::move(*looked.value()));
        w->ring().post(deliver);
    });
}

void Exchange::on_lookup(Result<std::shared_ptr<const cache::Entry>> result,
                         const cache::CacheKey& ck, const std::string& etag, bool keep_open) {
    if (!result.ok())
        XS3_LOG_WARN("cache lookup failed", kv("key", key_),
                     kv("error", result.status().to_string()));
    SharedState& shared = w_.shared();
    cache::CacheIndex& index = shared.index;
    std::shared_ptr<const cache::Entry> entry = result.ok() ? result.value() : nullptr;
    if (entry && entry_usable(*entry, ck, etag)) {
        if (keep_open) shared.open_files.put(ck, entry);
        if (!info_known_) {
            // What the origin said of this name (if this request asked it) wins; else the
            // cached copy's metadata, with this name's ETag.
            meta_ = entry->meta;
            meta_.etag = etag;
            size_ = entry->meta.size;
            info_known_ = true;
        }
        index.touch(ck);
        if (!known_ || !(known_->key == ck)) {
            // S3 just said this name's bytes are the ones under ck (a content key another name
            // cached, or a name not catalogued yet): remember it.
            cache::NameInfo info;
            info.key = ck;
            info.etag = etag;
            info.size = size_;
            info.validated_at_unix = time(nullptr);
            index.bind_name(name_, info);
        }
        if (!settle_range()) return;
        w_.shared().counters.hits.fetch_add(1, std::memory_order_relaxed);
        cache_status_ = "HIT";
        if (multipart_) {
            auto pin = std::make_shared<cache::Pin>(index.pin(ck));
            auto part = [entry, pin](uint64_t first, uint64_t end) -> std::unique_ptr<Body> {
                return std::make_unique<FileBody>(entry, first, end);
            };
            respond(object_head("HIT"), std::make_unique<MultipartBody>(*multipart_, part));
            return;
        }
        respond(object_head("HIT"),
                std::make_unique<FileBody>(std::move(entry), first_, end_, index.pin(ck)));
        return;
    }
    if (result.ok()) {
        shared.open_files.drop(ck);
        index.forget(ck);  // no file (evicted, or broken and removed)
    }
    if (stale_) {
        respond_error(503, "ServiceUnavailable", "S3 cannot be reached and the copy is gone");
        return;
    }
    if (head_info_) {
        // A HEAD told size and metadata and nothing is cached: fetch this version.
        fetch::ObjectInfo info = std::move(*head_info_);
        head_info_.reset();
        join_fill(std::move(info));
        return;
    }
    // Evicted or replaced meanwhile: what we knew is stale; start over as a cold request (a
    // HEAD: as S3's HEAD; it never starts a download).
    known_.reset();
    info_known_ = false;
    if (is_head_) {
        start_head_request();
        return;
    }
    if (retried_) {
        start_passthrough();
        return;
    }
    retried_ = true;
    start_cold();
}

}  // namespace xs3::proxy
