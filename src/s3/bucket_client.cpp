// BucketClient: URL building and SigV4 signing of the proxy's S3 requests.
#include "xs3/s3/bucket_client.hpp"

#include <ctime>

namespace xs3::s3 {

BucketClient::BucketClient(BucketOptions options)
    : options_(std::move(options)), signer_(options_.region, "s3") {}

namespace {

std::vector<std::pair<std::string, std::string>> query_of(const ObjectId& id) {
    std::vector<std::pair<std::string, std::string>> q;
    if (!id.part_number.empty()) q.emplace_back("partNumber", id.part_number);
    if (!id.version_id.empty()) q.emplace_back("versionId", id.version_id);
    return q;
}

}  // namespace

Result<HttpRequest> BucketClient::build(
    const char* method, const ObjectId& id,
    std::vector<std::pair<std::string, std::string>> extra) const {
    return build_request(method, id.key, query_of(id), std::move(extra));
}

Result<HttpRequest> BucketClient::build_request(
    const char* method, std::string_view key,
    const std::vector<std::pair<std::string, std::string>>& query,
    std::vector<std::pair<std::string, std::string>> extra) const {
    auto built = build_object_request(options_.endpoint, options_.bucket, key, query);
    if (!built.ok()) return built.status();
    const ObjectUrl& url = built.value();
    HttpRequest req;
    req.method = method;
    req.url = url.url;
    req.connect_timeout = options_.connect_timeout;
    req.low_speed_timeout = options_.timeout;
    req.low_speed_limit = options_.low_speed_limit;
    req.first_byte_timeout = options_.first_byte_timeout;
    req.total_timeout = options_.request_timeout;
    req.ca_bundle = options_.ca_bundle;
    std::vector<std::pair<std::string, std::string>> headers;
    headers.emplace_back("host", url.host_header);
    for (auto& h : extra)
        headers.push_back(h);
    // One atomic load: the provider's refresh thread may swap the credentials at any moment.
    const std::shared_ptr<const Credentials> creds =
        options_.credentials ? options_.credentials->current() : nullptr;
    if (creds && !creds->anonymous()) {
        SigningRequest sr;
        sr.method = method;
        sr.canonical_uri = url.canonical_uri;
        sr.query = query;
        sr.headers = headers;
        sr.payload_hash = kEmptyPayloadSha256;
        sr.timestamp = std::time(nullptr);
        SigningResult signed_req = signer_.sign(sr, *creds);
        for (auto& h : signed_req.headers)
            headers.push_back(h);
    }
    // Host is sent as signed rather than left to curl, so the two can never differ.
    for (auto& h : headers)
        req.headers.push_back(std::move(h));
    return req;
}

Status BucketClient::validate(const ObjectId& id) const {
    auto built = build_object_request(options_.endpoint, options_.bucket, id.key, query_of(id));
    return built.ok() ? Status() : built.status();
}

Result<HttpRequest> BucketClient::head(const ObjectId& id) const {
    return build("HEAD", id, {});
}

Result<HttpRequest> BucketClient::get(const ObjectId& id,
                                      std::optional<std::pair<uint64_t, uint64_t>> range,
                                      const std::string& etag) const {
    std::vector<std::pair<std::string, std::string>> extra;
    if (!etag.empty()) extra.emplace_back("if-match", etag);
    if (range)
        extra.emplace_back(
            "range", "bytes=" + std::to_string(range->first) + "-" + std::to_string(range->second));
    return build("GET", id, std::move(extra));
}

}  // namespace xs3::s3
