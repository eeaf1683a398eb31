// Range requests (RFC 9110 14): parse a `Range` field against an object size, and format the
// Content-Range values for 206 and 416 answers. parse_range is the single-range view (several
// ranges are reported as `multi`); parse_ranges resolves every range for a multipart/byteranges
// answer (http/multipart.hpp lays its body out).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xs3::http {

enum class RangeKind {
    none,           // no Range, bad syntax or an unknown unit: ignore it, answer 200
    single,         // answer 206 with [first, last]
    unsatisfiable,  // answer 416 with unsatisfied_content_range(size)
    multi,          // more than one range: answer 200 with the whole object
};

struct RangeResult {
    RangeKind kind = RangeKind::none;
    uint64_t first = 0;  // inclusive, only for single
    uint64_t last = 0;   // inclusive, only for single; always < object size

    uint64_t length() const noexcept { return last - first + 1; }
};

// Accepts `bytes=a-b`, `bytes=a-` and `bytes=-n`, unit case-insensitive, OWS around '=' and commas,
// empty list elements. `last` is clamped to size-1; a suffix longer than the object means all of
// it. Unsatisfiable: first >= size, `bytes=-0`, or any range on a 0-byte object. Numbers too large
// for 64 bits saturate to UINT64_MAX, i.e. "beyond any object": a huge first position is
// unsatisfiable, a huge last position or suffix means "to the end".
RangeResult parse_range(std::string_view header_value, uint64_t object_size) noexcept;

struct ByteRange {
    uint64_t first = 0;  // inclusive
    uint64_t last = 0;   // inclusive, < object size
    bool operator==(const ByteRange&) const = default;
};

struct RangeSet {
    RangeKind kind = RangeKind::none;  // none, single, multi or unsatisfiable
    std::vector<ByteRange> parts;      // single: one; multi: two or more; else empty
};

// Every range-spec of a `Range` value resolved against `size`, as parse_range resolves one.
// Unsatisfiable specs are left out; if none is satisfiable the set is. Ranges that overlap or
// touch (b.first <= a.last + 1) are coalesced into one, which takes the place of the earliest of
// them in the request: parts keep the order their range-specs were asked in (RFC 9110 14.6,
// 15.3.7.2), and no byte is sent twice. One part left: single. More than `max_parts` parts: none
// (the whole object, 200), like bad syntax or an unknown unit.
RangeSet parse_ranges(std::string_view header_value, uint64_t object_size, size_t max_parts);

// "bytes 0-99/1000"
std::string content_range_value(uint64_t first, uint64_t last, uint64_t size);
// "bytes */1000"
std::string unsatisfied_content_range(uint64_t size);

}  // namespace xs3::http
