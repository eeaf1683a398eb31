// Request: one parsed HTTP request head (method, raw target split into path and query, version,
// fields, connection semantics), percent_decode for turning a raw path into a key, and
// parse_query for the query's parameters.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
};

// Decodes %XX escapes. '+' is left alone (paths are not form data). Fails on a malformed escape
// and on %00, which no S3 key or file name can hold.
Result<std::string> percent_decode(std::string_view s);

// A raw query string split into its parameters: "a=1&b=&c" -> {a,1},{b,""},{c,""}, each name
// and value percent-decoded, empty parts skipped; an error names the bad part.
Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query);

}  // namespace xs3::http
