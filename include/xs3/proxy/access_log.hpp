// The life of one request as its transport sees it, for the three ways an operator looks at it:
// the duration and time-to-first-byte histograms of /metrics (always), the --debug-trace events
// req.recv / req.answer / req.done (when tracing), and the access log (--access-log): one line
// per request, when its answer is over, through the logger (written whatever --log-level says;
// dropped, and counted, only if the log queue is full):
//
//   level=info msg="access" proto=h1 client=127.0.0.1:5012 method=GET target="/a/b?x=1"
//     range="bytes=0-9" status=206 cache=HIT sent=312 ms=0.41 outcome=complete
//     request_id=3F2A1000000000A7
//
// `sent` counts the bytes written to the socket for this answer (head and body; for HTTP/2 the
// DATA payload queued for the stream). `outcome`: complete, cut (the body could not be completed:
// connection closed or stream reset), aborted (the client went away or the connection closed
// first), reset (an HTTP/2 client reset the stream).
//
// Time to first byte is measured to the moment the transport takes the response head (it is
// queued for the socket at once), from the moment the request head was parsed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "xs3/http/request.hpp"
#include "xs3/http/response.hpp"

namespace xs3::proxy {

struct AccessRecord {
    bool active = false;  // a request is being answered and not yet ended
    bool log = false;     // write an access-log line at the end (--access-log)
    const char* proto = "h1";
    std::chrono::steady_clock::time_point start;
    uint64_t trace_id = 0;  // the request's trace id (0: not traced)
    std::string method;     // the rest only when logging
    std::string target;
    std::string range;
    int status = 0;
    const char* cache = "";      // the exchange's cache status, for the log line
    int x_cache = 0;             // the answer's x-cache, as a histogram label index
    std::string request_id;      // the answer's x-amz-request-id (when logging or tracing)
    uint64_t sent_at_start = 0;  // the connection's byte count when the answer began
    uint64_t sent = 0;

    // A request head was parsed: starts the clock, gives the request its trace id (when tracing)
    // and emits req.recv. `conn` and `stream` (0 for HTTP/1.1) only go to the trace.
    void begin(http::Request& req, bool log_line, const char* protocol, uint64_t conn,
               int32_t stream);
    // The transport took the response head: time to first byte, req.answer.
    void answered(const http::ResponseHead& head, const char* cache_status);
};

// "ip:port" / "[ip6]:port" of a connected socket's peer, "-" if unknown. Asked when a
// connection's first request is logged: after a reset the kernel no longer knows it.
std::string peer_address(int fd);

// Ends the record (if it is active): the duration histogram, req.done, the access-log line
// (`client` is only asked for that line).
void end_request(AccessRecord& record, const std::string& client, std::string_view outcome);

}  // namespace xs3::proxy
