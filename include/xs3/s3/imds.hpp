// EC2 instance metadata (IMDSv2 only): a session token from PUT /latest/api/token, then the
// instance role's credentials and the instance's region. IMDSv1 (unauthenticated GETs) is never
// used. The SDKs' short timeouts (1 s, one attempt) keep a host that is not on EC2 from waiting
// at start-up.
//
// Endpoint: AWS_EC2_METADATA_SERVICE_ENDPOINT, else by AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE
// (IPv4: http://169.254.169.254, IPv6: http://[fd00:ec2::254]); AWS_EC2_METADATA_DISABLED=true
// turns IMDS off; AWS_METADATA_SERVICE_TIMEOUT (seconds) and AWS_METADATA_SERVICE_NUM_ATTEMPTS
// change the 1 s / 1 attempt, as they do for the SDKs.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "xs3/base/status.hpp"
#include "xs3/s3/credentials.hpp"
#include "xs3/s3/credentials_provider.hpp"
#include "xs3/s3/http_fetch.hpp"

namespace xs3::s3 {

struct ImdsOptions {
    std::string endpoint = "http://169.254.169.254";  // no trailing '/'
    std::chrono::milliseconds timeout{1000};          // connect and whole request
    unsigned attempts = 1;                            // per call, for unreachable/timeouts
    std::chrono::seconds token_ttl{21600};            // what the token PUT asks for
};

// nullopt when AWS_EC2_METADATA_DISABLED is "true" (any case). Errors for an endpoint that is
// not an http(s) URL, an unknown endpoint mode, and a timeout or attempt count that is not a
// whole number in 1..60 / 1..10.
Result<std::optional<ImdsOptions>> imds_options_from_env(const GetenvFn& getenv_fn);

// Talks to IMDS, keeping the session token until shortly before its TTL ends. Not thread-safe:
// one thread at a time (start-up, then the refresh thread).
class ImdsClient {
  public:
    ImdsClient(ImdsOptions options, HttpFetcher http);

    // GET of `path` ("/latest/meta-data/placement/region") with the session token; a 401 (the
    // token expired early or IMDS restarted) gets one new token and one more try.
    Result<std::string> get(const std::string& path);
    // The instance profile's role name (first line of .../iam/security-credentials/).
    Result<std::string> role_name();
    Result<Credentials> credentials();
    Result<std::string> region();

    const ImdsOptions& options() const noexcept { return options_; }

  private:
    Status fetch_token();
    // http_ with the options' attempts for transport failures.
    Result<FetchResponse> call(const FetchRequest& request);

    ImdsOptions options_;
    HttpFetcher http_;
    std::string token_;
    std::chrono::steady_clock::time_point token_expires_{};
};

// The instance role's credentials, refreshed in the background; kept past their expiry while
// IMDS is unreachable (the SDKs' static stability).
class ImdsSource final : public CredentialSource {
  public:
    ImdsSource(ImdsOptions options, HttpFetcher http);
    std::string_view name() const noexcept override { return "imds"; }
    bool static_stability() const noexcept override { return true; }
    Result<Credentials> fetch() override { return client_.credentials(); }

  private:
    ImdsClient client_;
};

}  // namespace xs3::s3
