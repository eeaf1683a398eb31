// The JSON credential document that the ECS and EKS Pod Identity credential endpoints and EC2
// instance metadata answer with:
//   {"AccessKeyId": "ASIA...", "SecretAccessKey": "...", "Token": "...",
//    "Expiration": "2024-05-01T12:00:00Z"}
// (IMDS adds "Code": "Success", "Type": "AWS-HMAC", "LastUpdated"; ECS adds "RoleArn").
#pragma once

#include <chrono>
#include <string_view>

#include "xs3/base/status.hpp"
#include "xs3/s3/credentials.hpp"

namespace xs3::s3 {

struct CredentialDocumentRules {
    bool require_token = false;       // temporary credentials always carry one
    bool require_expiration = false;  // IMDS always sends one; containers may omit it
};

// Parses the document; `source` prefixes every error ("container credentials: ..."). Errors name
// the field and what is wrong (missing, wrong type, empty, expired), never a value. Credentials
// that expire at or before `now` are an error.
Result<Credentials> parse_credential_document(std::string_view body, std::string_view source,
                                              std::chrono::system_clock::time_point now,
                                              CredentialDocumentRules rules = {});

// For error answers ({"code": "...", "message": "..."} from ECS/EKS, {"Code": ...} from IMDS):
// "code: message" trimmed to 200 bytes, or "" when the body is not such a document.
std::string credential_error_summary(std::string_view body);

}  // namespace xs3::s3
