// Trace event formatting and the sink pointer.
#include "xs3/base/trace.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "xs3/base/log.hpp"

namespace xs3::trace {
namespace detail {
std::atomic<Sink*> g_sink{nullptr};

void append_string(std::string& out, std::string_view s) {
    static const char* hex = "0123456789abcdef";
    out += '"';
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            // Control bytes as \u00XX; other bytes pass as they are (keys and targets may hold
            // any UTF-8; a line stays one line whatever they hold).
            out += "\\u00";
            out += hex[u >> 4];
            out += hex[u & 15];
        } else {
            out += c;
        }
    }
    out += '"';
}

void append_double(std::string& out, double v) {
    if (!std::isfinite(v)) {
        out += "null";
        return;
    }
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.6g", v);
    out.append(buf, static_cast<size_t>(n));
}

void begin_line(std::string& out, std::string_view event) {
    out += "{\"t\":";
    out += std::to_string(now_us());
    out += ",\"w\":";
    out += std::to_string(log_worker_id());
    out += ",\"ev\":";
    append_string(out, event);
}

void finish_line(std::string& out) noexcept {
    out += "}\n";
    if (Sink* s = g_sink.load(std::memory_order_acquire)) s->submit(std::move(out));
}
}  // namespace detail

namespace {
std::atomic<uint64_t> g_next_id{1};
}

void install(Sink* sink) noexcept {
    detail::g_sink.store(sink, std::memory_order_release);
}

uint64_t now_us() noexcept {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

uint64_t next_id() noexcept {
    return g_next_id.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace xs3::trace
