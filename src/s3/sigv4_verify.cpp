// SigV4 verification of client requests (header and presigned forms).
#include "xs3/s3/sigv4_verify.hpp"

#include <openssl/crypto.h>

#include <algorithm>

#include "xs3/base/ascii.hpp"
#include "xs3/base/digest.hpp"
#include "xs3/s3/credentials.hpp"
#include "xs3/s3/sigv4.hpp"

namespace xs3::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kCredentialShape =
    "expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".";

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}
bool is_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}
bool istarts(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequal(s.substr(0, prefix.size()), prefix);
}
std::string_view trim_sp(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string iso8601(std::time_t t) {
    return format_iso8601(std::chrono::system_clock::from_time_t(t));
}

AuthError error(int status, std::string code, std::string message,
                std::vector<std::pair<std::string, std::string>> details = {}) {
    return AuthError{status, std::move(code), std::move(message), std::move(details)};
}

VerifyResult fail(AuthError e, bool presigned) {
    VerifyResult r;
    r.error = std::move(e);
    r.presigned = presigned;
    return r;
}

// The decoded query parameters (name, value) in order.
std::vector<std::pair<std::string, std::string>> decoded_query(std::string_view raw) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t pos = 0;
    while (pos <= raw.size()) {
        size_t amp = raw.find('&', pos);
        if (amp == std::string_view::npos) amp = raw.size();
        std::string_view part = raw.substr(pos, amp - pos);
        if (!part.empty()) {
            size_t eq = part.find('=');
            std::string_view name = part.substr(0, eq);
            std::string_view value =
                eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
            out.emplace_back(percent_decode_lenient(name), percent_decode_lenient(value));
        }
        pos = amp + 1;
    }
    return out;
}

bool valid_payload_hash(std::string_view v) {
    if (v.size() == 64) return std::all_of(v.begin(), v.end(), is_hex);
    static constexpr std::string_view kNamed[] = {
        "UNSIGNED-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    };
    return std::find(std::begin(kNamed), std::end(kNamed), v) != std::end(kNamed);
}

// Everything the two forms share once their fields are extracted.
struct Claim {
    bool presigned = false;
    std::string_view credential;
    std::string_view signed_headers;
    std::string_view signature;
    std::string_view amz_date;
    std::string_view expires;       // query form only
    std::string_view payload_hash;  // as signed
    bool has_token = false;
};

// The error for a malformed piece of the claim, worded for the form it came in.
AuthError malformed(const Claim& c, std::string what) {
    if (c.presigned) return error(400, "AuthorizationQueryParametersError", std::move(what));
    return error(400, "AuthorizationHeaderMalformed",
                 "The authorization header is malformed; " + std::move(what));
}

}  // namespace

bool ClientKey::may_read(std::string_view bucket) const noexcept {
    if (buckets.empty()) return true;
    return std::find(buckets.begin(), buckets.end(), bucket) != buckets.end();
}

std::optional<AuthorizationFields> parse_authorization(std::string_view value) {
    value = trim_sp(value);
    if (value.size() <= kAlgorithm.size() || value.substr(0, kAlgorithm.size()) != kAlgorithm ||
        (value[kAlgorithm.size()] != ' ' && value[kAlgorithm.size()] != '\t'))
        return std::nullopt;
    std::string_view rest = value.substr(kAlgorithm.size());
    AuthorizationFields f;
    bool have_c = false, have_h = false, have_s = false;
    size_t pos = 0;
    while (pos <= rest.size()) {
        size_t comma = rest.find(',', pos);
        if (comma == std::string_view::npos) comma = rest.size();
        std::string_view part = trim_sp(rest.substr(pos, comma - pos));
        pos = comma + 1;
        size_t eq = part.find('=');
        if (eq == std::string_view::npos) return std::nullopt;
        std::string_view name = part.substr(0, eq);
        std::string_view v = part.substr(eq + 1);
        if (v.empty()) return std::nullopt;
        auto take = [&](bool& have, std::string_view& field) {
            if (have) return false;
            have = true;
            field = v;
            return true;
        };
        bool ok = name == "Credential"      ? take(have_c, f.credential)
                  : name == "SignedHeaders" ? take(have_h, f.signed_headers)
                  : name == "Signature"     ? take(have_s, f.signature)
                                            : false;
        if (!ok) return std::nullopt;
    }
    if (!have_c || !have_h || !have_s) return std::nullopt;
    return f;
}

std::optional<CredentialFields> parse_credential(std::string_view credential) {
    std::string_view parts[5];
    size_t n = 0, pos = 0;
    while (pos <= credential.size()) {
        size_t slash = credential.find('/', pos);
        if (slash == std::string_view::npos) slash = credential.size();
        if (n == 5) return std::nullopt;
        parts[n++] = credential.substr(pos, slash - pos);
        pos = slash + 1;
    }
    if (n != 5) return std::nullopt;
    for (auto p : parts)
        if (p.empty()) return std::nullopt;
    return CredentialFields{parts[0], parts[1], parts[2], parts[3], parts[4]};
}

std::optional<std::time_t> parse_amz_date(std::string_view t) {
    if (t.size() != 16 || t[8] != 'T' || t[15] != 'Z') return std::nullopt;
    if (!is_digits(t.substr(0, 8)) || !is_digits(t.substr(9, 6))) return std::nullopt;
    auto num = [&](size_t at, size_t len) {
        unsigned v = 0;
        for (size_t i = at; i < at + len; ++i)
            v = v * 10 + static_cast<unsigned>(t[i] - '0');
        return v;
    };
    const unsigned y = num(0, 4), mo = num(4, 2), d = num(6, 2);
    const unsigned h = num(9, 2), mi = num(11, 2), s = num(13, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return std::nullopt;
    static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    const unsigned last = kDays[mo - 1] + (mo == 2 && leap ? 1 : 0);
    if (d > last) return std::nullopt;
    const int64_t days = days_from_civil(y, mo, d);
    return static_cast<std::time_t>(days * 86400 + h * 3600 + mi * 60 + s);
}

std::string percent_decode_lenient(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '%' && i + 2 < raw.size() && is_hex(raw[i + 1]) && is_hex(raw[i + 2])) {
            out += static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2]));
            i += 2;
        } else {
            out += raw[i];
        }
    }
    return out;
}

std::string canonical_query_from_raw(std::string_view raw_query, bool drop_signature) {
    auto pairs = decoded_query(raw_query);
    if (drop_signature)
        std::erase_if(pairs, [](const auto& p) { return p.first == "X-Amz-Signature"; });
    return canonical_query_string(pairs);
}

std::string canonical_path_from_raw(std::string_view raw_path) {
    if (raw_path.empty()) return "/";
    return sigv4_uri_encode(percent_decode_lenient(raw_path), /*keep_slash=*/true);
}

SigV4Verifier::SigV4Verifier(std::vector<ClientKey> clients, VerifyOptions options)
    : clients_(std::move(clients)), options_(std::move(options)) {}

const ClientKey* SigV4Verifier::find(std::string_view access_key_id) const noexcept {
    for (const auto& c : clients_)
        if (c.access_key_id == access_key_id) return &c;
    return nullptr;
}

VerifyResult SigV4Verifier::verify(const ReceivedRequest& req) const {
    // Which form: the Authorization header, the query, both or neither.
    const std::string_view* authorization = nullptr;
    size_t authorization_count = 0;
    for (const auto& [name, value] : req.headers)
        if (iequal(name, "authorization")) {
            if (authorization == nullptr) authorization = &value;
            ++authorization_count;
        }
    const auto query = decoded_query(req.query);
    auto query_value = [&](std::string_view name) -> const std::string* {
        for (const auto& [n, v] : query)
            if (n == name) return &v;
        return nullptr;
    };
    auto query_count = [&](std::string_view name) {
        return std::count_if(query.begin(), query.end(),
                             [&](const auto& p) { return p.first == name; });
    };
    const bool query_form = query_value("X-Amz-Algorithm") || query_value("X-Amz-Credential") ||
                            query_value("X-Amz-Signature");
    const bool query_v2 = query_value("Signature") || query_value("AWSAccessKeyId");

    if (authorization != nullptr && (query_form || query_v2))
        return fail(error(400, "InvalidArgument",
                          "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                          "parameter, Signature query string parameter or the Authorization "
                          "header should be specified",
                          {{"ArgumentName", "Authorization"}}),
                    query_form);
    if (authorization == nullptr && !query_form) {
        if (query_v2)
            return fail(error(400, "InvalidRequest",
                              "The authorization mechanism you have provided is not supported. "
                              "Please use AWS4-HMAC-SHA256."),
                        true);
        return fail(error(403, "AccessDenied", "Access Denied"), false);
    }

    Claim c;
    c.presigned = query_form;
    if (!c.presigned) {
        if (!istarts(*authorization, kAlgorithm))
            return fail(error(400, "InvalidRequest",
                              "The authorization mechanism you have provided is not supported. "
                              "Please use AWS4-HMAC-SHA256."),
                        false);
        if (authorization_count > 1)
            return fail(malformed(c, "more than one Authorization header."), false);
        auto fields = parse_authorization(*authorization);
        if (!fields)
            return fail(malformed(c,
                                  "it must be \"AWS4-HMAC-SHA256 Credential=..., "
                                  "SignedHeaders=..., Signature=...\"."),
                        false);
        c.credential = fields->credential;
        c.signed_headers = fields->signed_headers;
        c.signature = fields->signature;
    } else {
        static constexpr std::string_view kRequired[] = {"X-Amz-Algorithm",     "X-Amz-Credential",
                                                         "X-Amz-Signature",     "X-Amz-Date",
                                                         "X-Amz-SignedHeaders", "X-Amz-Expires"};
        for (auto name : kRequired)
            if (query_count(name) != 1)
                return fail(error(400, "AuthorizationQueryParametersError",
                                  "Query-string authentication version 4 requires the "
                                  "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "
                                  "X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires "
                                  "parameters, each once."),
                            true);
        if (*query_value("X-Amz-Algorithm") != kAlgorithm)
            return fail(error(400, "AuthorizationQueryParametersError",
                              "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""),
                        true);
        c.credential = *query_value("X-Amz-Credential");
        c.signed_headers = *query_value("X-Amz-SignedHeaders");
        c.signature = *query_value("X-Amz-Signature");
        c.amz_date = *query_value("X-Amz-Date");
        c.expires = *query_value("X-Amz-Expires");
    }

    // Header lookups (case-insensitive names), all values of a name in order.
    auto header_values = [&](std::string_view name) {
        std::vector<std::string_view> values;
        for (const auto& [n, v] : req.headers)
            if (iequal(n, name)) values.push_back(v);
        return values;
    };
    auto first_header = [&](std::string_view name) -> std::optional<std::string_view> {
        for (const auto& [n, v] : req.headers)
            if (iequal(n, name)) return v;
        return std::nullopt;
    };

    // The credential scope.
    auto cred = parse_credential(c.credential);
    if (!cred)
        return fail(c.presigned ? error(400, "AuthorizationQueryParametersError",
                                        "Error parsing the X-Amz-Credential parameter; the "
                                        "Credential is mal-formed; " +
                                            std::string(kCredentialShape))
                                : malformed(c, "the Credential is mal-formed; " +
                                                   std::string(kCredentialShape)),
                    c.presigned);
    if (cred->terminator != "aws4_request")
        return fail(malformed(c, "incorrect terminal \"" + std::string(cred->terminator) +
                                     "\". This endpoint uses \"aws4_request\"."),
                    c.presigned);
    if (cred->service != options_.service)
        return fail(malformed(c, "incorrect service \"" + std::string(cred->service) +
                                     "\". This endpoint belongs to \"" + options_.service + "\"."),
                    c.presigned);
    if (!options_.regions.empty() && std::find(options_.regions.begin(), options_.regions.end(),
                                               cred->region) == options_.regions.end()) {
        AuthError e = malformed(c, "the region '" + std::string(cred->region) +
                                       "' is wrong; expecting '" + options_.regions.front() + "'");
        e.details.emplace_back("Region", options_.regions.front());
        return fail(std::move(e), c.presigned);
    }

    // The request's date.
    if (!c.presigned) {
        auto d = first_header("x-amz-date");
        if (!d)
            return fail(error(403, "AccessDenied",
                              "AWS authentication requires a valid Date or x-amz-date header"),
                        false);
        c.amz_date = trim_sp(*d);
    }
    const auto when = parse_amz_date(c.amz_date);
    if (!when) {
        if (c.presigned)
            return fail(error(400, "AuthorizationQueryParametersError",
                              "X-Amz-Date must be in the ISO8601 Long Format "
                              "\"yyyyMMdd'T'HHmmss'Z'\""),
                        true);
        return fail(error(403, "AccessDenied",
                          "AWS authentication requires a valid Date or x-amz-date header"),
                    false);
    }
    if (cred->date != c.amz_date.substr(0, 8))
        return fail(malformed(c, "Invalid credential date \"" + std::string(cred->date) +
                                     "\". This date is not the same as X-Amz-Date: \"" +
                                     std::string(c.amz_date.substr(0, 8)) + "\"."),
                    c.presigned);

    const ClientKey* client = find(cred->access_key_id);
    if (client == nullptr)
        return fail(error(403, "InvalidAccessKeyId",
                          "The AWS Access Key Id you provided does not exist in our records.",
                          {{"AWSAccessKeyId", std::string(cred->access_key_id)}}),
                    c.presigned);

    const int64_t skew = options_.max_skew.count();
    if (!c.presigned) {
        if (*when > req.now + skew || *when < req.now - skew)
            return fail(error(403, "RequestTimeTooSkewed",
                              "The difference between the request time and the current time "
                              "is too large.",
                              {{"RequestTime", std::string(c.amz_date)},
                               {"ServerTime", iso8601(req.now)},
                               {"MaxAllowedSkewMilliseconds", std::to_string(skew * 1000)}}),
                        false);
    } else {
        // At most 7 digits: no overflow below, and anything longer is over a week anyway.
        if (!is_digits(c.expires) || c.expires.size() > 7)
            return fail(
                error(400, "AuthorizationQueryParametersError", "X-Amz-Expires should be a number"),
                true);
        const int64_t expires = std::stoll(std::string(c.expires));
        if (expires > options_.max_presign_expiry.count())
            return fail(error(400, "AuthorizationQueryParametersError",
                              "X-Amz-Expires must be less than a week (in seconds) that is " +
                                  std::to_string(options_.max_presign_expiry.count())),
                        true);
        if (*when > req.now + skew)
            return fail(
                error(403, "AccessDenied", "Request is not valid yet",
                      {{"X-Amz-Date", std::string(c.amz_date)}, {"ServerTime", iso8601(req.now)}}),
                true);
        if (req.now > *when + expires)
            return fail(error(403, "AccessDenied", "Request has expired",
                              {{"X-Amz-Expires", std::string(c.expires)},
                               {"Expires", iso8601(*when + expires)},
                               {"ServerTime", iso8601(req.now)}}),
                        true);
    }

    // The payload hash that was signed.
    std::string presign_payload;
    if (!c.presigned) {
        auto h = first_header("x-amz-content-sha256");
        if (!h)
            return fail(error(400, "InvalidRequest",
                              "Missing required header for this request: x-amz-content-sha256"),
                        false);
        c.payload_hash = trim_sp(*h);
    } else if (const std::string* q = query_value("X-Amz-Content-Sha256")) {
        c.payload_hash = *q;
    } else if (auto h = first_header("x-amz-content-sha256")) {
        c.payload_hash = trim_sp(*h);
    } else {
        c.payload_hash = kUnsignedPayload;
    }
    if (!valid_payload_hash(c.payload_hash))
        return fail(error(400, "InvalidArgument",
                          "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                          "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                          "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
                          "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, "
                          "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 "
                          "value.",
                          {{"ArgumentName", "x-amz-content-sha256"},
                           {"ArgumentValue", std::string(c.payload_hash)}}),
                    c.presigned);

    // The proxy's clients hold long-term keys: a session token was not issued by it.
    if (query_value("X-Amz-Security-Token") || first_header("x-amz-security-token"))
        return fail(
            error(400, "InvalidToken", "The provided token is malformed or otherwise invalid."),
            c.presigned);

    // The signed header names: ';'-separated, each non-empty; host must be one of them.
    std::vector<std::string> signed_names;
    {
        size_t pos = 0;
        while (pos <= c.signed_headers.size()) {
            size_t semi = c.signed_headers.find(';', pos);
            if (semi == std::string_view::npos) semi = c.signed_headers.size();
            std::string_view name = c.signed_headers.substr(pos, semi - pos);
            if (name.empty())
                return fail(malformed(c, "SignedHeaders holds an empty name."), c.presigned);
            signed_names.push_back(ascii_lowercase(name));
            pos = semi + 1;
        }
    }
    if (std::find(signed_names.begin(), signed_names.end(), "host") == signed_names.end())
        return fail(malformed(c, "'host' must be a signed header."), c.presigned);
    {
        // Every name once (signers emit a sorted, unique list). A name repeated would put that
        // header's values into the canonical request once per repetition: "a;a;a;..." against
        // one long header made a 16 KiB request head cost tens of MB and milliseconds to hash,
        // from anyone, before any key is known (found by fuzz_sigv4_verify).
        std::vector<std::string_view> sorted(signed_names.begin(), signed_names.end());
        std::sort(sorted.begin(), sorted.end());
        if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
            return fail(malformed(c, "SignedHeaders names a header more than once."), c.presigned);
    }
    std::string not_signed;
    for (const auto& [n, v] : req.headers) {
        if (!istarts(n, "x-amz-")) continue;
        std::string lower = ascii_lowercase(n);
        if (std::find(signed_names.begin(), signed_names.end(), lower) != signed_names.end())
            continue;
        if (not_signed.find(lower) != std::string::npos) continue;
        if (!not_signed.empty()) not_signed += ", ";
        not_signed += lower;
    }
    if (!not_signed.empty())
        return fail(error(403, "AccessDenied",
                          "There were headers present in the request which were not signed",
                          {{"HeadersNotSigned", not_signed}}),
                    c.presigned);

    // The canonical request, from the request as received.
    std::string canonical_headers;
    for (const auto& name : signed_names) {
        canonical_headers += name;
        canonical_headers += ':';
        bool first = true;
        for (auto v : header_values(name)) {
            if (!first) canonical_headers += ',';
            first = false;
            canonical_headers += canonical_header_value(v);
        }
        canonical_headers += '\n';
    }
    const std::string canonical_query = canonical_query_from_raw(req.query, c.presigned);
    auto canonical_request = [&](std::string_view uri) {
        std::string creq;
        creq.reserve(req.method.size() + uri.size() + canonical_query.size() +
                     canonical_headers.size() + c.signed_headers.size() + 72);
        creq += req.method;
        creq += '\n';
        creq += uri;
        creq += '\n';
        creq += canonical_query;
        creq += '\n';
        creq += canonical_headers;
        creq += '\n';
        creq += c.signed_headers;
        creq += '\n';
        creq += c.payload_hash;
        return creq;
    };
    const std::string scope = credential_scope(cred->date, cred->region, cred->service);
    const Sha256Digest key = SigV4Signer::derive_signing_key(client->secret_access_key, cred->date,
                                                             cred->region, cred->service);
    auto matches = [&](const std::string& sts) {
        const std::string expected = hex_lower(hmac_sha256(key, sts));
        return c.signature.size() == expected.size() &&
               CRYPTO_memcmp(expected.data(), c.signature.data(), expected.size()) == 0;
    };

    // The path as received is what SDKs sign (they send what they signed); a client whose HTTP
    // stack re-escaped the path after signing still matches through the canonical form.
    const std::string_view raw_path = req.path.empty() ? std::string_view("/") : req.path;
    std::string creq = canonical_request(raw_path);
    std::string sts = string_to_sign(c.amz_date, scope, creq);
    if (matches(sts)) {
        VerifyResult r;
        r.client = client;
        r.presigned = c.presigned;
        return r;
    }
    const std::string normal_path = canonical_path_from_raw(req.path);
    if (normal_path != raw_path) {
        std::string creq2 = canonical_request(normal_path);
        std::string sts2 = string_to_sign(c.amz_date, scope, creq2);
        if (matches(sts2)) {
            VerifyResult r;
            r.client = client;
            r.presigned = c.presigned;
            return r;
        }
    }
    return fail(error(403, "SignatureDoesNotMatch",
                      "The request signature we calculated does not match the signature you "
                      "provided. Check your key and signing method.",
                      {{"AWSAccessKeyId", std::string(cred->access_key_id)},
                       {"StringToSign", sts},
                       {"SignatureProvided", std::string(c.signature)},
                       {"CanonicalRequest", creq}}),
                c.presigned);
}

}  // namespace xs3::s3
