// BucketClient: one bucket of one S3 endpoint; turns "HEAD/GET this key (these bytes)" into
// signed requests for the curl client. Read-only after construction, so every worker (and every
// chunk fetch, which builds its own ranged GETs) shares one. Each request is signed with the
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

namespace xs3::s3 {

// An object as the proxy asks S3 for it: a key, and optionally one version or one part (both go
// out as signed query parameters).
struct ObjectId {
    std::string key;
    std::string version_id;                              // ?versionId=
    std::string part_number;                             // ?partNumber=
    ObjectId(std::string k = {}) : key(std::move(k)) {}  // NOLINT: a bare key is an id
    ObjectId(const char* k) : key(k) {}                  // NOLINT
};

struct BucketOptions {
    std::string bucket;
    bool immutable = false;  // the bucket's objects never change: cached copies need no HEAD
    std::string region = "us-east-1";
    Endpoint endpoint;
    // Null, or anonymous credentials: requests are sent unsigned.
    std::shared_ptr<const CredentialsProvider> credentials;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds timeout{30000};         // low-speed window
    std::chrono::milliseconds first_byte_timeout{0};  // until the response head; 0: none
    long low_speed_limit = 1;                         // bytes per second
    std::chrono::milliseconds request_timeout{0};     // whole request; 0: none
    std::string ca_bundle;                            // empty: curl's default CAs
};

class BucketClient {
  public:
    explicit BucketClient(BucketOptions options);

    const std::string& bucket() const noexcept { return options_.bucket; }
    const std::string& region() const noexcept { return options_.region; }
    bool immutable() const noexcept { return options_.immutable; }
    // Fails only for keys or buckets that cannot form a URL (the caller answers 400).
    Result<HttpRequest> head(const ObjectId& id) const;
    // GET of bytes [first, last] (inclusive) with If-Match on `etag` when it is not empty.
    Result<HttpRequest> get(const ObjectId& id, std::optional<std::pair<uint64_t, uint64_t>> range,
                            const std::string& etag) const;
    // Any request for the object with extra (signed) header fields, names lowercase:
    // {"if-none-match", etag}, {"range", "bytes=-500"}, ...
    Result<HttpRequest> build(const char* method, const ObjectId& id,
                              std::vector<std::pair<std::string, std::string>> extra) const;
    // Any request of the bucket — the object `key`, or the bucket itself when it is empty — with
    // raw (unencoded) query parameters and extra header fields, all signed. Relayed operations
    // (listings, sub-resources) are built here, through the same URL builder as object requests.
    Result<HttpRequest> build_request(const char* method, std::string_view key,
                                      const std::vector<std::pair<std::string, std::string>>& query,
                                      std::vector<std::pair<std::string, std::string>> extra) const;
    // Whether requests for the object can be built at all (the caller answers 400 if not).
    Status validate(const ObjectId& id) const;

  private:
    BucketOptions options_;
    SigV4Signer signer_;
};

}  // namespace xs3::s3
