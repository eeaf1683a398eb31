// S3 endpoints and request URLs: parsing a configured endpoint URL, the default AWS endpoint for a
// region, object-key encoding, bucket-name rules, and virtual-hosted vs path-style addressing.
//
// The transport must send the URL exactly as built: with libcurl that means CURLOPT_PATH_AS_IS,
// because S3 keys may contain "//", "./" and "../", which curl would otherwise squash, and S3
// signs the path as sent.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "xs3/base/status.hpp"

namespace xs3::s3 {

struct Endpoint {
    std::string scheme = "https";  // "https" or "http", lowercase
    std::string host;              // lowercase; an IPv6 literal keeps its brackets: "[::1]"
    std::optional<uint16_t> port;  // only when the URL named one
    // Path style puts the bucket in the path (/bucket/key) instead of the host name.
    bool path_style = false;

    uint16_t default_port() const { return scheme == "http" ? 80 : 443; }
    uint16_t effective_port() const { return port ? *port : default_port(); }
};

// "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000", "http://[::1]:9000/".
// Only a scheme, a host and an optional port (a trailing '/' is tolerated); user info, paths,
// queries and fragments are errors. path_style defaults to true for IP literals and single-label
// hosts ("localhost", "minio"), where a bucket cannot be a DNS label, and false otherwise; the
// caller's configuration may override it.
Result<Endpoint> parse_endpoint_url(std::string_view url);

// https://s3.<region>.amazonaws.com (".amazonaws.com.cn" for the cn- regions), virtual-hosted.
Endpoint default_endpoint(std::string_view region);

// AWS region names as they may appear in a host name: 1-63 of [a-z0-9-], starting and ending
// with a letter or digit ("us-east-1", "eu-central-2", "us-gov-west-1").
bool is_valid_region(std::string_view region);

// "amazonaws.com", or "amazonaws.com.cn" for the cn- regions.
std::string_view aws_dns_suffix(std::string_view region);

struct AwsEndpointOptions {
    bool dualstack = false;  // IPv4 and IPv6: s3.dualstack.<region>.amazonaws.com
    bool fips = false;       // FIPS 140 validated: s3-fips.<region>.amazonaws.com
};

// The AWS S3 endpoint of `region` with the asked variants (both: s3-fips.dualstack.<region>...).
// Fails for a region that cannot be a host name label and for FIPS in the China regions, which
// have no FIPS endpoints.
Result<Endpoint> aws_s3_endpoint(std::string_view region, AwsEndpointOptions options);

bool is_ip_literal(std::string_view host);

// Object key for the URL path: unreserved bytes (A-Za-z0-9-._~) and '/' kept, every other byte
// %XX-encoded with uppercase hex. The result is also the S3 canonical URI (no double encoding).
std::string uri_encode_key(std::string_view key);

// The endpoint URL the AWS SDKs take from the environment for a service: AWS_ENDPOINT_URL_<ID>
// (e.g. AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_STS), else AWS_ENDPOINT_URL; nullopt when neither
// is set. `service_id` is the upper-case id ("S3", "STS").
std::optional<std::string> endpoint_url_from_env(
    const std::function<const char*(const char*)>& getenv_fn, std::string_view service_id);

// Names S3 can address at all, including legacy us-east-1 names: 3-255 characters of
// [A-Za-z0-9._-]. Anything else cannot be put into a URL safely and is rejected.
bool is_valid_bucket_name(std::string_view bucket);

// Names usable as a DNS label in virtual-hosted URLs: 3-63 of [a-z0-9-], starting and ending with
// a letter or digit. Names with '.', uppercase or '_' are valid only with path-style addressing
// ('.' would also break the TLS wildcard certificate *.s3.<region>.amazonaws.com).
bool is_dns_compatible_bucket_name(std::string_view bucket);

struct ObjectUrl {
    std::string url;              // full URL for the transport
    std::string host_header;      // Host value: host, plus ":port" when not the scheme default
    std::string canonical_uri;    // the encoded path, as sent and as signed
    std::string canonical_query;  // the query after '?', as sent and as signed ("" for none)
    bool virtual_hosted = false;
};

// Builds the URL of bucket/key (key may be empty for bucket-level requests) with raw,
// unencoded query pairs. Virtual-hosted unless the endpoint asks for path style, the bucket is not
// DNS-compatible, or the endpoint host is an IP literal. Every request the proxy sends to an
// origin is built here, so this is where keys are confined to their bucket: a path with a "." or
// ".." segment at any level of percent-decoding is refused (s3/confinement.hpp).
Result<ObjectUrl> build_object_request(
    const Endpoint& endpoint, std::string_view bucket, std::string_view key,
    std::span<const std::pair<std::string, std::string>> query = {});

}  // namespace xs3::s3
