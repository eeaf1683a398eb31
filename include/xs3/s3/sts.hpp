// Web identity credentials (EKS IAM Roles for Service Accounts): the token file Kubernetes
// projects into the pod is exchanged for temporary credentials with STS
// AssumeRoleWithWebIdentity. The call is unsigned (the token is the proof); the token file is
// read again for every call because the kubelet rotates it.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "xs3/base/status.hpp"
#include "xs3/s3/credentials.hpp"
#include "xs3/s3/credentials_provider.hpp"
#include "xs3/s3/http_fetch.hpp"
#include "xs3/s3/profile_file.hpp"

namespace xs3::s3 {

struct WebIdentityConfig {
    std::string role_arn;      // AWS_ROLE_ARN or the profile's role_arn
    std::string token_file;    // AWS_WEB_IDENTITY_TOKEN_FILE or web_identity_token_file
    std::string session_name;  // AWS_ROLE_SESSION_NAME or role_session_name; "" -> generated
    std::string sts_url;       // "https://sts.eu-west-1.amazonaws.com" (see sts_endpoint_url)
    std::string ca_bundle;
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds timeout{5000};
};

// The STS endpoint: AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL when set, else the regional
// endpoint https://sts.<region>.amazonaws.com (.com.cn in China), else (no region) the global
// https://sts.amazonaws.com. A trailing '/' is dropped.
std::string sts_endpoint_url(std::string_view region, const GetenvFn& getenv_fn);

// "xs3lerator-<unix seconds>": the session name when none is configured (the SDKs generate one
// too; it shows in CloudTrail).
std::string default_session_name(std::chrono::system_clock::time_point now);

// The POST of Action=AssumeRoleWithWebIdentity (form-encoded body, as the SDKs send it).
FetchRequest build_web_identity_request(const WebIdentityConfig& config, std::string_view token);

// Reads the AssumeRoleWithWebIdentityResponse (<Credentials> with AccessKeyId, SecretAccessKey,
// SessionToken, Expiration) or, for non-2xx answers, the STS <ErrorResponse>: the error carries
// STS's code and message, and Code::unavailable for codes worth retrying (see retry.hpp), else
// Code::access_denied. Credentials expiring at or before `now` are an error.
Result<Credentials> parse_web_identity_response(const FetchResponse& response,
                                                std::chrono::system_clock::time_point now);

class WebIdentitySource final : public CredentialSource {
  public:
    WebIdentitySource(WebIdentityConfig config, ReadFileFn read_file, HttpFetcher http);
    std::string_view name() const noexcept override { return "web-identity"; }
    Result<Credentials> fetch() override;
    const WebIdentityConfig& config() const noexcept { return config_; }

  private:
    WebIdentityConfig config_;
    ReadFileFn read_file_;
    HttpFetcher http_;
};

}  // namespace xs3::s3
