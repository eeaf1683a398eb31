// The client checks of the request walk, before anything is routed:
//  - admit_connection: --allow-clients, at accept (a refused socket is closed unanswered);
//  - check_request: with [[clients]], the request's SigV4 signature (s3/sigv4_verify.hpp) over
//    the request exactly as received (Host or :authority, raw path and query), and the S3 error
//    answer when it fails.
// Refusals are counted; connection refusals are logged at most once a second per process, with
// how many were not logged, so a scan of the port cannot flood the log.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

#include "xs3/http/request.hpp"
#include "xs3/net/cidr.hpp"
#include "xs3/s3/sigv4_verify.hpp"

namespace xs3::proxy {

struct ClientVerdict {
    const s3::ClientKey* client = nullptr;  // whose signature matched
    // When refused: the S3 error to answer with (status, code, message, S3's extra elements).
    std::optional<s3::AuthError> refusal;
};

ClientVerdict check_request(const s3::SigV4Verifier& verifier, const http::Request& request,
                            std::time_t now);

// True when `fd`'s peer is inside `allowed` (or `allowed` is empty). A refused peer is counted
// in `refused` and logged (rate-limited); the caller closes the socket.
bool admit_connection(int fd, const net::CidrSet& allowed, std::atomic<uint64_t>& refused);

}  // namespace xs3::proxy
