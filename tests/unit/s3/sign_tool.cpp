// Test helper for the botocore differential test (botocore_diff.py): builds the URL and signs one
// S3 request per input line with xs3's code, so the script can compare with botocore's result.
//
// Input line: whitespace-separated fields, each "x" + hex of the raw bytes (so empty strings,
// spaces and any byte survive):
//   endpoint_url path_style(0/1/"" = endpoint default) region bucket key timestamp access_key
//   secret_key session_token method payload_hash query_count {name value}... header_count
//   {name value}...
// Output line: "OK <url> <authorization-hex> <canonical-request-hex>" or "ERROR <message>".
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "hex_fields.hpp"
#include "xs3/base/digest.hpp"
#include "xs3/s3/sigv4.hpp"
#include "xs3/s3/url.hpp"

namespace {

std::string handle(const std::string& line) {
    std::vector<std::string> f;
    if (!xs3::test::read_hex_fields(line, f)) return "ERROR bad field encoding";
    size_t i = 0;
    auto next = [&](std::string& out) {
        if (i >= f.size()) return false;
        out = f[i++];
        return true;
    };
    std::string url, path_style, region, bucket, key, ts, method, payload_hash, count;
    xs3::s3::Credentials creds;
    if (!next(url) || !next(path_style) || !next(region) || !next(bucket) || !next(key) ||
        !next(ts) || !next(creds.access_key_id) || !next(creds.secret_access_key) ||
        !next(creds.session_token) || !next(method) || !next(payload_hash) || !next(count))
        return "ERROR short line";
    xs3::s3::KeyValueList query, headers;
    for (long n = std::strtol(count.c_str(), nullptr, 10); n > 0; --n) {
        std::string name, value;
        if (!next(name) || !next(value)) return "ERROR short query";
        query.emplace_back(name, value);
    }
    if (!next(count)) return "ERROR short line";
    for (long n = std::strtol(count.c_str(), nullptr, 10); n > 0; --n) {
        std::string name, value;
        if (!next(name) || !next(value)) return "ERROR short headers";
        headers.emplace_back(name, value);
    }

    auto endpoint = url.empty() ? xs3::Result<xs3::s3::Endpoint>(xs3::s3::default_endpoint(region))
                                : xs3::s3::parse_endpoint_url(url);
    if (!endpoint.ok()) return "ERROR " + endpoint.status().to_string();
    if (path_style == "1") endpoint->path_style = true;
    if (path_style == "0") endpoint->path_style = false;
    auto object = xs3::s3::build_object_request(*endpoint, bucket, key, query);
    if (!object.ok()) return "ERROR " + object.status().to_string();

    headers.insert(headers.begin(), {"Host", object->host_header});
    xs3::s3::SigningRequest req;
    req.method = method;
    req.canonical_uri = object->canonical_uri;
    req.query = query;
    req.headers = headers;
    req.payload_hash = payload_hash;
    req.timestamp = static_cast<std::time_t>(std::strtoll(ts.c_str(), nullptr, 10));
    const auto signed_req = xs3::s3::SigV4Signer(region, "s3").sign(req, creds);
    return "OK " + object->url + " " + xs3::hex_lower(std::string_view(signed_req.authorization)) +
           " " + xs3::hex_lower(std::string_view(signed_req.canonical_request));
}

}  // namespace

int main() {
    for (std::string line; std::getline(std::cin, line);)
        std::cout << handle(line) << '\n';
    return 0;
}
