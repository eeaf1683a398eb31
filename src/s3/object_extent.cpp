// Object size and body range from S3 answers.
#include "xs3/s3/object_extent.hpp"

#include "xs3/base/ascii.hpp"

namespace xs3::s3 {
namespace {

bool parse_u64(std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 19) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    out = v;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

Status bad(std::string_view what, std::string_view value) {
    return Status(Code::unavailable,
                  std::string(what) + " '" + std::string(value.substr(0, 100)) + "'");
}

}  // namespace

Result<ContentRange> parse_content_range(std::string_view value) {
    std::string_view v = trim(value);
    if (v.size() < 6 || ascii_lowercase(v.substr(0, 6)) != "bytes ")
        return bad("bad Content-Range", value);
    v = trim(v.substr(6));
    size_t slash = v.find('/');
    if (slash == std::string_view::npos) return bad("bad Content-Range", value);
    ContentRange cr;
    if (!parse_u64(v.substr(slash + 1), cr.total)) return bad("bad Content-Range total", value);
    std::string_view range = v.substr(0, slash);
    if (range == "*") return cr;
    size_t dash = range.find('-');
    if (dash == std::string_view::npos || !parse_u64(range.substr(0, dash), cr.first) ||
        !parse_u64(range.substr(dash + 1), cr.last) || cr.first > cr.last || cr.last >= cr.total)
        return bad("bad Content-Range", value);
    cr.satisfied = true;
    return cr;
}

Result<ObjectExtent> object_extent(const HttpResponseHead& head, std::string_view body) {
    ObjectExtent e;
    if (head.status == 200) {
        const std::string* cl = head.get("content-length");
        if (cl == nullptr || !parse_u64(trim(*cl), e.size))
            return Status(Code::unavailable, "S3 answer has no valid Content-Length");
        e.length = e.size;
        return e;
    }
    if (head.status == 206) {
        const std::string* cr = head.get("content-range");
        if (cr == nullptr) return Status(Code::unavailable, "206 answer without Content-Range");
        auto r = parse_content_range(*cr);
        if (!r.ok()) return r.status();
        if (!r->satisfied) return bad("206 answer with an unsatisfied Content-Range", *cr);
        e.size = r->total;
        e.first = r->first;
        e.length = r->last - r->first + 1;
        return e;
    }
    if (head.status == 416) {
        e.unsatisfiable = true;
        if (const std::string* cr = head.get("content-range")) {
            auto r = parse_content_range(*cr);
            if (r.ok() && !r->satisfied) {
                e.size = r->total;
                return e;
            }
        }
        constexpr std::string_view open = "<ActualObjectSize>";
        size_t at = body.find(open);
        if (at != std::string_view::npos) {
            size_t from = at + open.size();
            size_t to = body.find('<', from);
            if (to != std::string_view::npos &&
                parse_u64(trim(body.substr(from, to - from)), e.size))
                return e;
        }
        return Status(Code::unavailable, "416 answer does not say the object's size");
    }
    return Status(Code::unavailable,
                  "no object extent in a " + std::to_string(head.status) + " answer");
}

}  // namespace xs3::s3
