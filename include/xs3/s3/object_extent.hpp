// What an S3 GET or HEAD answer says about the object's size and the bytes its body carries:
// Content-Length for 200, Content-Range for 206, and for 416 either `Content-Range: bytes */N`
// or the <ActualObjectSize> element S3 puts in its InvalidRange error body.
#pragma once

#include <cstdint>
#include <string_view>

#include "xs3/base/status.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::s3 {

struct ContentRange {
    bool satisfied = false;  // "bytes a-b/N" (true) or "bytes */N" (false)
    uint64_t first = 0;      // inclusive; satisfied only
    uint64_t last = 0;       // inclusive; satisfied only
    uint64_t total = 0;      // the object's size
};

// Parses "bytes a-b/N" and "bytes */N" (unit case-insensitive). An unknown total ("/*"),
// first > last, last >= N, or junk is an error.
Result<ContentRange> parse_content_range(std::string_view value);

struct ObjectExtent {
    uint64_t size = 0;           // the object's total size
    uint64_t first = 0;          // object offset of the body's first byte
    uint64_t length = 0;         // body bytes (0 for HEAD and 416)
    bool unsatisfiable = false;  // a 416: the asked range starts at or beyond `size`
};

// For status 200, 206 and 416; anything else (or a missing/bad field) is an error. `body` is the
// error body of a 416 (may be empty).
Result<ObjectExtent> object_extent(const HttpResponseHead& head, std::string_view body = {});

}  // namespace xs3::s3
