// The access log: one line per answered request.
#include "xs3/proxy/access_log.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "xs3/base/log.hpp"

namespace xs3::proxy {
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

void AccessRecord::begin(const http::Request& req) {
    active = true;
    start = std::chrono::steady_clock::now();
    method = req.method_name;
    target = req.target;
    const std::string* r = req.headers.get("Range");
    range = r ? *r : std::string();
    status = 0;
    cache = "";
    request_id.clear();
    sent_at_start = sent = 0;
}

void note_response(AccessRecord& record, const http::ResponseHead& head, const char* cache) {
    if (!record.active) return;
    record.status = head.status;
    record.cache = cache;
    const std::string* id = head.headers.get("x-amz-request-id");
    record.request_id = id ? *id : std::string();
}

void log_access(AccessRecord& record, const char* proto, const std::string& client,
                std::string_view outcome) {
    if (!record.active) return;
    record.active = false;
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - record.start)
            .count();
    char ms_text[32];
    std::snprintf(ms_text, sizeof ms_text, "%.2f", ms);
    log_write(LogLevel::info, "access", kv("proto", proto),
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
