// Conditional requests (RFC 9110 13) evaluated against the object being served: If-Match,
// If-Unmodified-Since, If-None-Match, If-Modified-Since in the order of 13.2.2, and If-Range for
// whether a Range still applies. Pure: request fields and the object's validators in, a decision
// out.
#pragma once

#include <ctime>
#include <optional>
#include <string_view>

#include "xs3/http/headers.hpp"
#include "xs3/http/request.hpp"

namespace xs3::http {

// The selected representation's validators.
struct Validators {
    std::string_view etag;                // as sent in ETag (`"abc"`); empty: none
    std::optional<time_t> last_modified;  // parsed Last-Modified; none: unknown
};

enum class Precondition {
    proceed,              // serve as usual (200, or 206 when range_applies)
    not_modified,         // 304
    precondition_failed,  // 412
};

struct ConditionalResult {
    Precondition outcome = Precondition::proceed;
    // A Range field is present and still to be honoured: the method serves ranges and If-Range,
    // if present, holds. False: answer the whole representation (200). Only meaningful when the
    // outcome is proceed.
    bool range_applies = false;
};

// Order (13.2.2): If-Match, else If-Unmodified-Since (412 when false); If-None-Match (304 for
// GET/HEAD, else 412 when false), else If-Modified-Since for GET/HEAD (304 when false); then
// If-Range for a Range. Details:
//   - If-Match compares strongly, If-None-Match weakly; `*` matches (the object exists).
//   - A date field that is not one valid HTTP-date (or appears more than once) is ignored, and so
//     are date conditions when Last-Modified is unknown.
//   - If-Range holds for a strong, strongly matching ETag or a date exactly equal to
//     Last-Modified; anything else (weak tag, bad value) means the whole representation.
//   - Ranges apply to GET and, as S3 answers them, to HEAD (RFC 9110 defines them for GET only).
ConditionalResult evaluate_conditionals(Method method, const Headers& headers,
                                        const Validators& object);

}  // namespace xs3::http
