// Object size and body range from S3 answers.
#include "xs3/s3/object_extent.hpp"

#include <algorithm>

#include "xs3/base/ascii.hpp"

namespace xs3::s3 {
namespace {

// Every value up to 2^64-1 (20 digits; the proxy's own Content-Range writer can produce them, a
// fuzzing finding), and nothing that overflows.
bool parse_u64(std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        const auto d = static_cast<uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
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

namespace {

// "bytes <anything>/0": the total says the object is empty, whatever the range claims.
bool names_empty_object(std::string_view value) {
    std::string_view v = trim(value);
    size_t slash = v.rfind('/');
    uint64_t total = 1;
    return v.size() >= 6 && ascii_lowercase(v.substr(0, 6)) == "bytes " &&
           slash != std::string_view::npos && parse_u64(v.substr(slash + 1), total) && total == 0;
}

}  // namespace

Result<ObjectExtent> object_extent(const HttpResponseHead& head, std::string_view body) {
    ObjectExtent e;
    if (head.status == 200) {
        const std::string* cl = head.get("content-length");
        if (cl == nullptr || !parse_u64(trim(*cl), e.size))
            return Status(Code::unavailable, "S3 answer has no valid Content-Length");
        e.length = e.size;
        e.whole = true;
        return e;
    }
    if (head.status == 206) {
        const std::string* cr = head.get("content-range");
        if (cr == nullptr) return Status(Code::unavailable, "206 answer without Content-Range");
        if (names_empty_object(*cr)) return e;  // s3rver: "bytes 0-0/0"
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
        return Status(Code::out_of_range, "416 answer does not say the object's size");
    }
    return Status(Code::unavailable,
                  "no object extent in a " + std::to_string(head.status) + " answer");
}

std::string if_match_value(std::string_view etag) {
    std::string_view t = trim(etag);
    if (t.size() < 2 || t.front() != '"' || t.back() != '"') return {};
    return std::string(t);
}

ObjectVersion version_of(const HttpResponseHead& head) {
    ObjectVersion v;
    if (const std::string* e = head.get("etag")) v.etag = std::string(trim(*e));
    if (const std::string* lm = head.get("last-modified")) v.last_modified = std::string(trim(*lm));
    return v;
}

bool same_version(const ObjectVersion& a, const ObjectVersion& b) {
    if (!a.etag.empty() && !b.etag.empty()) return a.etag == b.etag;
    if (!a.last_modified.empty() && !b.last_modified.empty())
        return a.last_modified == b.last_modified;
    return true;
}

bool same_version(const ObjectVersion& version, const HttpResponseHead& answer) {
    return same_version(version, version_of(answer));
}

RangeAnswer read_range_answer(const RangeAsk& ask, const HttpResponseHead& answer,
                              const ObjectVersion* version, std::string_view body) {
    using Kind = RangeAnswer::Kind;
    RangeAnswer r;
    auto unusable = [&r](std::string why) {
        r.kind = Kind::unusable;
        r.why = std::move(why);
        return r;
    };
    if (answer.status != 200 && answer.status != 206 && answer.status != 416)
        return unusable("a " + std::to_string(answer.status) + " answer");
    if (version != nullptr && !same_version(*version, answer)) {
        r.kind = Kind::other_version;
        r.why = "the answer comes from another version of the object";
        return r;
    }
    auto ext = object_extent(answer, body);
    if (!ext.ok()) {
        if (ext.status().code() == Code::out_of_range) {
            r.kind = Kind::size_unknown;
            return r;
        }
        return unusable(ext.status().message());
    }
    r.extent = *ext;
    if (ask.size && ext->size != *ask.size) {
        r.kind = Kind::other_version;
        r.why = "the object's size is " + std::to_string(ext->size) + ", not " +
                std::to_string(*ask.size);
        return r;
    }
    if (ext->empty()) {
        // However the store says it (416, s3rver's 206 "bytes 0-0/0", a 200 of no bytes).
        r.kind = Kind::empty;
        return r;
    }
    if (ext->unsatisfiable || ask.first >= ext->size) {
        // A 416, or a 200 with the whole object from a store that ignored a range beyond its end.
        r.kind = Kind::beyond_end;
        return r;
    }
    const uint64_t want = std::min(ask.length, ext->size - ask.first);
    if (ext->whole) {
        r.kind = Kind::bytes;
        r.skip = ask.first;
        r.take = want;
        return r;
    }
    if (ext->first != ask.first || ext->length != want)
        return unusable("the answer holds bytes " + std::to_string(ext->first) + "+" +
                        std::to_string(ext->length) + ", asked " + std::to_string(ask.first) + "+" +
                        std::to_string(want));
    r.kind = Kind::bytes;
    r.take = want;
    return r;
}

}  // namespace xs3::s3
