// SigV4 canonicalization and signing.
#include "xs3/s3/sigv4.hpp"

#include <algorithm>
#include <cstdio>

#include "xs3/base/ascii.hpp"

namespace xs3::s3 {
namespace {

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string trim(std::string_view v) {
    size_t b = 0, e = v.size();
    while (b < e && is_space(v[b]))
        ++b;
    while (e > b && is_space(v[e - 1]))
        --e;
    return std::string(v.substr(b, e - b));
}

std::string format_utc(std::time_t t, const char* fmt) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    size_t n = std::strftime(buf, sizeof buf, fmt, &tm);
    return std::string(buf, n);
}

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

}  // namespace

// Trims both ends and turns every inner run of whitespace into one space ("a   b" -> "a b"),
// which also folds obsolete multi-line header values into one line.
std::string canonical_header_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    bool pending_space = false;
    for (char c : v) {
        if (is_space(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) out += ' ';
        pending_space = false;
        out += c;
    }
    return out;
}

std::string credential_scope(std::string_view date_stamp, std::string_view region,
                             std::string_view service) {
    std::string scope;
    scope.reserve(date_stamp.size() + region.size() + service.size() + 16);
    scope += date_stamp;
    scope += '/';
    scope += region;
    scope += '/';
    scope += service;
    scope += "/aws4_request";
    return scope;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
    std::string sts;
    sts.reserve(kAlgorithm.size() + amz_date.size() + scope.size() + 67);
    sts += kAlgorithm;
    sts += '\n';
    sts += amz_date;
    sts += '\n';
    sts += scope;
    sts += '\n';
    sts += sha256_hex(canonical_request);
    return sts;
}

std::string amz_date(std::time_t t) {
    return format_utc(t, "%Y%m%dT%H%M%SZ");
}
std::string amz_date_stamp(std::time_t t) {
    return format_utc(t, "%Y%m%d");
}

std::string sigv4_uri_encode(std::string_view raw, bool keep_slash) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(raw.size() + raw.size() / 2);
    for (char ch : raw) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0x0f];
        }
    }
    return out;
}

std::string canonical_query_string(std::span<const std::pair<std::string, std::string>> query) {
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(query.size());
    for (const auto& [name, value] : query)
        encoded.emplace_back(sigv4_uri_encode(name), sigv4_uri_encode(value));
    // Byte order of the encoded forms; std::string compares as unsigned char via char_traits.
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    for (const auto& [name, value] : encoded) {
        if (!out.empty()) out += '&';
        out += name;
        out += '=';
        out += value;
    }
    return out;
}

std::string normalize_uri_path(std::string_view path) {
    std::vector<std::string_view> segments;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t next = path.find('/', pos);
        if (next == std::string_view::npos) next = path.size();
        std::string_view seg = path.substr(pos, next - pos);
        if (seg == "..") {
            if (!segments.empty()) segments.pop_back();
        } else if (!seg.empty() && seg != ".") {
            segments.push_back(seg);
        }
        pos = next + 1;
    }
    std::string out;
    for (auto seg : segments) {
        out += '/';
        out += seg;
    }
    if (out.empty()) return "/";
    if (path.back() == '/') out += '/';
    return out;
}

SigV4Signer::SigV4Signer(std::string region, std::string service, SigV4Options options)
    : region_(std::move(region)), service_(std::move(service)), options_(options) {}

Sha256Digest SigV4Signer::derive_signing_key(std::string_view secret, std::string_view date_stamp,
                                             std::string_view region, std::string_view service) {
    std::string k_secret = "AWS4";
    k_secret += secret;
    const Sha256Digest k_date = hmac_sha256(k_secret, date_stamp);
    // Wipe the copy of the secret rather than leave it in freed heap memory.
    std::fill(k_secret.begin(), k_secret.end(), '\0');
    const Sha256Digest k_region = hmac_sha256(k_date, region);
    const Sha256Digest k_service = hmac_sha256(k_region, service);
    return hmac_sha256(k_service, "aws4_request");
}

SigningResult SigV4Signer::sign(const SigningRequest& req, const Credentials& creds) const {
    SigningResult result;
    if (creds.anonymous()) return result;

    const std::string date = amz_date(req.timestamp);
    const std::string date_stamp = amz_date_stamp(req.timestamp);

    // Headers the signer owns; the caller's copies of them are dropped.
    KeyValueList added;
    added.emplace_back("X-Amz-Date", date);
    if (options_.add_content_sha256)
        added.emplace_back("X-Amz-Content-SHA256", std::string(req.payload_hash));
    if (!creds.session_token.empty())
        added.emplace_back("X-Amz-Security-Token", creds.session_token);

    struct Entry {
        std::string name;
        std::string value;
    };
    std::vector<Entry> entries;
    entries.reserve(req.headers.size() + added.size());
    for (const auto& [name, value] : req.headers) {
        std::string n = ascii_lowercase(trim(name));
        if (n == "x-amz-date" || n == "x-amz-content-sha256" || n == "x-amz-security-token" ||
            n == "authorization")
            continue;
        entries.push_back({std::move(n), canonical_header_value(value)});
    }
    for (const auto& [name, value] : added)
        entries.push_back({ascii_lowercase(name), canonical_header_value(value)});
    // Stable: values of a repeated header keep the order the caller gave them in.
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) { return a.name < b.name; });

    std::string canonical_headers;
    std::string signed_headers;
    for (size_t i = 0; i < entries.size();) {
        const std::string& name = entries[i].name;
        canonical_headers += name;
        canonical_headers += ':';
        canonical_headers += entries[i].value;
        size_t j = i + 1;
        for (; j < entries.size() && entries[j].name == name; ++j) {
            canonical_headers += ',';
            canonical_headers += entries[j].value;
        }
        canonical_headers += '\n';
        if (!signed_headers.empty()) signed_headers += ';';
        signed_headers += name;
        i = j;
    }

    std::string uri;
    std::string_view path = req.canonical_uri.empty() ? std::string_view("/") : req.canonical_uri;
    if (options_.normalize_path) {
        uri = normalize_uri_path(path);
        path = uri;
    }
    if (options_.double_encode_path)
        uri = sigv4_uri_encode(path, /*keep_slash=*/true);
    else
        uri = std::string(path);

    std::string& creq = result.canonical_request;
    creq.reserve(256 + canonical_headers.size() + uri.size());
    creq += req.method;
    creq += '\n';
    creq += uri;
    creq += '\n';
    creq += canonical_query_string(req.query);
    creq += '\n';
    creq += canonical_headers;
    creq += '\n';
    creq += signed_headers;
    creq += '\n';
    creq += req.payload_hash;

    const std::string scope = credential_scope(date_stamp, region_, service_);
    result.string_to_sign = string_to_sign(date, scope, creq);
    const std::string& sts = result.string_to_sign;

    const Sha256Digest key =
        derive_signing_key(creds.secret_access_key, date_stamp, region_, service_);
    result.signature = hex_lower(hmac_sha256(key, sts));
    result.signed_headers = std::move(signed_headers);

    result.authorization = std::string(kAlgorithm) + " Credential=" + creds.access_key_id + "/" +
                           scope + ", SignedHeaders=" + result.signed_headers +
                           ", Signature=" + result.signature;
    result.headers = std::move(added);
    result.headers.emplace_back("Authorization", result.authorization);
    return result;
}

}  // namespace xs3::s3
