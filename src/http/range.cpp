// Range field parsing and Content-Range formatting.
#include "xs3/http/range.hpp"

#include <algorithm>
#include <limits>

#include "xs3/http/headers.hpp"

namespace xs3::http {

namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Reads 1*DIGIT from the front of s, saturating at kMax. Returns false if there is no digit.
bool take_number(std::string_view& s, uint64_t& out) noexcept {
    size_t i = 0;
    uint64_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        uint64_t d = uint64_t(s[i] - '0');
        v = v > (kMax - d) / 10 ? kMax : v * 10 + d;
        ++i;
    }
    if (i == 0) return false;
    s.remove_prefix(i);
    out = v;
    return true;
}

struct Spec {
    bool suffix = false;
    bool open_end = false;
    uint64_t a = 0;
    uint64_t b = 0;
};

bool parse_spec(std::string_view s, Spec& spec) noexcept {
    if (!s.empty() && s.front() == '-') {
        s.remove_prefix(1);
        spec.suffix = true;
        return take_number(s, spec.a) && s.empty();
    }
    if (!take_number(s, spec.a) || s.empty() || s.front() != '-') return false;
    s.remove_prefix(1);
    if (s.empty()) {
        spec.open_end = true;
        return true;
    }
    return take_number(s, spec.b) && s.empty() && spec.b >= spec.a;
}

}  // namespace

RangeResult parse_range(std::string_view value, uint64_t size) noexcept {
    RangeResult none;
    value = trim_ows(value);
    size_t eq = value.find('=');
    if (eq == std::string_view::npos || !iequals(trim_ows(value.substr(0, eq)), "bytes")) {
        return none;
    }
    std::string_view set = value.substr(eq + 1);
    size_t specs = 0;
    Spec spec;
    while (true) {
        size_t comma = set.find(',');
        std::string_view item = trim_ows(set.substr(0, comma));
        if (!item.empty()) {  // RFC 9110 5.6.1: empty list elements are skipped
            if (!parse_spec(item, spec)) return none;
            ++specs;
        }
        if (comma == std::string_view::npos) break;
        set.remove_prefix(comma + 1);
    }
    if (specs == 0) return none;
    if (specs > 1) return {RangeKind::multi, 0, 0};

    if (size == 0) return {RangeKind::unsatisfiable, 0, 0};
    if (spec.suffix) {
        if (spec.a == 0) return {RangeKind::unsatisfiable, 0, 0};
        uint64_t n = spec.a < size ? spec.a : size;
        return {RangeKind::single, size - n, size - 1};
    }
    if (spec.a >= size) return {RangeKind::unsatisfiable, 0, 0};
    uint64_t last = spec.open_end || spec.b >= size ? size - 1 : spec.b;
    return {RangeKind::single, spec.a, last};
}

namespace {

// The spec resolved against size, or false when it is unsatisfiable.
bool resolve(const Spec& spec, uint64_t size, ByteRange& out) noexcept {
    if (size == 0) return false;
    if (spec.suffix) {
        if (spec.a == 0) return false;
        uint64_t n = spec.a < size ? spec.a : size;
        out = {size - n, size - 1};
        return true;
    }
    if (spec.a >= size) return false;
    out = {spec.a, spec.open_end || spec.b >= size ? size - 1 : spec.b};
    return true;
}

}  // namespace

RangeSet parse_ranges(std::string_view value, uint64_t size, size_t max_parts) {
    RangeSet none;
    value = trim_ows(value);
    size_t eq = value.find('=');
    if (eq == std::string_view::npos || !iequals(trim_ows(value.substr(0, eq)), "bytes"))
        return none;
    std::string_view set = value.substr(eq + 1);
    // Satisfiable ranges with the position of their spec in the request.
    struct Asked {
        ByteRange r;
        size_t order;
    };
    std::vector<Asked> asked;
    size_t specs = 0;
    while (true) {
        size_t comma = set.find(',');
        std::string_view item = trim_ows(set.substr(0, comma));
        if (!item.empty()) {  // RFC 9110 5.6.1: empty list elements are skipped
            Spec spec;
            if (!parse_spec(item, spec)) return none;
            ByteRange r;
            if (resolve(spec, size, r)) asked.push_back({r, specs});
            ++specs;
        }
        if (comma == std::string_view::npos) break;
        set.remove_prefix(comma + 1);
    }
    if (specs == 0) return none;
    if (asked.empty()) return {RangeKind::unsatisfiable, {}};
    // Coalesce in offset order; each merged part keeps the earliest request position of its
    // members, and the parts go out in that order.
    std::sort(asked.begin(), asked.end(), [](const Asked& a, const Asked& b) {
        return a.r.first < b.r.first || (a.r.first == b.r.first && a.order < b.order);
    });
    std::vector<Asked> merged;
    for (const Asked& a : asked) {
        if (!merged.empty() && a.r.first <= merged.back().r.last + 1) {
            Asked& m = merged.back();
            m.r.last = std::max(m.r.last, a.r.last);
            m.order = std::min(m.order, a.order);
        } else {
            merged.push_back(a);
        }
    }
    if (merged.size() > max_parts) return none;
    std::sort(merged.begin(), merged.end(),
              [](const Asked& a, const Asked& b) { return a.order < b.order; });
    RangeSet out;
    out.kind = merged.size() == 1 ? RangeKind::single : RangeKind::multi;
    for (const Asked& m : merged)
        out.parts.push_back(m.r);
    return out;
}

std::string content_range_value(uint64_t first, uint64_t last, uint64_t size) {
    return "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
           std::to_string(size);
}

std::string unsatisfied_content_range(uint64_t size) {
    return "bytes */" + std::to_string(size);
}

}  // namespace xs3::http
