// The request record: histograms, trace events and the access-log line.
#include "xs3/proxy/access_log.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "xs3/base/histogram.hpp"
#include "xs3/base/log.hpp"
#include "xs3/base/trace.hpp"

namespace xs3::proxy {
namespace {

// x-cache values as label indices; the last is an answer without one (errors, /healthz).
constexpr const char* kCacheLabels[] = {"HIT", "MISS", "PASS", "STALE", "none"};
constexpr int kCacheLabelCount = 5;
constexpr int kNoCache = 4;

int x_cache_index(const std::string* v) noexcept {
    if (v == nullptr) return kNoCache;
    for (int i = 0; i < kNoCache; ++i)
        if (*v == kCacheLabels[i]) return i;
    return kNoCache;
}

int proto_index(const char* proto) noexcept {
    return proto[1] == '2' ? 1 : 0;  // "h1", "h2"
}

// Series resolved once, so observing is an index and the histogram's own counting.
struct RequestHistograms {
    HistogramFamily duration{"xs3_request_duration_seconds",
                             "Time from a request's head to the end of its answer",
                             {"cache", "proto"},
                             latency_bounds_us()};
    HistogramFamily ttfb{"xs3_request_ttfb_seconds",
                         "Time from a request's head to its response head (time to first byte)",
                         {"cache", "proto"},
                         latency_bounds_us()};
    Histogram* duration_of[kCacheLabelCount][2];
    Histogram* ttfb_of[kCacheLabelCount][2];

    RequestHistograms() {
        for (int c = 0; c < kCacheLabelCount; ++c)
            for (int p = 0; p < 2; ++p) {
                std::vector<std::string> labels{kCacheLabels[c], p == 0 ? "h1" : "h2"};
                duration_of[c][p] = &duration.series(labels);
                ttfb_of[c][p] = &ttfb.series(labels);
            }
    }
};

RequestHistograms& histograms() {
    static RequestHistograms* h = new RequestHistograms();  // lives as long as /metrics may ask
    return *h;
}

// Made at start-up, so /metrics lists the families (zeroes) before the first request.
[[maybe_unused]] const bool g_registered = (histograms(), true);

}  // namespace

std::string peer_address(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "-";
    char host[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
    }
    if (ss.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
    }
    return "-";
}

void AccessRecord::begin(http::Request& req, bool log_line, const char* protocol, uint64_t conn,
                         int32_t stream) {
    active = true;
    log = log_line;
    proto = protocol;
    start = std::chrono::steady_clock::now();
    const std::string* r = req.headers.get("Range");
    if (log) {
        method = req.method_name;
        target = req.target;
        range = r ? *r : std::string();
    }
    status = 0;
    cache = "";
    request_id.clear();
    x_cache = kNoCache;
    sent_at_start = sent = 0;
    trace_id = 0;
    if (trace::enabled()) {
        trace_id = req.trace_id = trace::next_id();
        std::string_view no_range;
        trace::emit("req.recv", trace::f("req", trace_id), trace::f("conn", conn),
                    trace::f("stream", stream), trace::f("proto", protocol),
                    trace::f("method", req.method_name), trace::f("target", req.target),
                    trace::f("range", r ? std::string_view(*r) : no_range));
    }
}

void AccessRecord::answered(const http::ResponseHead& head, const char* cache_status) {
    if (!active) return;
    status = head.status;
    cache = cache_status;
    x_cache = x_cache_index(head.headers.get("x-cache"));
    const std::string* id = head.headers.get("x-amz-request-id");
    if (log || trace_id != 0) request_id = id ? *id : std::string();
    auto ttfb = std::chrono::steady_clock::now() - start;
    histograms().ttfb_of[x_cache][proto_index(proto)]->observe(ttfb);
    XS3_TRACE(
        "req.answer", trace::f("req", trace_id), trace::f("status", status),
        trace::f("cache", kCacheLabels[x_cache]),
        trace::f("ttfb_us", std::chrono::duration_cast<std::chrono::microseconds>(ttfb).count()),
        trace::f("request_id", request_id));
}

void end_request(AccessRecord& record, const std::string& client, std::string_view outcome) {
    if (!record.active) return;
    record.active = false;
    auto took = std::chrono::steady_clock::now() - record.start;
    if (record.status != 0)
        histograms().duration_of[record.x_cache][proto_index(record.proto)]->observe(took);
    XS3_TRACE(
        "req.done", trace::f("req", record.trace_id), trace::f("status", record.status),
        trace::f("cache", kCacheLabels[record.x_cache]), trace::f("bytes", record.sent),
        trace::f("outcome", outcome),
        trace::f("dur_us", std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
    if (!record.log) return;
    double ms = std::chrono::duration<double, std::milli>(took).count();
    char ms_text[32];
    std::snprintf(ms_text, sizeof ms_text, "%.2f", ms);
    log_write(LogLevel::info, "access", kv("proto", record.proto),
              kv("client", client.empty() ? std::string("-") : client),
              kv("method", record.method.empty() ? std::string("-") : record.method),
              kv("target", record.target.empty() ? std::string("-") : record.target),
              kv("range", record.range.empty() ? std::string("-") : record.range),
              kv("status", record.status), kv("cache", *record.cache ? record.cache : "-"),
              kv("sent", record.sent), kv("ms", std::string(ms_text)),
              kv("outcome", std::string(outcome)),
              kv("request_id", record.request_id.empty() ? std::string("-") : record.request_id));
}

}  // namespace xs3::proxy
