// What an S3 GET or HEAD answer says about the object's size and the bytes its body carries:
// Content-Length for 200, Content-Range for 206, and for 416 either `Content-Range: bytes */N`
// or the <ActualObjectSize> element S3 puts in its InvalidRange error body — read the way
// S3-compatible stores actually answer, not only as AWS documents it:
//  - an empty object's ranged GET: AWS says 416; s3rver says 206 "bytes 0-0/0" (with a
//    Content-Length of 1 and no body); others 200 with no bytes. All three mean size 0.
//  - a store that ignores Range answers 200 with the whole object (`whole`).
//  - a 416 that says no size at all: the caller asks a HEAD.
// And which version an answer comes from (if_match_value, same_version): weak or missing ETags,
// and stores that do not honour If-Match.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
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
    // A 200: the body is the whole object whatever Range was asked (a store that ignores Range
    // answers a ranged GET so).
    bool whole = false;
    // size is 0: an empty object, however the store said so; its body holds no object bytes
    // and need not be read (s3rver announces one byte it never sends).
    bool empty() const noexcept { return size == 0; }
};

// For status 200, 206 and 416; anything else (or a missing/bad field) is an error. `body` is the
// error body of a 416 (may be empty). A 416 that tells no size is an error with
// Code::out_of_range (the caller learns the size with a HEAD).
Result<ObjectExtent> object_extent(const HttpResponseHead& head, std::string_view body = {});

// The validator for If-Match on the GETs of one object version: the ETag when it is a strong
// entity tag ("..."), else "" (send none). RFC 9110 compares If-Match strongly, so a store that
// hands out weak tags (W/"...") would answer 412 to every If-Match naming one; without a usable
// tag, same_version() is the check.
std::string if_match_value(std::string_view etag);

// Which version of an object an answer comes from, as far as the answer tells.
struct ObjectVersion {
    std::string etag;           // as sent (strong or weak); "" when none
    std::string last_modified;  // "" when none
};
ObjectVersion version_of(const HttpResponseHead& head);

// Whether `answer` (a later GET of the object) comes from `version`: the same ETag when both
// carry one, else the same Last-Modified when both carry one. Catches a store that ignores
// If-Match (or gets none, for weak tags) before versions are mixed. True when there is nothing
// to compare.
bool same_version(const ObjectVersion& version, const HttpResponseHead& answer);
// The same comparison between two versions (a cached copy's and what S3 says now).
bool same_version(const ObjectVersion& a, const ObjectVersion& b);

// A GET of bytes [first, first + length) of an object: a chunk of a known size, or a probe
// (size unknown; `length` is then the most the answer may hold, S3 stops at the object's end).
struct RangeAsk {
    uint64_t first = 0;
    uint64_t length = 0;
    std::optional<uint64_t> size;
};

// How to use the answer to a RangeAsk, whichever way the store answered it.
struct RangeAnswer {
    enum class Kind {
        bytes,          // the body holds the asked bytes: drop `skip`, keep `take`, cut the rest
        empty,          // the object is empty (size 0): nothing to read, whatever the body says
        beyond_end,     // a 416 with the size: the asked range starts at or after it
        size_unknown,   // a 416 that does not say the size: ask a HEAD
        other_version,  // the answer comes from another version than the one being read
        unusable,       // a 200/206 that does not hold the asked bytes, or not an extent at all
    };
    Kind kind = Kind::unusable;
    ObjectExtent extent;
    uint64_t skip = 0;  // body bytes before the asked ones (a 200 to a ranged GET)
    uint64_t take = 0;  // the asked bytes the body holds (the probe: up to the object's end)
    std::string why;    // for unusable and other_version
};

// Reads an answer (status 200, 206 or 416; anything else is `unusable`, the caller judges the
// status first) to `ask`. `version`, when given, is the version being read (the answer that told
// the size). A 416 is read with its error body (pass it once it is in).
RangeAnswer read_range_answer(const RangeAsk& ask, const HttpResponseHead& answer,
                              const ObjectVersion* version = nullptr, std::string_view body = {});

}  // namespace xs3::s3
