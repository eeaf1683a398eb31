// Counters and their JSON rendering.
#include "stats.hpp"

#include <cstdio>

#include "xs3/base/json_writer.hpp"

namespace xs3::s3emu {

void Stats::record_response(StatMethod m, int status) noexcept {
    if (status < 0 || status >= kStatuses) status = 0;
    by_status_[static_cast<size_t>(m)][static_cast<size_t>(status)].fetch_add(
        1, std::memory_order_relaxed);
}

void Stats::connection_opened() noexcept {
    conn_accepted_.fetch_add(1, std::memory_order_relaxed);
    int64_t now = conn_current_.fetch_add(1, std::memory_order_relaxed) + 1;
    int64_t peak = conn_peak_.load(std::memory_order_relaxed);
    while (now > peak && !conn_peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
}

uint64_t Stats::requests_total() const noexcept {
    uint64_t n = 0;
    for (auto& m : by_status_)
        for (auto& c : m)
            n += c.load(std::memory_order_relaxed);
    return n;
}

uint64_t Stats::count(StatMethod m, int status) const noexcept {
    if (status < 0 || status >= kStatuses) return 0;
    return by_status_[static_cast<size_t>(m)][static_cast<size_t>(status)].load(
        std::memory_order_relaxed);
}

void Stats::reset(Catalog& catalog, FaultPlan& faults) noexcept {
    for (auto& m : by_status_)
        for (auto& c : m)
            c.store(0, std::memory_order_relaxed);
    ranged_ = 0;
    body_bytes_ = 0;
    head_bytes_ = 0;
    truncated_ = 0;
    conn_accepted_ = 0;
    conn_rejected_ = 0;
    conn_peak_ = conn_current_.load();
    for (auto& o : catalog.objects())
        o->counters().reset();
    faults.reset_fired();
}

std::string Stats::to_json(Catalog& catalog, const FaultPlan& faults) const {
    static const char* methods[] = {"GET", "HEAD", "OTHER"};
    std::string j = "{\n";
    auto num = [&](const char* k, uint64_t v, bool comma = true) {
        j += "  \"";
        j += k;
        j += "\": " + std::to_string(v) + (comma ? ",\n" : "\n");
    };
    num("requests_total", requests_total());
    j += "  \"requests\": {";
    bool first_m = true;
    for (size_t m = 0; m < 3; ++m) {
        std::string inner;
        for (int s = 0; s < kStatuses; ++s) {
            uint64_t v = by_status_[m][static_cast<size_t>(s)].load(std::memory_order_relaxed);
            if (v == 0) continue;
            if (!inner.empty()) inner += ", ";
            inner += "\"" + std::to_string(s) + "\": " + std::to_string(v);
        }
        if (inner.empty()) continue;
        j += first_m ? "" : ", ";
        first_m = false;
        j += std::string("\"") + methods[m] + "\": {" + inner + "}";
    }
    j += "},\n";
    num("ranged_requests", ranged_.load());
    num("body_bytes", body_bytes_.load());
    num("header_bytes", head_bytes_.load());
    num("bytes_sent", body_bytes_.load() + head_bytes_.load());
    num("truncated_responses", truncated_.load());
    num("sha224_pending", catalog.sha224_pending());
    j += "  \"connections\": {\"current\": " + std::to_string(conn_current_.load()) +
         ", \"peak\": " + std::to_string(conn_peak_.load()) +
         ", \"accepted\": " + std::to_string(conn_accepted_.load()) +
         ", \"rejected\": " + std::to_string(conn_rejected_.load()) + "},\n";
    j += "  \"faults\": {";
    for (size_t t = 0; t < kFaultTypes; ++t) {
        auto ft = static_cast<FaultType>(t);
        j += (t ? ", " : "") + json_quote(fault_type_name(ft)) + ": " +
             std::to_string(faults.fired(ft));
    }
    j += "},\n  \"objects\": {";
    bool first_o = true;
    for (auto& o : catalog.objects()) {
        auto& c = o->counters();
        uint64_t gen = o->generation();
        j += first_o ? "\n" : ",\n";
        first_o = false;
        j += "    " + json_quote(o->name()) + ": {\"size\": " + std::to_string(o->size()) +
             ", \"get\": " + std::to_string(c.get.load()) +
             ", \"head\": " + std::to_string(c.head.load()) +
             ", \"ranged\": " + std::to_string(c.ranged.load()) +
             ", \"body_bytes\": " + std::to_string(c.body_bytes.load()) +
             ", \"generation\": " + std::to_string(gen) +
             ", \"etag\": " + json_quote(o->etag(gen)) + "}";
    }
    j += first_o ? "}\n" : "\n  }\n";
    j += "}\n";
    return j;
}

}  // namespace xs3::s3emu
