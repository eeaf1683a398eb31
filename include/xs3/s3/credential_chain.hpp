// The default credential chain, in the AWS SDKs' order:
//   1. static keys from the configuration file (S3-compatible stores)
//   2. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
//   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME) -> STS
//   4. the shared files' profile (AWS_PROFILE, default "default"): static keys, or role_arn +
//      web_identity_token_file
//   5. container credentials (ECS task role, EKS Pod Identity)
//   6. EC2 instance metadata, IMDSv2 (unless AWS_EC2_METADATA_DISABLED=true)
//   7. anonymous (unsigned requests): only when configured (anonymous = true, which skips the
//      chain) or when nothing was found and anonymous_fallback allows it; otherwise "nothing
//      found" is an error that lists what was tried.
// A source that is configured but fails (a bad profile, STS refusing the token, the container
// endpoint answering 403) stops the chain with its error, as in the SDKs, rather than quietly
// falling through to a different identity; only IMDS, the guess of last resort, falls through.
// STS and container endpoints get a few attempts at start-up (they may come up with the pod).
//
// Resolution blocks (it is start-up); the providers it returns never block afterwards. Nothing
// here reads the process environment, files or the network directly: ChainSystem supplies them,
// so tests inject fakes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xs3/base/status.hpp"
#include "xs3/s3/container_credentials.hpp"
#include "xs3/s3/credentials.hpp"
#include "xs3/s3/credentials_provider.hpp"
#include "xs3/s3/http_fetch.hpp"
#include "xs3/s3/profile_file.hpp"

namespace xs3::s3 {

struct ChainOptions {
    std::optional<Credentials> static_credentials;  // from the configuration file
    bool anonymous = false;                         // sign nothing; the chain is not consulted
    bool anonymous_fallback = false;  // nothing found: unsigned requests instead of an error
    std::string region;               // picks the regional STS endpoint; "" -> global
    std::string ca_bundle;            // for https to STS and container endpoints
    RefreshOptions refresh;
    unsigned startup_attempts = 3;  // STS and container endpoints at start-up
};

struct ChainSystem {
    GetenvFn getenv;  // nullptr or "" means unset
    ReadFileFn read_file;
    HttpFetcher http;
    ResolveFn resolve;
    std::function<void(std::chrono::milliseconds)> sleep;  // between start-up attempts
};

// The process: std::getenv, read_small_file, curl_fetch, getaddrinfo, sleep_for.
ChainSystem real_chain_system();

enum class ImdsState { not_tried, disabled, unreachable, reached };

struct ChainResult {
    std::shared_ptr<CredentialsProvider> provider;
    // What was chosen, for the start-up log line: never a secret, e.g.
    // "role arn:aws:iam::1:role/cache via https://sts.eu-west-1.amazonaws.com".
    std::string detail;
    // Sources consulted before the winner that had something to say ("IMDS: ...").
    std::vector<std::string> notes;
    ImdsState imds = ImdsState::not_tried;
};

Result<ChainResult> resolve_credentials(const ChainOptions& options, const ChainSystem& system);

}  // namespace xs3::s3
