// Percent-encoding as URLs carry it: percent_decode for a raw path or query part, parse_query for
// a raw query's parameters. Pure; shared by the HTTP request model, the S3 request classifier and
// the admin routes.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xs3/base/status.hpp"

namespace xs3 {

// Decodes %XX escapes. '+' is left alone (paths are not form data). Fails on a malformed escape
// and on %00, which no S3 key or file name can hold.
Result<std::string> percent_decode(std::string_view s);

// A raw query string split into its parameters: "a=1&b=&c" -> {a,1},{b,""},{c,""}, each name
// and value percent-decoded, empty parts skipped; an error names the bad part.
Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query);

}  // namespace xs3
