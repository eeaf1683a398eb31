// SigV4 canonicalisation (s3/sigv4.hpp) of outside bytes: keys, queries and header values from
// clients end up in the proxy's signed requests to S3. Input: fields separated by '\n' — path,
// query, a header name, its value. Checks: URI encoding emits only unreserved bytes and %XX
// (and '/' when kept) and decodes back; the canonical query is sorted; signing is deterministic
// and the verifier accepts what the signer produced.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "xs3/s3/sigv4.hpp"
#include "xs3/s3/sigv4_verify.hpp"

using namespace xs3;

namespace {

bool unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto f = fuzz::split_fields(fuzz::as_text(data, size), '\n', 4);
    f.resize(4);
    const std::string_view raw_path = f[0];

    for (bool keep_slash : {false, true}) {
        const std::string enc = s3::sigv4_uri_encode(raw_path, keep_slash);
        for (size_t i = 0; i < enc.size(); ++i) {
            const char c = enc[i];
            if (c == '%') {
                auto upper_hex = [](char h) {
                    return (h >= '0' && h <= '9') || (h >= 'A' && h <= 'F');
                };
                XS3_FUZZ_CHECK(i + 2 < enc.size());
                XS3_FUZZ_CHECK(upper_hex(enc[i + 1]) && upper_hex(enc[i + 2]));
                i += 2;
                continue;
            }
            XS3_FUZZ_CHECK(unreserved(c) || (keep_slash && c == '/'));
        }
        XS3_FUZZ_CHECK(s3::percent_decode_lenient(enc) == raw_path);
    }
    (void)s3::normalize_uri_path(raw_path);

    // Canonical query from raw bytes: sorted, and stable when canonicalised again.
    const std::string cq = s3::canonical_query_from_raw(f[1], false);
    XS3_FUZZ_CHECK(s3::canonical_query_from_raw(cq, false) == cq);

    // Sign a request carrying the input, then verify it as the proxy would receive it.
    const std::string path = "/" + s3::sigv4_uri_encode(raw_path, true);
    std::vector<std::pair<std::string, std::string>> query;
    if (!f[1].empty()) query.emplace_back(std::string(f[1]), std::string(f[2]));
    std::vector<std::pair<std::string, std::string>> headers = {{"Host", "h.example"}};
    std::string name;
    for (char c : f[2])
        if ((c >= 'a' && c <= 'z') || c == '-') name += c;
    // Header values on the wire never hold CR, LF or NUL; everything else is fair.
    std::string value;
    for (char c : f[3])
        if (c != '\r' && c != '\n' && c != '\0') value += c;
    if (!name.empty() && name != "host" && name != "authorization" && name.rfind("x-amz-", 0) != 0)
        headers.emplace_back(name, value);

    s3::SigV4Signer signer("us-east-1", "s3");
    s3::Credentials creds{"AKIDFUZZ", "fuzz-secret", "", std::nullopt};
    s3::SigningRequest req;
    req.method = "GET";
    req.canonical_uri = path;
    req.query = query;
    req.headers = headers;
    req.payload_hash = s3::kEmptyPayloadSha256;
    req.timestamp = 1714521600;
    const auto a = signer.sign(req, creds);
    const auto b = signer.sign(req, creds);
    XS3_FUZZ_CHECK(a.authorization == b.authorization);

    std::vector<std::pair<std::string, std::string>> wire = headers;
    for (const auto& h : a.headers)
        wire.push_back(h);
    std::vector<s3::FieldView> views;
    for (const auto& [n, v] : wire)
        views.emplace_back(n, v);
    const std::string wire_query = s3::canonical_query_string(query);
    // A query naming another auth mechanism is refused as S3 refuses it, not a mismatch.
    for (const char* auth_param : {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                                   "Signature", "AWSAccessKeyId", "X-Amz-Security-Token"})
        if (!query.empty() && query[0].first == auth_param) return 0;
    s3::SigV4Verifier verifier({{"AKIDFUZZ", "fuzz-secret", {}}}, {});
    auto r = verifier.verify({"GET", path, wire_query, views, 1714521600});
    if (!r.ok())
        std::fprintf(stderr, "verify: %s %s\n", r.error.code.c_str(), r.error.message.c_str());
    XS3_FUZZ_CHECK(r.ok());
    return 0;
}
