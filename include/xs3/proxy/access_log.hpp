// The access log (--access-log): one line per request, when its answer is over, through the
// logger (written whatever --log-level says; dropped, and counted, only if the log queue is full):
//
//   level=info msg="access" proto=h1 client=127.0.0.1:5012 method=GET target="/a/b?x=1"
//     range="bytes=0-9" status=206 cache=HIT sent=312 ms=0.41 outcome=complete
//     request_id=3F2A1000000000A7
//
// `sent` counts the bytes written to the socket for this answer (head and body; for HTTP/2 the
// DATA payload queued for the stream). `outcome`: complete, cut (the body could not be completed:
// connection closed or stream reset), aborted (the client went away or the connection closed
// first), reset (an HTTP/2 client reset the stream).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "xs3/http/request.hpp"
#include "xs3/http/response.hpp"

namespace xs3::proxy {

struct AccessRecord {
    bool active = false;  // a request is being answered and not yet logged
    std::chrono::steady_clock::time_point start;
    std::string method;
    std::string target;
    std::string range;
    int status = 0;
    const char* cache = "";
    std::string request_id;      // the answer's x-amz-request-id
    uint64_t sent_at_start = 0;  // the connection's byte count when the answer began
    uint64_t sent = 0;

    void begin(const http::Request& req);
};

// "ip:port" / "[ip6]:port" of a connected socket's peer, "-" if unknown. Asked when a
// connection's first request is logged: after a reset the kernel no longer knows it.
std::string peer_address(int fd);

// Records what the answer's head says (status, request id); `cache` is the exchange's x-cache.
void note_response(AccessRecord& record, const http::ResponseHead& head, const char* cache);

// Writes the record's line (if it is active) and clears it.
void log_access(AccessRecord& record, const char* proto, const std::string& client,
                std::string_view outcome);

}  // namespace xs3::proxy
