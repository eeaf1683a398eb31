// Range requests (RFC 9110 14): parse a `Range` field against an object size, and format the
// Content-Range values for 206 and 416 answers. Only single byte ranges are served; several ranges
// are reported as `multi` so the caller can answer 200 with the whole object.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

// "bytes 0-99/1000"
std::string content_range_value(uint64_t first, uint64_t last, uint64_t size);
// "bytes */1000"
std::string unsatisfied_content_range(uint64_t size);

}  // namespace xs3::http
