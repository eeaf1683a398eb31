// Fault rule parsing and deterministic per-request decisions.
#include "faults.hpp"

#include <cstdlib>

#include "pattern.hpp"
#include "xs3/base/units.hpp"

namespace xs3::s3emu {

std::string_view fault_type_name(FaultType t) noexcept {
    switch (t) {
        case FaultType::slow_down:
            return "503";
        case FaultType::internal_error:
            return "500";
        case FaultType::reset:
            return "reset";
        case FaultType::short_body:
            return "short";
        case FaultType::stall:
            return "stall";
        case FaultType::etag_change:
            return "etag-change";
    }
    return "?";
}

namespace {
Result<uint64_t> parse_count(std::string_view s) {
    auto v = parse_size(s);  // plain integers; units allowed for offsets
    if (!v) return v.status();
    return *v;
}
}  // namespace

Result<FaultRule> parse_fault_rule(std::string_view text) {
    FaultRule r;
    size_t colon = text.find(':');
    std::string_view type = text.substr(0, colon);
    std::string_view rest =
        colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
    if (type == "503" || type == "slowdown" || type == "SlowDown") {
        r.type = FaultType::slow_down;
    } else if (type == "500" || type == "internal" || type == "InternalError") {
        r.type = FaultType::internal_error;
    } else if (type == "reset") {
        r.type = FaultType::reset;
    } else if (type == "short") {
        r.type = FaultType::short_body;
    } else if (type == "stall") {
        r.type = FaultType::stall;
    } else if (type == "etag-change" || type == "etag") {
        r.type = FaultType::etag_change;
    } else {
        return Status(Code::invalid_argument, "fault: unknown type " + std::string(type) +
                                                  " (503, 500, reset, short, stall, etag-change)");
    }
    while (!rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (item.empty()) continue;
        size_t eq = item.find('=');
        if (eq == std::string_view::npos)
            return Status(Code::invalid_argument,
                          "fault: expected key=value, got " + std::string(item));
        std::string_view k = item.substr(0, eq), v = item.substr(eq + 1);
        if (k == "rate") {
            char* end = nullptr;
            std::string s(v);
            double d = std::strtod(s.c_str(), &end);
            if (end == s.c_str() || *end != '\0' || d < 0 || d > 1)
                return Status(Code::invalid_argument, "fault: rate must be in [0,1]: " + s);
            r.rate = d;
        } else if (k == "object") {
            r.object = std::string(v);
            if (!r.object.empty() && r.object.front() == '/') r.object.erase(0, 1);
        } else if (k == "method") {
            if (v == "GET" || v == "get")
                r.method = FaultMethod::get;
            else if (v == "HEAD" || v == "head")
                r.method = FaultMethod::head;
            else if (v == "any")
                r.method = FaultMethod::any;
            else
                return Status(Code::invalid_argument, "fault: method must be GET, HEAD or any");
        } else if (k == "request" || k == "after") {
            auto n = parse_count(v);
            if (!n) return n.status();
            r.request = k == "after" ? *n + 1 : *n;
            if (r.request == 0)
                return Status(Code::invalid_argument, "fault: request= counts from 1");
        } else if (k == "count") {
            auto n = parse_count(v);
            if (!n) return n.status();
            r.count = *n;
        } else if (k == "offset") {
            auto n = parse_count(v);
            if (!n) return n.status();
            r.offset = *n;
        } else if (k == "seconds" || k == "for") {
            auto d = parse_duration(v);
            if (!d) return d.status();
            r.stall = *d;
        } else {
            return Status(Code::invalid_argument, "fault: unknown key " + std::string(k));
        }
    }
    bool status_fault = r.type == FaultType::slow_down || r.type == FaultType::internal_error ||
                        r.type == FaultType::etag_change;
    if (r.offset && status_fault && r.method == FaultMethod::head)
        return Status(Code::invalid_argument,
                      "fault: offset= aims a status fault at the GET asking for that byte; "
                      "it cannot apply to HEAD");
    return r;
}

FaultPlan::FaultPlan(std::vector<FaultRule> rules, uint64_t seed) : seed_(seed) {
    for (auto& r : rules)
        rules_.push_back(std::make_unique<RuleState>(std::move(r)));
}

bool FaultPlan::take_fire(RuleState& s) noexcept {
    uint64_t n = s.fired.fetch_add(1, std::memory_order_relaxed);
    if (s.rule.count != 0 && n >= s.rule.count) return false;
    fired_by_type_[static_cast<size_t>(s.rule.type)].fetch_add(1, std::memory_order_relaxed);
    return true;
}

FaultDecision FaultPlan::decide(std::string_view object, bool is_head) noexcept {
    FaultDecision d;
    for (size_t i = 0; i < rules_.size(); ++i) {
        RuleState& s = *rules_[i];
        const FaultRule& r = s.rule;
        if (!r.object.empty() && r.object != object) continue;
        bool aimed =
            r.offset && (r.type == FaultType::slow_down || r.type == FaultType::internal_error ||
                         r.type == FaultType::etag_change);
        if ((r.method == FaultMethod::get || aimed) && is_head) continue;
        if (r.method == FaultMethod::head && !is_head) continue;
        uint64_t n = s.matches.fetch_add(1, std::memory_order_relaxed) + 1;
        if (r.request != 0 && n != r.request) continue;
        if (r.rate) {
            uint64_t h = mix64(seed_ ^ mix64(i + 1) ^ mix64(n * 0x9E3779B97F4A7C15ULL));
            double u = static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
            if (!(u < *r.rate)) continue;
        }
        if (aimed) {
            d.request_rules.push_back(i);
            continue;
        }
        switch (r.type) {
            case FaultType::slow_down:
            case FaultType::internal_error:
                if (d.error_status == 0 && take_fire(s))
                    d.error_status = r.type == FaultType::slow_down ? 503 : 500;
                break;
            case FaultType::etag_change:
                if (!d.etag_change && take_fire(s)) d.etag_change = true;
                break;
            default:
                if (!is_head) d.body_rules.push_back(i);
                break;
        }
    }
    return d;
}

void FaultPlan::resolve_request(FaultDecision& d, uint64_t start, uint64_t len) noexcept {
    for (size_t i : d.request_rules) {
        RuleState& s = *rules_[i];
        const FaultRule& r = s.rule;
        if (*r.offset < start || *r.offset - start >= len) continue;
        if (r.type == FaultType::etag_change) {
            if (!d.etag_change && take_fire(s)) d.etag_change = true;
        } else if (d.error_status == 0 && take_fire(s)) {
            d.error_status = r.type == FaultType::slow_down ? 503 : 500;
        }
    }
    d.request_rules.clear();
}

void FaultPlan::resolve_body(FaultDecision& d, uint64_t start, uint64_t len) noexcept {
    for (size_t i : d.body_rules) {
        RuleState& s = *rules_[i];
        const FaultRule& r = s.rule;
        uint64_t at;
        if (r.offset) {
            if (*r.offset < start || *r.offset >= start + len) continue;
            at = *r.offset;
        } else {
            if (len == 0) continue;
            at = r.type == FaultType::stall ? start : start + len / 2;
        }
        std::optional<uint64_t>* slot = r.type == FaultType::reset        ? &d.reset_at
                                        : r.type == FaultType::short_body ? &d.short_at
                                                                          : &d.stall_at;
        if (*slot || !take_fire(s)) continue;
        *slot = at;
        if (r.type == FaultType::stall) d.stall_for = r.stall;
    }
    d.body_rules.clear();
}

void FaultPlan::reset_fired() noexcept {
    for (auto& f : fired_by_type_)
        f.store(0, std::memory_order_relaxed);
}

}  // namespace xs3::s3emu
