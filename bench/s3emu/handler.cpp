// Request routing and S3 semantics of the emulator.
#include "handler.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <ctime>
#include <thread>

#include "xs3/http/headers.hpp"
#include "xs3/http/range.hpp"
#include "xs3/s3/errors.hpp"

namespace xs3::s3emu {

namespace {

using xs3::s3::xml_escape;

bool is_ip_literal(std::string_view host) {
    std::string h(host);
    in_addr a4;
    in6_addr a6;
    return inet_pton(AF_INET, h.c_str(), &a4) == 1 || inet_pton(AF_INET6, h.c_str(), &a6) == 1;
}

// Host without port (and without IPv6 brackets).
std::string_view host_name(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        size_t close = host.find(']');
        return host.substr(1, close == std::string_view::npos ? host.size() - 1 : close - 1);
    }
    size_t colon = host.rfind(':');
    return colon == std::string_view::npos ? host : host.substr(0, colon);
}

// True if an entity tag list (If-Match / If-None-Match) names `etag`. Weak comparison is used for
// If-None-Match per RFC 9110; our ETags are all strong so "W/" is just stripped there.
bool etag_list_matches(std::string_view list, std::string_view etag, bool weak) {
    list = http::trim_ows(list);
    if (list == "*") return true;
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = http::trim_ows(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (weak && item.size() > 2 && item.substr(0, 2) == "W/") item.remove_prefix(2);
        if (item == etag) return true;
        // Be lenient like S3: an unquoted tag matches too.
        if (etag.size() >= 2 && item == etag.substr(1, etag.size() - 2)) return true;
    }
    return false;
}

StatMethod stat_method(const http::Request& req) {
    if (req.method == http::Method::get) return StatMethod::get;
    if (req.method == http::Method::head) return StatMethod::head;
    return StatMethod::other;
}

}  // namespace

Status enable_quirk(Quirks& q, std::string_view name) {
    if (name == "range-ignored")
        q.range_ignored = true;
    else if (name == "empty-range-206")
        q.empty_range_206 = true;
    else if (name == "empty-range-200")
        q.empty_range_200 = true;
    else if (name == "bare-416")
        q.bare_416 = true;
    else if (name == "weak-etag")
        q.weak_etag = true;
    else if (name == "no-etag")
        q.no_etag = true;
    else if (name == "if-match-ignored")
        q.if_match_ignored = true;
    else
        return Status(Code::invalid_argument,
                      "unknown quirk " + std::string(name) +
                          " (range-ignored, empty-range-206, empty-range-200, bare-416, "
                          "weak-etag, no-etag, if-match-ignored)");
    return {};
}

void S3Handler::common_headers(http::ResponseHead& head) {
    char id[40];
    std::snprintf(id, sizeof id, "%016llX",
                  static_cast<unsigned long long>(mix64(
                      ++request_seq_ ^ std::hash<std::thread::id>{}(std::this_thread::get_id()))));
    head.headers.add("x-amz-request-id", id);
    head.headers.add("Date", dates_.now());
    head.headers.add("Server", "AmazonS3");
}

Reply S3Handler::error(int status, std::string_view code, std::string_view message,
                       std::string_view resource, bool head_only, std::string_view extra) {
    Reply r;
    r.head.status = status;
    common_headers(r.head);
    r.text_body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + std::string(code) +
                  "</Code><Message>" + xml_escape(message) + "</Message>" + std::string(extra) +
                  "<Resource>" + xml_escape(resource) + "</Resource><RequestId>" +
                  *r.head.headers.get("x-amz-request-id") + "</RequestId></Error>";
    r.head.headers.add("Content-Type", "application/xml");
    r.head.headers.add("Content-Length", std::to_string(r.text_body.size()));
    r.send_body = !head_only;
    return r;
}

Reply S3Handler::handle(const http::Request& req, bool over_connection_limit) {
    const bool is_head = req.method == http::Method::head;
    auto decoded = http::percent_decode(req.path);
    std::string path = decoded ? *decoded : req.path;

    // Control endpoints; never counted, never delayed, never faulted.
    if (path == "/__stats" || path == "/__stats/reset") {
        Reply r;
        r.is_s3 = false;
        common_headers(r.head);
        if (path == "/__stats/reset" && req.method_name == "POST") {
            stats_.reset(catalog_, faults_);
            r.text_body = "{\"reset\": true}\n";
        } else if (path == "/__stats" && (req.method == http::Method::get || is_head)) {
            r.text_body = stats_.to_json(catalog_, faults_);
        } else {
            r.head.status = 405;
            r.text_body = "{\"error\": \"method not allowed\"}\n";
        }
        r.head.headers.add("Content-Type", "application/json");
        r.head.headers.add("Content-Length", std::to_string(r.text_body.size()));
        r.head.headers.add("Cache-Control", "no-store");
        r.send_body = !is_head;
        r.close = !req.keep_alive;
        return r;
    }

    Reply r = [&]() -> Reply {
        // Bucket: virtual-host style when the Host's first label is a known bucket.
        std::string bucket, key;
        const std::string* host = req.headers.get("Host");
        std::string_view hn = host ? host_name(*host) : std::string_view{};
        size_t dot = hn.find('.');
        if (host && dot != std::string_view::npos && !is_ip_literal(hn)) {
            std::string label(hn.substr(0, dot));
            for (auto& b : options_.buckets)
                if (b == label) bucket = label;
        }
        if (!bucket.empty()) {
            key = path.size() > 1 ? path.substr(1) : "";
        } else {
            std::string_view p = path;
            if (!p.empty() && p.front() == '/') p.remove_prefix(1);
            size_t slash = p.find('/');
            bucket = std::string(p.substr(0, slash));
            key = slash == std::string_view::npos ? "" : std::string(p.substr(slash + 1));
            bool known = false;
            for (auto& b : options_.buckets)
                known = known || b == bucket;
            if (!known)
                return error(404, "NoSuchBucket", "The specified bucket does not exist",
                             "/" + bucket, is_head,
                             "<BucketName>" + xml_escape(bucket) + "</BucketName>");
        }
        std::string resource = "/" + bucket + "/" + key;
        if (req.method != http::Method::get && !is_head)
            return error(501, "NotImplemented",
                         "A header you provided implies functionality that is not implemented",
                         resource, false);
        if (key.empty())
            return error(501, "NotImplemented", "Bucket operations are not emulated", resource,
                         is_head);
        if (over_connection_limit)
            return error(503, "SlowDown", "Please reduce your request rate.", resource, is_head);

        Object* obj = catalog_.find(key);
        FaultDecision d = faults_.decide(key, is_head);
        if (!d.request_rules.empty()) {
            // Faults aimed at an offset fire on the GET asking for it: its Range, else all bytes.
            uint64_t start = 0, len = obj ? obj->size() : 0;
            const std::string* rh = req.headers.get("Range");
            if (obj && rh) {
                http::RangeResult range = http::parse_range(*rh, obj->size());
                if (range.kind == http::RangeKind::single) {
                    start = range.first;
                    len = range.length();
                } else if (range.kind == http::RangeKind::unsatisfiable) {
                    len = 0;
                }
            }
            faults_.resolve_request(d, start, len);
        }
        if (obj && d.etag_change) {
            uint64_t g = obj->bump_generation();
            if (obj->spec().sha224) catalog_.request_sha224(*obj, g);
        }
        if (d.error_status == 503)
            return error(503, "SlowDown", "Please reduce your request rate.", resource, is_head);
        if (d.error_status == 500)
            return error(500, "InternalError",
                         "We encountered an internal error. Please try again.", resource, is_head);
        if (!obj)
            return error(404, "NoSuchKey", "The specified key does not exist.", resource, is_head,
                         "<Key>" + xml_escape(key) + "</Key>");
        if (is_head)
            obj->counters().head.fetch_add(1, std::memory_order_relaxed);
        else
            obj->counters().get.fetch_add(1, std::memory_order_relaxed);
        return object_reply(req, *obj, obj->generation(), std::move(d), is_head, resource);
    }();
    if (!req.keep_alive || over_connection_limit) r.close = true;
    stats_.record_response(stat_method(req), r.head.status);
    return r;
}

Reply S3Handler::object_reply(const http::Request& req, Object& obj, uint64_t gen,
                              FaultDecision faults, bool is_head, const std::string& resource) {
    const Quirks& quirks = options_.quirks;
    const std::string etag = quirks.weak_etag ? "W/" + obj.etag(gen) : obj.etag(gen);
    const std::time_t mtime = obj.last_modified(gen);

    // Conditionals in RFC 9110 13.2.2 order.
    const std::string* if_match = quirks.if_match_ignored ? nullptr : req.headers.get("If-Match");
    if (if_match != nullptr) {
        // A weak tag never matches If-Match (strong comparison), whatever was sent.
        bool matches = quirks.weak_etag ? http::trim_ows(*if_match) == "*"
                                        : etag_list_matches(*if_match, etag, false);
        if (!matches)
            return error(412, "PreconditionFailed",
                         "At least one of the pre-conditions you specified did not hold", resource,
                         is_head, "<Condition>If-Match</Condition>");
    } else if (const std::string* ius = req.headers.get("If-Unmodified-Since")) {
        auto t = http::parse_http_date(*ius);
        if (t && mtime > *t)
            return error(412, "PreconditionFailed",
                         "At least one of the pre-conditions you specified did not hold", resource,
                         is_head, "<Condition>If-Unmodified-Since</Condition>");
    }
    bool not_modified = false;
    if (const std::string* inm = req.headers.get("If-None-Match")) {
        not_modified = etag_list_matches(*inm, obj.etag(gen), true);  // weak: W/ on neither side
    } else if (const std::string* ims = req.headers.get("If-Modified-Since")) {
        auto t = http::parse_http_date(*ims);
        not_modified = t && mtime <= *t;
    }

    Reply r;
    r.object = &obj;
    r.generation = gen;
    common_headers(r.head);
    if (!quirks.no_etag) r.head.headers.add("ETag", etag);
    r.head.headers.add("Last-Modified", http::format_http_date(mtime));
    if (not_modified) {
        r.head.status = 304;
        r.object = nullptr;
        return r;
    }

    http::RangeResult range;
    if (const std::string* rh = req.headers.get("Range")) {
        range = http::parse_range(*rh, obj.size());
        // If-Range with a stale validator: the whole object instead of the part.
        if (const std::string* ir = req.headers.get("If-Range")) {
            if (range.kind != http::RangeKind::none && *ir != etag &&
                !(http::parse_http_date(*ir) == std::optional<time_t>(mtime)))
                range.kind = http::RangeKind::none;
        }
    }
    if (quirks.range_ignored) range.kind = http::RangeKind::none;
    bool empty_206 = false;
    if (range.kind == http::RangeKind::unsatisfiable && obj.size() == 0) {
        if (quirks.empty_range_200) range.kind = http::RangeKind::none;
        if (quirks.empty_range_206) empty_206 = true;
    }
    if (range.kind == http::RangeKind::unsatisfiable && !empty_206) {
        if (quirks.bare_416)
            return error(416, "InvalidRange", "The requested range is not satisfiable", resource,
                         is_head);
        Reply e =
            error(416, "InvalidRange", "The requested range is not satisfiable", resource, is_head,
                  "<RangeRequested>" + xml_escape(*req.headers.get("Range")) +
                      "</RangeRequested><ActualObjectSize>" + std::to_string(obj.size()) +
                      "</ActualObjectSize>");
        e.head.headers.add("Content-Range", http::unsatisfied_content_range(obj.size()));
        return e;
    }
    r.head.headers.add("Accept-Ranges", "bytes");
    r.head.headers.add("Content-Type", obj.spec().content_type);
    if (empty_206) {
        r.head.status = 206;
        r.body_start = 0;
        r.body_len = 0;
        r.head.headers.add("Content-Range", "bytes 0-0/0");
    } else if (range.kind == http::RangeKind::single) {
        r.head.status = 206;
        r.body_start = range.first;
        r.body_len = range.length();
        r.head.headers.add("Content-Range",
                           http::content_range_value(range.first, range.last, obj.size()));
        stats_.add_ranged();
        obj.counters().ranged.fetch_add(1, std::memory_order_relaxed);
    } else {
        r.head.status = 200;
        r.body_start = 0;
        r.body_len = obj.size();
    }
    r.head.headers.add("Content-Length", std::to_string(r.body_len));
    r.send_body = !is_head;
    if (obj.spec().sha224) {
        r.needs_sha224 = true;
        add_sha224(r);
    }
    r.faults = std::move(faults);
    if (!is_head) faults_.resolve_body(r.faults, r.body_start, r.body_len);
    return r;
}

bool S3Handler::add_sha224(Reply& reply) const {
    if (!reply.needs_sha224) return true;
    auto digest = reply.object->sha224(reply.generation);
    if (!digest) {
        catalog_.request_sha224(*reply.object, reply.generation);
        return false;
    }
    reply.head.headers.add("x-amz-meta-sha224", *digest);
    reply.needs_sha224 = false;
    return true;
}

}  // namespace xs3::s3emu
