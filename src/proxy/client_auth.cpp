// Client checks: --allow-clients at accept, [[clients]] SigV4 per request.
#include "xs3/proxy/client_auth.hpp"

#include <sys/socket.h>

#include <chrono>
#include <vector>

#include "xs3/base/log.hpp"

namespace xs3::proxy {
namespace {

// Once a second at most, across all workers; the lines in between are counted, not lost.
std::atomic<int64_t> g_last_log_s{0};
std::atomic<uint64_t> g_unlogged{0};

}  // namespace

ClientVerdict check_request(const s3::SigV4Verifier& verifier, const http::Request& request,
                            std::time_t now) {
    std::vector<s3::FieldView> fields;
    fields.reserve(request.headers.size());
    for (const auto& f : request.headers)
        fields.emplace_back(f.name, f.value);
    s3::ReceivedRequest received{request.method_name, request.path, request.query, fields, now};
    s3::VerifyResult r = verifier.verify(received);
    ClientVerdict v;
    if (r.ok()) {
        v.client = r.client;
        return v;
    }
    // Debug only: every refused request would otherwise be a log line anyone can cause. The
    // key id is what the client sent (S3 echoes it too); no secret is known to this code path.
    std::string key_id;
    for (const auto& [name, value] : r.error.details)
        if (name == "AWSAccessKeyId") key_id = value;
    XS3_LOG_DEBUG("request refused by the client check", kv("code", r.error.code),
                  kv("status", r.error.status), kv("presigned", r.presigned),
                  kv("access_key_id", key_id), kv("message", r.error.message));
    v.refusal = std::move(r.error);
    return v;
}

bool admit_connection(int fd, const net::CidrSet& allowed, std::atomic<uint64_t>& refused) {
    if (allowed.empty()) return true;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    net::Address16 peer{};
    bool known = ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 &&
                 net::address16_of(reinterpret_cast<sockaddr*>(&ss), len, peer);
    if (known && allowed.contains(peer)) return true;
    refused.fetch_add(1, std::memory_order_relaxed);
    const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::steady_clock::now().time_since_epoch())
                              .count();
    int64_t last = g_last_log_s.load(std::memory_order_relaxed);
    if (now_s > last && g_last_log_s.compare_exchange_strong(last, now_s)) {
        XS3_LOG_WARN("connection refused: address not in --allow-clients",
                     kv("peer", known ? net::address16_text(peer) : std::string("unknown")),
                     kv("not_logged_since_last", g_unlogged.exchange(0)));
    } else {
        g_unlogged.fetch_add(1, std::memory_order_relaxed);
    }
    return false;
}

}  // namespace xs3::proxy
