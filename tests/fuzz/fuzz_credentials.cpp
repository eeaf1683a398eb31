// Credential documents from outside: the JSON the ECS / EKS Pod Identity endpoints and IMDS
// answer with, their error bodies, the STS AssumeRoleWithWebIdentity XML answer, and the
// ISO 8601 expirations in them. The first byte picks the parser. Checks: accepted credentials
// have a key id and secret and, when they expire, expire after "now".
#include <chrono>
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "xs3/base/json_reader.hpp"
#include "xs3/s3/credential_document.hpp"
#include "xs3/s3/credentials.hpp"
#include "xs3/s3/sts.hpp"

using namespace xs3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t which = data[0];
    std::string_view in = fuzz::as_text(data + 1, size - 1);
    // A fixed "now" (2024-05-01T00:00:00Z) keeps runs reproducible.
    const auto now = std::chrono::system_clock::from_time_t(1714521600);
    switch (which % 4) {
        case 0: {
            s3::CredentialDocumentRules rules{(which & 4) != 0, (which & 8) != 0};
            auto c = s3::parse_credential_document(in, "fuzz", now, rules);
            if (c.ok()) {
                XS3_FUZZ_CHECK(!c->access_key_id.empty() && !c->secret_access_key.empty());
                if (c->expiration) XS3_FUZZ_CHECK(*c->expiration > now);
                (void)s3::redact(*c);
            }
            (void)s3::credential_error_summary(in);
            break;
        }
        case 1: {
            s3::FetchResponse r;
            r.status = (which & 4) ? 403 : 200;
            r.body = std::string(in);
            auto c = s3::parse_web_identity_response(r, now);
            if (c.ok()) {
                XS3_FUZZ_CHECK(!c->access_key_id.empty() && c->expiration && *c->expiration > now);
                (void)s3::redact(*c);
            }
            break;
        }
        case 2: {
            auto t = s3::parse_iso8601(in);
            if (t.ok()) (void)s3::format_iso8601(*t);
            break;
        }
        default: {
            auto j = parse_json(in);
            (void)j;
            break;
        }
    }
    return 0;
}
