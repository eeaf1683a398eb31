// Container credentials: the ECS task role endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI on
// 169.254.170.2) and any full URL (AWS_CONTAINER_CREDENTIALS_FULL_URI), which EKS Pod Identity
// uses with an authorization token file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, read again for
// every call because it rotates) or a fixed token (AWS_CONTAINER_AUTHORIZATION_TOKEN).
//
// A full URL over plain http must point at a loopback address or at the ECS (169.254.170.2) or
// EKS (169.254.170.23, fd00:ec2::23) agents, as the SDKs require: credentials are never fetched
// in clear text from anywhere else. A host name must resolve to such addresses only.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "xs3/base/status.hpp"
#include "xs3/s3/credentials.hpp"
#include "xs3/s3/credentials_provider.hpp"
#include "xs3/s3/http_fetch.hpp"
#include "xs3/s3/profile_file.hpp"

namespace xs3::s3 {

// Numeric addresses ("127.0.0.1", "::1") a host name resolves to.
using ResolveFn = std::function<Result<std::vector<std::string>>(const std::string& host)>;
Result<std::vector<std::string>> resolve_host(const std::string& host);  // getaddrinfo

struct ContainerEndpoint {
    std::string url;
    std::string auth_token;       // AWS_CONTAINER_AUTHORIZATION_TOKEN
    std::string auth_token_file;  // AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (wins when set)
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds timeout{5000};
};

// nullopt when neither URI variable is set (RELATIVE_URI wins when both are). Errors for a full
// URL that is not http(s), or plain http to a host that is not allowed (see above).
Result<std::optional<ContainerEndpoint>> container_endpoint_from_env(const GetenvFn& getenv_fn,
                                                                     const ResolveFn& resolve);

// Whether plain http may fetch credentials from this numeric address.
bool is_allowed_container_address(const std::string& address);

class ContainerSource final : public CredentialSource {
  public:
    ContainerSource(ContainerEndpoint endpoint, ReadFileFn read_file, HttpFetcher http);
    std::string_view name() const noexcept override { return "container"; }
    Result<Credentials> fetch() override;
    const ContainerEndpoint& endpoint() const noexcept { return endpoint_; }

  private:
    ContainerEndpoint endpoint_;
    ReadFileFn read_file_;
    HttpFetcher http_;
};

}  // namespace xs3::s3
