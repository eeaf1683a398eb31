// The client SigV4 verifier (s3::SigV4Verifier) on requests from anyone: Authorization headers,
// presigned query parameters, dates, credential scopes. Input: '\n'-separated lines — method,
// raw path, raw query, then header lines "name:value". Checks: a verdict is always an accepted
// client or a 400/403 with an S3 code, and no answer ever holds a secret.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "xs3/s3/sigv4_verify.hpp"

using namespace xs3;

namespace {

const s3::SigV4Verifier& verifier() {
    static const s3::SigV4Verifier v(
        {{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", {}},
         {"CLIENT2", "second-secret-value", {"b"}}},
        s3::VerifyOptions{{"us-east-1", "eu-west-1"}});
    return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto lines = fuzz::split_fields(fuzz::as_text(data, size), '\n', 64);
    lines.resize(std::max<size_t>(lines.size(), 3));
    std::vector<s3::FieldView> headers;
    for (size_t i = 3; i < lines.size(); ++i) {
        size_t colon = lines[i].find(':');
        if (colon == std::string_view::npos) continue;
        headers.emplace_back(lines[i].substr(0, colon), lines[i].substr(colon + 1));
    }
    // The documentation's instant, so seeds built from its examples reach the signature check.
    s3::ReceivedRequest req{lines[0], lines[1], lines[2], headers, 1369353660};
    auto r = verifier().verify(req);
    if (r.ok()) return 0;
    XS3_FUZZ_CHECK(r.error.status == 400 || r.error.status == 403);
    XS3_FUZZ_CHECK(!r.error.code.empty() && !r.error.message.empty());
    for (const auto& [n, v] : r.error.details) {
        XS3_FUZZ_CHECK(v.find("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") == std::string::npos ||
                       fuzz::as_text(data, size).find("wJalrXUtnFEMI") != std::string_view::npos);
        XS3_FUZZ_CHECK(v.find("second-secret-value") == std::string::npos ||
                       fuzz::as_text(data, size).find("second-secret") != std::string_view::npos);
    }
    return 0;
}
