// Query strings and percent-encoding of request targets (http::parse_query, percent_decode):
// %00 never decodes into a NUL, and a parsed query re-encoded with SigV4's encoding (what the
// proxy signs and sends) parses back to exactly the same pairs.
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "xs3/http/request.hpp"
#include "xs3/s3/sigv4.hpp"

using namespace xs3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in = fuzz::as_text(data, size);
    auto decoded = http::percent_decode(in);
    if (decoded.ok() && in.find('\0') == std::string_view::npos)
        XS3_FUZZ_CHECK(decoded->find('\0') == std::string::npos);
    auto params = http::parse_query(in);
    // A raw NUL byte passes through decoding (the HTTP parser never lets one in) but has no
    // encoded form percent_decode accepts.
    if (!params.ok() || in.find('\0') != std::string_view::npos) return 0;
    std::string again;
    for (const auto& [n, v] : *params) {
        if (!again.empty()) again += '&';
        again += s3::sigv4_uri_encode(n);
        again += '=';
        again += s3::sigv4_uri_encode(v);
    }
    auto reparsed = http::parse_query(again);
    XS3_FUZZ_CHECK(reparsed.ok());
    XS3_FUZZ_CHECK(*reparsed == *params);
    return 0;
}
