// Endpoint parsing and S3 URL construction.
#include "xs3/s3/url.hpp"

#include "xs3/base/ascii.hpp"
#include "xs3/s3/confinement.hpp"
#include "xs3/s3/sigv4.hpp"

namespace xs3::s3 {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || is_digit(c);
}
bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool iequals_prefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (ascii_lower(s[i]) != prefix[i]) return false;
    return true;
}

bool is_ipv4(std::string_view h) {
    int parts = 0;
    size_t i = 0;
    while (i <= h.size()) {
        size_t start = i;
        while (i < h.size() && is_digit(h[i]))
            ++i;
        if (i == start || i - start > 3) return false;
        int value = 0;
        for (size_t k = start; k < i; ++k)
            value = value * 10 + (h[k] - '0');
        if (value > 255) return false;
        ++parts;
        if (i == h.size()) break;
        if (h[i] != '.') return false;
        ++i;
    }
    return parts == 4;
}

// DNS host name: labels of letters, digits and '-', not starting or ending with '-'.
bool is_hostname(std::string_view h) {
    if (h.empty() || h.size() > 253) return false;
    size_t label = 0;
    for (size_t i = 0; i <= h.size(); ++i) {
        if (i == h.size() || h[i] == '.') {
            if (label == 0 || label > 63 || h[i - 1] == '-' || h[i - label] == '-') return false;
            label = 0;
            continue;
        }
        if (!is_alpha(h[i]) && !is_digit(h[i]) && h[i] != '-' && h[i] != '_') return false;
        ++label;
    }
    return true;
}

Status bad_url(std::string_view url, std::string_view why) {
    return Status(Code::invalid_argument,
                  "invalid endpoint URL \"" + std::string(url) + "\": " + std::string(why));
}

}  // namespace

bool is_ip_literal(std::string_view host) {
    return (!host.empty() && host.front() == '[') || is_ipv4(host);
}

Result<Endpoint> parse_endpoint_url(std::string_view url) {
    Endpoint ep;
    std::string_view rest;
    if (iequals_prefix(url, "https://")) {
        ep.scheme = "https";
        rest = url.substr(8);
    } else if (iequals_prefix(url, "http://")) {
        ep.scheme = "http";
        rest = url.substr(7);
    } else {
        return bad_url(url, "must start with http:// or https://");
    }

    const size_t auth_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, auth_end);
    if (auth_end != std::string_view::npos && rest.substr(auth_end) != "/")
        return bad_url(url, "must not contain a path, query or fragment");
    if (authority.find('@') != std::string_view::npos)
        return bad_url(url, "must not contain user info (credentials belong elsewhere)");
    if (authority.empty()) return bad_url(url, "missing host");

    std::string_view host;
    std::string_view port_text;
    bool has_port = false;
    if (authority.front() == '[') {
        const size_t close = authority.find(']');
        if (close == std::string_view::npos) return bad_url(url, "unterminated IPv6 literal");
        host = authority.substr(0, close + 1);
        std::string_view inner = host.substr(1, host.size() - 2);
        if (inner.empty() || inner.find(':') == std::string_view::npos)
            return bad_url(url, "bad IPv6 literal");
        for (char c : inner)
            if (!is_hex(c) && c != ':' && c != '.') return bad_url(url, "bad IPv6 literal");
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return bad_url(url, "junk after IPv6 literal");
            has_port = true;
            port_text = after.substr(1);
        }
    } else {
        const size_t colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            has_port = true;
            port_text = authority.substr(colon + 1);
        }
        if (!is_hostname(host)) return bad_url(url, "bad host name");
    }
    if (has_port) {
        if (port_text.empty() || port_text.size() > 5) return bad_url(url, "bad port");
        unsigned long p = 0;
        for (char c : port_text) {
            if (!is_digit(c)) return bad_url(url, "bad port");
            p = p * 10 + static_cast<unsigned long>(c - '0');
        }
        if (p == 0 || p > 65535) return bad_url(url, "port out of range 1-65535");
        ep.port = static_cast<uint16_t>(p);
    }
    ep.host = ascii_lowercase(host);
    ep.path_style = is_ip_literal(ep.host) || ep.host.find('.') == std::string::npos;
    return ep;
}

Endpoint default_endpoint(std::string_view region) {
    Endpoint ep;
    ep.host = "s3." + std::string(region) + "." + std::string(aws_dns_suffix(region));
    return ep;
}

bool is_valid_region(std::string_view r) {
    if (r.empty() || r.size() > 63) return false;
    if (!is_lower_alnum(r.front()) || !is_lower_alnum(r.back())) return false;
    for (char c : r)
        if (!is_lower_alnum(c) && c != '-') return false;
    return true;
}

std::string_view aws_dns_suffix(std::string_view region) {
    return region.substr(0, 3) == "cn-" ? "amazonaws.com.cn" : "amazonaws.com";
}

Result<Endpoint> aws_s3_endpoint(std::string_view region, AwsEndpointOptions options) {
    if (!is_valid_region(region))
        return Status(Code::invalid_argument,
                      "invalid region \"" + std::string(region.substr(0, 64)) +
                          "\" (want lowercase letters, digits and '-', like us-east-1)");
    if (options.fips && region.substr(0, 3) == "cn-")
        return Status(Code::invalid_argument, "the China regions have no FIPS endpoints (region " +
                                                  std::string(region) + ")");
    Endpoint ep;
    ep.host = options.fips ? "s3-fips." : "s3.";
    if (options.dualstack) ep.host += "dualstack.";
    ep.host += std::string(region) + "." + std::string(aws_dns_suffix(region));
    return ep;
}

std::optional<std::string> endpoint_url_from_env(
    const std::function<const char*(const char*)>& getenv_fn, std::string_view service_id) {
    const std::string specific = "AWS_ENDPOINT_URL_" + std::string(service_id);
    for (const char* name : {specific.c_str(), "AWS_ENDPOINT_URL"}) {
        const char* v = getenv_fn(name);
        if (v != nullptr && *v != '\0') return std::string(v);
    }
    return std::nullopt;
}

std::string uri_encode_key(std::string_view key) {
    return sigv4_uri_encode(key, true);
}

bool is_valid_bucket_name(std::string_view b) {
    if (b.size() < 3 || b.size() > 255) return false;
    for (char c : b)
        if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '-' && c != '_') return false;
    return true;
}

bool is_dns_compatible_bucket_name(std::string_view b) {
    if (b.size() < 3 || b.size() > 63) return false;
    if (!is_lower_alnum(b.front()) || !is_lower_alnum(b.back())) return false;
    for (char c : b)
        if (!is_lower_alnum(c) && c != '-') return false;
    return true;
}

Result<ObjectUrl> build_object_request(const Endpoint& endpoint, std::string_view bucket,
                                       std::string_view key,
                                       std::span<const std::pair<std::string, std::string>> query) {
    if (!is_valid_bucket_name(bucket))
        return Status(Code::invalid_argument, "invalid bucket name \"" + std::string(bucket) +
                                                  "\" (want 3-255 of A-Za-z0-9 . - _)");
    if (endpoint.host.empty()) return Status(Code::invalid_argument, "endpoint has no host");

    ObjectUrl out;
    out.virtual_hosted = !endpoint.path_style && is_dns_compatible_bucket_name(bucket) &&
                         !is_ip_literal(endpoint.host);
    std::string host;
    if (out.virtual_hosted) {
        host = std::string(bucket) + "." + endpoint.host;
        out.canonical_uri = "/" + uri_encode_key(key);
    } else {
        host = endpoint.host;
        out.canonical_uri = "/" + std::string(bucket);
        if (!key.empty()) out.canonical_uri += "/" + uri_encode_key(key);
    }
    out.host_header = host;
    if (endpoint.port && *endpoint.port != endpoint.default_port())
        out.host_header += ":" + std::to_string(*endpoint.port);
    // The allow-list holds on the bytes that reach the origin: the path as sent (bucket and key,
    // encoded) must not hold a piece any store could resolve as "." or "..".
    if (Status confined = check_key_confined(key); !confined.ok()) return confined;
    if (has_dot_segment(out.canonical_uri))
        return Status(Code::invalid_argument, "the request path has a '.' or '..' segment");
    out.canonical_query = canonical_query_string(query);
    out.url = endpoint.scheme + "://" + out.host_header + out.canonical_uri;
    if (!out.canonical_query.empty()) out.url += "?" + out.canonical_query;
    return out;
}

}  // namespace xs3::s3
