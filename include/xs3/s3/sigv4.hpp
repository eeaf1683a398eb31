// AWS Signature Version 4 (header-based) signing: canonical request, string to sign, signature,
// and the headers a request must carry. Pure: no clock, no I/O; the caller passes the timestamp.
//
// Two flavours, chosen by SigV4Options:
//  - S3 (SigV4Options::s3()): the canonical URI is the path exactly as sent on the wire, with no
//    normalization and no second round of encoding; x-amz-content-sha256 is added and signed.
//  - generic AWS services (SigV4Options::generic()): the path is normalized (dot segments and
//    repeated slashes removed) and URI-encoded once more, as the published aws-sig-v4-test-suite
//    expects.
#pragma once

#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xs3/base/digest.hpp"
#include "xs3/s3/credentials.hpp"

namespace xs3::s3 {

// sha256("") in hex: the payload hash of a GET/HEAD without a body.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// Name/value pairs in the caller's order; duplicates allowed.
using KeyValueList = std::vector<std::pair<std::string, std::string>>;

// "20150830T123600Z" and "20150830" for a UTC time_t.
std::string amz_date(std::time_t t);
std::string amz_date_stamp(std::time_t t);

// SigV4 URI encoding: RFC 3986 unreserved (A-Za-z0-9-._~) kept, every other byte as %XX with
// uppercase hex (space is %20, never '+'); with keep_slash, '/' is kept too (paths).
std::string sigv4_uri_encode(std::string_view raw, bool keep_slash = false);

// Encodes raw (unencoded) pairs and sorts them by encoded name, then encoded value; joined as
// "a=1&a=2&b=". A pair with an empty value renders as "name=". This string is also what goes on
// the wire after '?', so the signed and sent queries cannot disagree.
std::string canonical_query_string(std::span<const std::pair<std::string, std::string>> query);

// A header value as SigV4 signs it: both ends trimmed, every inner run of whitespace (SP, HTAB,
// CR, LF) turned into one space. Shared by the signer and the verifier (s3/sigv4_verify.hpp).
std::string canonical_header_value(std::string_view value);

// "20150830/us-east-1/s3/aws4_request".
std::string credential_scope(std::string_view date_stamp, std::string_view region,
                             std::string_view service);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of the canonical request>".
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

// Removes "." and ".." segments and collapses repeated '/' (generic services only; S3 keys may
// legitimately contain "//" and "..").
std::string normalize_uri_path(std::string_view path);

struct SigV4Options {
    bool normalize_path = false;
    bool double_encode_path = false;  // encode the given path once more (generic services)
    bool add_content_sha256 = true;   // add and sign x-amz-content-sha256 (S3 requires it)

    static SigV4Options s3() { return {}; }
    static SigV4Options generic() { return {true, true, false}; }
};

struct SigningRequest {
    std::string_view method;  // "GET"
    // S3: the URI-encoded path exactly as sent ("/my%20key"). Generic: the path to be encoded.
    // Empty means "/".
    std::string_view canonical_uri;
    std::span<const std::pair<std::string, std::string>> query;  // raw, unencoded
    // Headers to sign, including Host. Names in any case; values are trimmed and inner runs of
    // whitespace collapsed for signing; repeated names are joined with ',' in the given order.
    // A header the signer adds itself (x-amz-date, x-amz-content-sha256, x-amz-security-token)
    // is ignored here; the signer's value wins.
    std::span<const std::pair<std::string, std::string>> headers;
    std::string_view payload_hash;  // hex sha256 of the body, or kUnsignedPayload
    std::time_t timestamp = 0;      // UTC seconds
};

struct SigningResult {
    // To add to the request as sent: X-Amz-Date, X-Amz-Content-SHA256 (when enabled),
    // X-Amz-Security-Token (when the credentials carry one), Authorization (last).
    KeyValueList headers;
    std::string authorization;
    // Intermediate forms, exposed for tests and for debugging SignatureDoesNotMatch.
    std::string canonical_request;
    std::string string_to_sign;
    std::string signed_headers;  // "host;range;x-amz-content-sha256;x-amz-date"
    std::string signature;       // lowercase hex
};

class SigV4Signer {
  public:
    SigV4Signer(std::string region, std::string service, SigV4Options options = SigV4Options::s3());

    // Anonymous credentials produce an empty result: the request goes out unsigned.
    SigningResult sign(const SigningRequest& request, const Credentials& credentials) const;

    const std::string& region() const { return region_; }
    const std::string& service() const { return service_; }
    const SigV4Options& options() const { return options_; }

    // kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
    // Cheap enough (4 HMACs) to derive per request, which keeps the signer immutable and shareable
    // across threads.
    static Sha256Digest derive_signing_key(std::string_view secret, std::string_view date_stamp,
                                           std::string_view region, std::string_view service);

  private:
    std::string region_;
    std::string service_;
    SigV4Options options_;
};

}  // namespace xs3::s3
