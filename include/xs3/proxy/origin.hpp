// Origin: turns "HEAD/GET this key (these bytes)" into signed S3 requests for the curl client.
// Read-only after construction, so every worker shares one. Each request is signed with the
// credentials provider's current() credentials when it is built, so rotated credentials apply to
// the next request without any coordination.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "xs3/s3/credentials.hpp"
#include "xs3/s3/credentials_provider.hpp"
#include "xs3/s3/curl_client.hpp"
#include "xs3/s3/sigv4.hpp"
#include "xs3/s3/url.hpp"

namespace xs3::proxy {

struct OriginOptions {
    std::string bucket;
    std::string region = "us-east-1";
    s3::Endpoint endpoint;
    // Null, or anonymous credentials: requests are sent unsigned.
    std::shared_ptr<const s3::CredentialsProvider> credentials;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds timeout{30000};         // low-speed window
    std::chrono::milliseconds first_byte_timeout{0};  // until the response head; 0: none
    long low_speed_limit = 1;                         // bytes per second
    std::chrono::milliseconds request_timeout{0};     // whole request; 0: none
    std::string ca_bundle;                            // empty: curl's default CAs
};

class Origin {
  public:
    explicit Origin(OriginOptions options);

    const std::string& bucket() const noexcept { return options_.bucket; }
    // Fails only for keys or buckets that cannot form a URL (the caller answers 400).
    Result<s3::HttpRequest> head(const std::string& key) const;
    // GET of bytes [first, last] (inclusive) with If-Match on `etag` when it is not empty.
    Result<s3::HttpRequest> get(const std::string& key,
                                std::optional<std::pair<uint64_t, uint64_t>> range,
                                const std::string& etag) const;
    // Any request for the key with extra (signed) header fields, names lowercase:
    // {"if-none-match", etag}, {"range", "bytes=-500"}, ...
    Result<s3::HttpRequest> build(const char* method, const std::string& key,
                                  std::vector<std::pair<std::string, std::string>> extra) const;
    // Whether requests for `key` can be built at all (the caller answers 400 if not).
    Status validate_key(const std::string& key) const;

  private:
    OriginOptions options_;
    s3::SigV4Signer signer_;
};

}  // namespace xs3::proxy
