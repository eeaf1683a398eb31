// Exchange: misses — a cold object through its Fill (the answer: read the download, serve from
// the cache, pass through, or the failure) — and passthrough.
#include <limits>

#include "xs3/base/log.hpp"
#include "xs3/base/trace.hpp"
#include "xs3/fleet/protocol.hpp"
#include "xs3/http/headers.hpp"
#include "xs3/proxy/exchange.hpp"
#include "xs3/proxy/multipart_body.hpp"
#include "xs3/proxy/stream_body.hpp"
#include "xs3/proxy/worker.hpp"
#include "xs3/s3/errors.hpp"
#include "xs3/s3/object_extent.hpp"

namespace xs3::proxy {
namespace {

// The first byte a Range asks for before the size is known: "a-b" and "a-" name it; a suffix
// ("-n"), several ranges or junk start the fetch at byte 0.
uint64_t first_byte_wanted(const std::string* range) {
    if (range == nullptr) return 0;
    auto r = http::parse_range(*range, std::numeric_limits<uint64_t>::max());
    if (r.kind != http::RangeKind::single) return 0;
    std::string_view v = http::trim_ows(*range);
    size_t eq = v.find('=');
    if (eq != std::string_view::npos && http::trim_ows(v.substr(eq + 1)).substr(0, 1) == "-")
        return 0;
    return r.first;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Misses

void Exchange::start_cold() {
    join_fill(std::nullopt);
}

void Exchange::join_fill(std::optional<fetch::ObjectInfo> known) {
    // With what a HEAD said the response's range is settled; else the Range's first byte, if any.
    uint64_t first = known ? first_ : first_byte_wanted(range_header_);
    std::weak_ptr<Exchange> weak = weak_from_this();
    // A peer's request is served from here and S3, never from another peer (no loops).
    fill_ = w_.shared().fills.join(
        fetch::FillRequest{
            origin_, object_, first, std::move(known), {&w_.ring(), &w_.curl()}, !peer_request_},
        [weak](fetch::FillAnswer answer) {
            if (auto x = weak.lock(); x && !x->responded_) x->on_fill_answer(std::move(answer));
        });
}

void Exchange::on_fill_answer(fetch::FillAnswer a) {
    fill_.reset();
    using Kind = fetch::FillAnswer::Kind;
    if (a.kind == Kind::failed) {
        on_fill_failed(a);
        return;
    }
    if (a.info_known) {
        size_ = a.info.size;
        meta_ = std::move(a.info.meta);
        info_known_ = true;
    }
    if (a.kind == Kind::cached) {
        // Without the object's info (a fill published it since this request looked) the ETag
        // the index holds for the name picks the copy.
        serve_from_cache(a.info.key, info_known_ ? meta_.etag : a.info.meta.etag);
        return;
    }
    if (a.kind == Kind::passthrough) {
        w_.shared().counters.misses.fetch_add(1, std::memory_order_relaxed);
        start_passthrough();
        return;
    }
    if (!settle_range()) return;
    // The answer goes out as soon as size and metadata are known, before the temp file exists:
    // if the cache then cannot take the object, the body switches to the origin (DownloadBody).
    // A request that joins a download holding every byte of the object (it is being verified or
    // published), or of its answer, is served like a hit; the one that started it is a miss.
    fetch::Download& dl = *a.download;
    const Code why = dl.failure().code();
    if (dl.state() == fetch::Download::State::failed && why != Code::io_error &&
        why != Code::no_space && (first_ >= end_ || dl.available_from(first_) < end_ - first_)) {
        // The download failed after this answer was made (it travels to this ring as a task):
        // its body would fail at its first look, before any byte of the response went out.
        // Answer the failure as S3 would (503 SlowDown after an ETag change, 502/504 after the
        // origin failed), as a request joining later gets it. A failure of the cache itself
        // (io_error, no_space) is not one: DownloadBody takes the rest from the origin.
        fetch::FillAnswer failed;
        failed.kind = Kind::failed;
        failed.info_known = info_known_;
        failed.size_known = info_known_;
        failed.info.size = size_;
        failed.failure = dl.failure();
        failed.refusal_status = dl.refusal_status();
        failed.refusal_code = dl.refusal_code();
        failed.fetched_any = dl.bytes_fetched() > 0;
        on_fill_failed(failed);
        return;
    }
    XS3_TRACE("req.download", trace::f("req", req_.trace_id), trace::f("dl", dl.trace_id()),
              trace::f("created", a.started), trace::f("first", first_));
    bool all_there = first_ < end_ && dl.available_from(first_) >= end_ - first_;
    bool hit = !a.started && (a.complete || dl.all_on_file() || all_there);
    cache_status_ = hit ? "HIT" : a.from_peer ? fleet::kPeerCacheStatus.data() : "MISS";
    (hit ? w_.shared().counters.hits : w_.shared().counters.misses)
        .fetch_add(1, std::memory_order_relaxed);
    respond(object_head(cache_status_), download_body(std::move(a.download)));
}

std::unique_ptr<Body> Exchange::download_body(std::shared_ptr<fetch::Download> dl) {
    // If the cache fails under the download (a full disk), the rest of this response comes
    // straight from the origin: the same version (If-Match), from where the file stopped.
    Worker* w = &w_;
    const s3::BucketClient* origin = origin_;
    s3::ObjectId id = object_;
    std::string key = key_;
    std::string etag = meta_.etag;
    s3::ObjectVersion version{meta_.etag, meta_.last_modified};
    uint64_t size = size_;
    DownloadBody::Fallback fallback = [w, origin, id, key, etag, version, size](uint64_t first,
                                                                                uint64_t end) {
        std::unique_ptr<StreamBody> sb;
        auto req = origin->get(id, std::make_pair(first, end - 1), s3::if_match_value(etag));
        if (!req.ok()) return sb;
        sb = std::make_unique<StreamBody>(w->ring(), w->curl());
        StreamBody* raw = sb.get();
        uint64_t want = end - first;
        XS3_LOG_WARN("the cache failed under a download; the rest comes from the origin",
                     kv("key", key), kv("from", first), kv("bytes", want));
        sb->start(
            std::move(req).value(),
            [raw, want, first, version, size](const s3::HttpResponseHead& h) {
                // Exactly the bytes asked for, of this version (taken from the whole object if
                // the store ignored Range), or the body fails (never wrong bytes).
                auto a = s3::read_range_answer({first, want, size}, h, &version);
                if (a.kind == s3::RangeAnswer::Kind::bytes && a.take == want)
                    raw->accept(want, a.extent.whole, a.skip);
            },
            [key](const Status& st, const s3::HttpResponseHead& h, const std::string&) {
                XS3_LOG_WARN("the origin GET for the rest failed", kv("key", key),
                             kv("status", h.status), kv("error", st.to_string()));
            });
        return sb;
    };
    if (multipart_) {
        // Each part reads the download as its bytes arrive, with the same fallback.
        ring::Ring* ring = &w_.ring();
        uint64_t trace_id = req_.trace_id;
        auto part = [ring, dl, fallback, trace_id](uint64_t first,
                                                   uint64_t end) -> std::unique_ptr<Body> {
            return std::make_unique<DownloadBody>(*ring, dl, first, end, fallback, trace_id);
        };
        return std::make_unique<MultipartBody>(*multipart_, part);
    }
    return std::make_unique<DownloadBody>(w_.ring(), std::move(dl), first_, end_,
                                          std::move(fallback), req_.trace_id);
}

void Exchange::on_fill_failed(const fetch::FillAnswer& a) {
    if (a.size_known) {
        size_ = a.info.size;
        info_known_ = true;
    }
    if (a.refusal_status == 416 && !info_known_ && !retried_) {
        // The store's 416 did not say the object's size: a HEAD does, then the object is
        // fetched (or this request answered 416) knowing it.
        retried_ = true;
        start_head_request();
        return;
    }
    if (a.refusal_status == 416 && info_known_ && !retried_ && range_header_ != nullptr) {
        // The fill's first chunk was beyond the end; is this request's range satisfiable?
        range_ = http::parse_range(*range_header_, size_);
        if (range_.kind != http::RangeKind::unsatisfiable) {
            retried_ = true;
            start_cold();
            return;
        }
    }
    if (a.refusal_status != 0) {
        respond_origin_error(a.refusal_status, a.refusal_code, Status());
        return;
    }
    Code why = a.failure.code();
    if ((why == Code::io_error || why == Code::no_space) && !a.fetched_any) {
        XS3_LOG_WARN("cache unavailable for this object; passthrough", kv("key", key_),
                     kv("why", a.failure.to_string()));
        start_passthrough();
        return;
    }
    respond_origin_error(0, "", a.failure);
}

// ---------------------------------------------------------------------------------------------
// Passthrough

void Exchange::start_passthrough() {
    SharedState& shared = w_.shared();
    if (cache_status_[0] != 'P') shared.counters.passes.fetch_add(1, std::memory_order_relaxed);
    cache_status_ = "PASS";
    std::optional<std::pair<uint64_t, uint64_t>> range;
    std::string if_match;
    std::string raw_range;
    if (info_known_) {
        if (!settle_range(/*multipart_ok=*/false)) return;
        if (size_ == 0 || first_ == end_) {
            respond(object_head("PASS"), nullptr);
            return;
        }
        if (range_.kind == http::RangeKind::single) range = std::make_pair(first_, end_ - 1);
        if_match = s3::if_match_value(meta_.etag);
    } else if (range_header_ != nullptr) {
        // Nothing known yet: forward a single range as asked; S3 resolves suffixes and ends.
        auto r = http::parse_range(*range_header_, std::numeric_limits<uint64_t>::max());
        if (r.kind == http::RangeKind::single || r.kind == http::RangeKind::unsatisfiable)
            raw_range = std::string(http::trim_ows(*range_header_));
    }
    auto get_req = raw_range.empty() ? origin_->get(object_, range, if_match)
                                     : origin_->build("GET", object_, {{"range", raw_range}});
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

void Exchange::on_passthrough_head(const s3::HttpResponseHead& head) {
    auto ext = s3::object_extent(head);
    if (!ext.ok()) {
        // Dropping the body cancels the transfer.
        w_.ring().dispose_later(std::move(passthrough_));
        respond_error(502, "BadGateway", "S3 answered without a usable size");
        return;
    }
    uint64_t skip = 0;
    bool whole = false;
    if (info_known_) {
        // The GET asked for exactly first_..end_ of this version (a store that ignores Range
        // answers with the whole object: the bytes are taken from it).
        s3::ObjectVersion version{meta_.etag, meta_.last_modified};
        auto a = s3::read_range_answer({first_, end_ - first_, size_}, head, &version);
        if (a.kind == s3::RangeAnswer::Kind::other_version) {
            w_.ring().dispose_later(std::move(passthrough_));
            respond_origin_error(412, "PreconditionFailed", Status());
            return;
        }
        if (a.kind != s3::RangeAnswer::Kind::bytes || a.take != end_ - first_) {
            w_.ring().dispose_later(std::move(passthrough_));
            respond_error(502, "BadGateway", "S3 answered a different range than asked");
            return;
        }
        whole = a.extent.whole;
        skip = a.skip;
    } else {
        size_ = ext->size;
        meta_ = fetch::object_meta(origin_->bucket(), object_, head, size_);
        info_known_ = true;
        if (ext->empty()) {
            // However the store said it (s3rver's 206 "bytes 0-0/0"): S3's answer for an
            // empty object, a 416 to any range.
            w_.ring().dispose_later(std::move(passthrough_));
            if (settle_range()) respond(object_head("PASS"), nullptr);
            return;
        }
        first_ = ext->first;
        end_ = ext->first + ext->length;
        if (head.status == 206) {
            range_.kind = http::RangeKind::single;
            range_.first = first_;
            range_.last = end_ - 1;
        } else {
            range_.kind = http::RangeKind::none;
        }
    }
    passthrough_->accept(end_ - first_, whole, skip);
    respond(object_head("PASS"), std::move(passthrough_));
}

void Exchange::on_passthrough_failed(const Status& status, const s3::HttpResponseHead& head,
                                     const std::string& body) {
    // The handler is on its own stack: free it next turn.
    w_.ring().dispose_later(std::move(passthrough_));
    if (retry_later(pass_retry_, status, head, body, [](Exchange& x) { x.start_passthrough(); }))
        return;
    if (head.status == 0) {
        respond_origin_error(0, "", status);
        return;
    }
    if (head.status == 416 && !info_known_) {
        auto ext = s3::object_extent(head, body);
        if (ext.ok()) {
            size_ = ext->size;
            info_known_ = true;
        }
    }
    auto err = s3::parse_error_xml(body);
    respond_origin_error(static_cast<int>(head.status), err ? err->code : std::string(), status);
}

}  // namespace xs3::proxy
