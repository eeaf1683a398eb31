// The HTTP/1.1 request codec (llhttp behind H1Parser), fed client bytes in pieces whose sizes
// come from the input, as a socket delivers them. Checks: feed never consumes more than it was
// given, never loops without progress, a request taken is well-formed enough for routing, and
// an error gives one of the documented statuses.
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "xs3/http/h1_parser.hpp"
#include "xs3/http/request.hpp"

using namespace xs3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    // The first byte picks the piece size (1..256 bytes per feed), the rest is the stream.
    const size_t piece = static_cast<size_t>(data[0]) + 1;
    std::string_view in = fuzz::as_text(data + 1, size - 1);
    http::H1Limits limits;
    limits.max_header_bytes = 4096;
    limits.max_headers = 32;
    limits.max_body_bytes = 8192;
    http::H1Parser parser(limits);
    size_t off = 0;
    int requests = 0;
    while (off < in.size()) {
        const size_t len = std::min(piece, in.size() - off);
        size_t used = 0;
        while (used < len) {
            auto r = parser.feed(in.data() + off + used, len - used);
            XS3_FUZZ_CHECK(r.consumed <= len - used);
            used += r.consumed;
            if (r.state == http::H1Parser::FeedResult::request_ready) {
                http::Request req = parser.take_request();
                ++requests;
                XS3_FUZZ_CHECK(!req.method_name.empty());
                XS3_FUZZ_CHECK(req.target.size() <= limits.max_header_bytes);
                // What the proxy does next with the target: decode the path and the query.
                (void)http::percent_decode(req.path);
                (void)http::parse_query(req.query);
                for (const auto& f : req.headers)
                    XS3_FUZZ_CHECK(!f.name.empty());
            } else if (r.state == http::H1Parser::FeedResult::error) {
                const int s = parser.error_status();
                XS3_FUZZ_CHECK(s == 400 || s == 413 || s == 414 || s == 431 || s == 505);
                return 0;
            } else {
                XS3_FUZZ_CHECK(used == len);  // need_more consumes everything
            }
        }
        off += len;
    }
    return 0;
}
