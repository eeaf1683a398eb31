// Request: one parsed HTTP request head (method, raw target split into path and query, version,
// fields, connection semantics). percent_decode and parse_query (base/percent.hpp) are also
// reachable as http:: names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xs3/base/percent.hpp"
#include "xs3/base/status.hpp"
#include "xs3/http/headers.hpp"

namespace xs3::http {

enum class Method { get, head, other };

struct Request {
    Method method = Method::other;
    std::string method_name;  // as sent: "GET", "DELETE", ...
    std::string target;       // raw request-target
    std::string path;         // raw (still percent-encoded) path; "/" for "http://host"; "*" for
                              // asterisk-form; empty for CONNECT's authority-form
    std::string query;        // raw, without '?'
    int version_major = 1;
    int version_minor = 1;
    Headers headers;
    bool keep_alive = true;
    // Upgrade lists h2c, Connection lists upgrade, and exactly one HTTP2-Settings field is present.
    bool upgrade_h2c = false;
    // A body was announced (Content-Length > 0 or Transfer-Encoding) that nobody has read: the
    // HTTP/1.1 parser hands over requests other than GET and HEAD at the end of their head, since
    // they are refused whatever the body holds. The connection cannot be reused after them
    // (keep_alive is false).
    bool body_unread = false;
    // The request's id in the --debug-trace (0: not traced); set by the transport.
    uint64_t trace_id = 0;
};

using xs3::parse_query;
using xs3::percent_decode;

}  // namespace xs3::http
