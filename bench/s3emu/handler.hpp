// S3Handler: turns one parsed request into the reply the emulator sends — routing (path-style and
// virtual-host buckets, the /__stats endpoints), fault decisions, conditional requests, Range, S3
// XML errors. Pure: no sockets, no ring; the server executes the Reply (latency, pacing, the body
// bytes from the pattern, and the body faults). One handler per worker thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "faults.hpp"
#include "stats.hpp"
#include "xs3/http/date.hpp"
#include "xs3/http/request.hpp"
#include "xs3/http/response.hpp"

namespace xs3::s3emu {

// Ways S3-compatible stores answer differently from AWS, switched on per run (--quirk NAME), so
// the proxy can be tested against stores as they are.
struct Quirks {
    bool range_ignored = false;     // range-ignored: a ranged GET gets 200 and the whole object
    bool empty_range_206 = false;   // empty-range-206: a ranged GET of an empty object gets
                                    // 206 "Content-Range: bytes 0-0/0" (as s3rver does)
    bool empty_range_200 = false;   // empty-range-200: ... 200 without Content-Range
    bool bare_416 = false;          // bare-416: a 416 with neither ActualObjectSize nor
                                    // Content-Range
    bool weak_etag = false;         // weak-etag: ETags are W/"..." (an If-Match never matches a
                                    // weak tag: RFC 9110's strong comparison)
    bool no_etag = false;           // no-etag: no ETag field at all
    bool if_match_ignored = false;  // if-match-ignored: If-Match is not evaluated
};
// Turns the quirk called `name` on; an error names the known ones.
Status enable_quirk(Quirks& quirks, std::string_view name);

struct HandlerOptions {
    std::vector<std::string> buckets{"bench"};
    Quirks quirks;
};

struct Reply {
    http::ResponseHead head;
    std::string text_body;     // XML error or JSON; sent as is
    Object* object = nullptr;  // the body is object bytes [body_start, body_start + body_len)
    uint64_t generation = 0;
    uint64_t body_start = 0;
    uint64_t body_len = 0;
    bool send_body = true;  // false for HEAD: Content-Length is still the GET one
    bool close = false;     // Connection: close after this reply
    bool is_s3 = true;      // false for /__stats: no latency, no counting
    // The head still needs x-amz-meta-sha224 of (object, generation); see add_sha224().
    bool needs_sha224 = false;
    FaultDecision faults;
};

class S3Handler {
  public:
    S3Handler(Catalog& catalog, FaultPlan& faults, Stats& stats, HandlerOptions options)
        : catalog_(catalog), faults_(faults), stats_(stats), options_(std::move(options)) {}

    // `over_connection_limit`: the connection is beyond --max-connections; it gets SlowDown.
    Reply handle(const http::Request& req, bool over_connection_limit = false);
    // Completes a reply whose needs_sha224 was set, once the digest is ready. False if not yet.
    bool add_sha224(Reply& reply) const;

  private:
    Reply error(int status, std::string_view code, std::string_view message,
                std::string_view resource, bool head_only, std::string_view extra = {});
    void common_headers(http::ResponseHead& head);
    Reply object_reply(const http::Request& req, Object& obj, uint64_t gen, FaultDecision faults,
                       bool is_head, const std::string& resource);

    Catalog& catalog_;
    FaultPlan& faults_;
    Stats& stats_;
    HandlerOptions options_;
    http::DateCache dates_;
    uint64_t request_seq_ = 0;
};

}  // namespace xs3::s3emu
