// Verification of a client's AWS Signature Version 4, as S3 does it: the Authorization header
// form and the presigned-URL (query) form, checked against the proxy's own client keys
// ([[clients]] in the config file). Pure: bytes in (the request as received, the current time),
// a verdict out; no clock, no I/O, no HTTP types. The canonical request is rebuilt with the same
// pieces the signer uses (s3/sigv4.hpp), so the two cannot drift apart.
//
// What is checked, in order, with the answer S3 gives for each failure:
//  - no signature at all                         403 AccessDenied
//  - header and query signature together         400 InvalidArgument
//  - SigV2 or another algorithm                  400 InvalidRequest /
//  AuthorizationQueryParametersError
//  - malformed Authorization / X-Amz-* params    400 AuthorizationHeaderMalformed /
//                                                    AuthorizationQueryParametersError
//  - credential scope: .../<date>/<region>/s3/aws4_request; wrong service or terminator, a
//    region the proxy does not accept (S3 names the expected one in <Region>), a scope date
//    that is not the request's date               400 (as above)
//  - no or bad X-Amz-Date                        403 AccessDenied / 400
//  - an access key id no client has              403 InvalidAccessKeyId
//  - header form: more than 15 minutes between X-Amz-Date and now
//                                                403 RequestTimeTooSkewed
//  - query form: X-Amz-Expires not 1..604800     400 AuthorizationQueryParametersError;
//    past X-Amz-Date + X-Amz-Expires             403 AccessDenied "Request has expired";
//    X-Amz-Date more than 15 minutes ahead       403 AccessDenied "Request is not valid yet"
//  - header form without x-amz-content-sha256    400 InvalidRequest; a value that is neither 64
//    hex digits, UNSIGNED-PAYLOAD nor a STREAMING-* name: 400 InvalidArgument
//  - a session token (clients' keys are long-term ones)
//                                                400 InvalidToken
//  - host not among the signed headers           400 (as malformed)
//  - an x-amz-* header present but not signed    403 AccessDenied (<HeadersNotSigned>)
//  - the signature itself                        403 SignatureDoesNotMatch (with the string to
//    sign and canonical request, as S3 sends them, so a client can see what differs)
// The signature is compared in constant time. Secrets never appear in an answer.
#pragma once

#include <chrono>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xs3::s3 {

// One client of the proxy: a key pair it signs with and the buckets it may read.
struct ClientKey {
    std::string access_key_id;
    std::string secret_access_key;
    std::vector<std::string> buckets;  // empty: every bucket the proxy serves

    bool may_read(std::string_view bucket) const noexcept;
};

struct VerifyOptions {
    // Regions a credential scope may name; the first is the one an error says is expected.
    // Empty: any region.
    std::vector<std::string> regions;
    std::string service = "s3";
    std::chrono::seconds max_skew{900};               // S3: 15 minutes
    std::chrono::seconds max_presign_expiry{604800};  // S3: 7 days
};

using FieldView = std::pair<std::string_view, std::string_view>;

// The request as received: nothing rewritten, nothing decoded.
struct ReceivedRequest {
    std::string_view method;             // "GET"
    std::string_view path;               // raw path, still percent-encoded; empty means "/"
    std::string_view query;              // raw query, without '?'
    std::span<const FieldView> headers;  // every field as received (names in any case); for
                                         // HTTP/2 the :authority as "host"
    std::time_t now = 0;                 // UTC seconds
};

// An S3 error answer: status, code, message, and S3's extra elements (in order).
struct AuthError {
    int status = 403;
    std::string code;
    std::string message;
    std::vector<std::pair<std::string, std::string>> details;
};

struct VerifyResult {
    const ClientKey* client = nullptr;  // the client whose signature matched
    AuthError error;                    // why not, when client is nullptr
    bool presigned = false;             // the query form was used
    bool ok() const noexcept { return client != nullptr; }
};

class SigV4Verifier {
  public:
    // Access key ids must be unique (the config loader checks).
    SigV4Verifier(std::vector<ClientKey> clients, VerifyOptions options);

    VerifyResult verify(const ReceivedRequest& request) const;

    const std::vector<ClientKey>& clients() const noexcept { return clients_; }
    const VerifyOptions& options() const noexcept { return options_; }

  private:
    const ClientKey* find(std::string_view access_key_id) const noexcept;

    std::vector<ClientKey> clients_;
    VerifyOptions options_;
};

// ---- the pieces, exposed for unit tests and fuzzing ----

// "AWS4-HMAC-SHA256 Credential=<c>, SignedHeaders=<h>, Signature=<s>" (commas with or without
// spaces, the three fields in any order, each once); nullopt otherwise.
struct AuthorizationFields {
    std::string_view credential;
    std::string_view signed_headers;
    std::string_view signature;
};
std::optional<AuthorizationFields> parse_authorization(std::string_view value);

// "<akid>/<yyyymmdd>/<region>/<service>/aws4_request" split in five non-empty parts; nullopt
// when it has another shape (the terminator is checked by the caller, which names it).
struct CredentialFields {
    std::string_view access_key_id;
    std::string_view date;
    std::string_view region;
    std::string_view service;
    std::string_view terminator;
};
std::optional<CredentialFields> parse_credential(std::string_view credential);

// "20150830T123600Z" as UTC seconds; nullopt unless exactly that shape and a real date and time
// (years 1970..9999).
std::optional<std::time_t> parse_amz_date(std::string_view text);

// %XY escapes decoded; a '%' not followed by two hex digits is kept as it is ('+' too).
std::string percent_decode_lenient(std::string_view raw);

// The canonical query string of a raw query as received: split on '&', each part at its first
// '=' (none: empty value), names and values decoded and re-encoded the SigV4 way, sorted.
// With drop_signature, X-Amz-Signature is left out (the query form signs everything else).
std::string canonical_query_from_raw(std::string_view raw_query, bool drop_signature);

// The canonical form of a raw path: decoded, then encoded the SigV4 way ('/' kept); "/" when
// empty. Equal to the raw path for every path an SDK sends.
std::string canonical_path_from_raw(std::string_view raw_path);

}  // namespace xs3::s3
