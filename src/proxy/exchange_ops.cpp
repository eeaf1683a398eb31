// Exchange: the S3 operations other than GetObject and HeadObject — refusals with S3's own
// errors, ListBuckets from the configuration, and relayed read-only operations.
#include <ctime>

#include "xs3/base/ascii.hpp"
#include "xs3/base/log.hpp"
#include "xs3/proxy/exchange.hpp"
#include "xs3/proxy/relay.hpp"
#include "xs3/proxy/worker.hpp"
#include "xs3/s3/errors.hpp"

namespace xs3::proxy {
namespace {

// ListBuckets needs a creation date per bucket; the proxy does not know S3's, so it says when it
// started serving them.
std::string iso8601(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    return buf;
}

const std::string kStartedAt = iso8601(std::time(nullptr));

std::string_view resource_type(const s3::S3Operation& op) {
    if (!op.key.empty()) return "OBJECT";
    return op.bucket.empty() ? "SERVICE" : "BUCKET";
}

const std::string* query_value(const s3::S3Operation& op, std::string_view name) {
    for (const auto& [n, v] : op.relay_query)
        if (n == name) return &v;
    return nullptr;
}

}  // namespace

void Exchange::respond_refusal() {
    XS3_LOG_DEBUG("request refused", kv("method", req_.method_name), kv("path", op_.resource),
                  kv("status", op_.status), kv("code", op_.error_code));
    if (op_.op == s3::Operation::write) {
        respond_error(
            405, "MethodNotAllowed", op_.message, {{"Allow", "GET, HEAD"}},
            {{"Method", req_.method_name}, {"ResourceType", std::string(resource_type(op_))}});
        return;
    }
    respond_error(op_.status, op_.error_code, op_.message);
}

void Exchange::respond_list_buckets() {
    std::vector<s3::BucketListing> buckets;
    for (const auto& o : w_.shared().origins)
        if (client_ == nullptr || client_->may_read(o->bucket()))  // a key sees its buckets
            buckets.push_back({o->bucket(), o->region()});
    const std::string* prefix = query_value(op_, "prefix");
    const std::string* max = query_value(op_, "max-buckets");
    const std::string* token = query_value(op_, "continuation-token");
    const std::string* region = query_value(op_, "bucket-region");
    if (region != nullptr)
        std::erase_if(buckets, [region](const auto& b) { return b.region != *region; });
    std::string xml = s3::render_list_buckets_xml(buckets, prefix ? *prefix : std::string_view(),
                                                  max ? static_cast<uint32_t>(std::stoul(*max)) : 0,
                                                  token ? *token : std::string_view(), kStartedAt);
    respond_simple(200, "application/xml", std::move(xml));
}

void Exchange::start_relay() {
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& f : req_.headers) {
        std::string name = ascii_lowercase(f.name);
        if (s3::relayed_request_header(op_.op, name)) headers.emplace_back(name, f.value);
    }
    auto built = origin_->build_request(req_.method_name.c_str(), op_.key, op_.relay_query,
                                        std::move(headers));
    if (!built.ok()) {
        respond_error(400, "InvalidURI", built.status().message());
        return;
    }
    if (relay_) w_.ring().dispose_later(std::move(relay_));
    relay_ = std::make_unique<RelayBody>(w_.ring(), w_.curl());
    relay_->start(std::move(built).value(), [this] { on_relay_ready(); });
}

void Exchange::on_relay_ready() {
    RelayBody& relay = *relay_;
    const s3::HttpResponseHead& head = relay.head();
    cache_status_ = "PASS";
    if (relay.streaming()) {
        http::ResponseHead out = relayed_head(head, relay.length());
        out.headers.add("x-cache", "PASS");
        respond(std::move(out), std::move(relay_));
        return;
    }
    // Collected (or failed): the relay is on its own stack; free it next turn.
    std::unique_ptr<RelayBody> done = std::move(relay_);
    w_.ring().dispose_later(std::move(done));
    std::string body = relay.take_collected();
    Status failed = relay.failure();
    if (retry_later(relay_retry_, failed, head, body, [](Exchange& x) { x.start_relay(); })) return;
    if (!failed.ok() && (head.status == 0 || (head.status >= 200 && head.status < 300))) {
        // Nothing usable came back (a transport failure, or an answer over the bound).
        XS3_LOG_WARN("relayed S3 request failed",
                     kv("operation", std::string(s3::operation_name(op_.op))),
                     kv("bucket", op_.bucket), kv("error", failed.to_string()));
        if (failed.code() == Code::timeout)
            respond_error(504, "GatewayTimeout", "S3 did not answer in time");
        else
            respond_error(502, "BadGateway", "S3 could not be reached");
        return;
    }
    if (head.status >= 300) {
        // S3's error, with S3's code and message, under this proxy's request id.
        auto err = s3::parse_error_xml(body);
        std::string code = err ? err->code : std::string(s3::s3_error_for_status(head.status));
        std::string message = err ? err->message : std::string(s3::default_error_message(code));
        std::vector<s3::ErrorDetail> details;
        if (const std::string* region = head.get("x-amz-bucket-region"))
            details.emplace_back("Region", *region);
        respond_error(static_cast<int>(head.status), code, message, {}, std::move(details));
        return;
    }
    http::ResponseHead out = relayed_head(head, body.size());
    out.headers.add("x-cache", "PASS");
    if (is_head_) {
        // A HEAD answer has no body: its length is S3's.
        const std::string* cl = head.get("content-length");
        out.headers.set("Content-Length", cl ? *cl : std::string("0"));
        respond(std::move(out), nullptr);
        return;
    }
    respond(std::move(out), std::make_unique<MemoryBody>(std::move(body)));
}

}  // namespace xs3::proxy
