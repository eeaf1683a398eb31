// A tiny blocking HTTP client for the credential providers (STS, container credentials, IMDS):
// one libcurl easy transfer per call, with timeouts, a response size limit, no redirects and
// http/https only. It blocks its thread, so it runs at start-up and on the credential refresh
// thread, never on a ring.
//
// Providers take an HttpFetcher rather than calling curl_fetch directly, so tests hand them a
// fake and no network is touched.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xs3/base/status.hpp"

namespace xs3::s3 {

struct FetchRequest {
    std::string method = "GET";  // GET, PUT or POST
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;  // sent with PUT and POST (an empty body is sent as Content-Length: 0)
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds timeout{1000};  // the whole request
    size_t max_response_bytes = 1 << 20;
    std::string ca_bundle;  // empty: the system's CA certificates
    // Whether http_proxy/https_proxy from the environment apply. The link-local and loopback
    // credential endpoints (IMDS, ECS, EKS Pod Identity) must never go through a proxy.
    bool use_proxy_env = true;
};

struct FetchResponse {
    long status = 0;
    std::string body;
    // Names lowercased, values trimmed.
    std::vector<std::pair<std::string, std::string>> headers;
    const std::string* header(std::string_view lower_name) const;
};

// ok with any HTTP status (the caller judges 4xx/5xx); Code::timeout or Code::unavailable for
// transport failures, with curl's error text and the URL without its query. Never echoes request
// headers or bodies, which carry tokens.
using HttpFetcher = std::function<Result<FetchResponse>(const FetchRequest&)>;

Result<FetchResponse> curl_fetch(const FetchRequest& request);

}  // namespace xs3::s3
