// Origin: URL building and SigV4 signing of the proxy's S3 requests.
#include "xs3/proxy/origin.hpp"

#include <ctime>

namespace xs3::proxy {

Origin::Origin(OriginOptions options)
    : options_(std::move(options)), signer_(options_.region, "s3") {}

namespace {

std::vector<std::pair<std::string, std::string>> query_of(const ObjectId& id) {
    std::vector<std::pair<std::string, std::string>> q;
    if (!id.part_number.empty()) q.emplace_back("partNumber", id.part_number);
    if (!id.version_id.empty()) q.emplace_back("versionId", id.version_id);
    return q;
}

}  // namespace

Result<s3::HttpRequest> Origin::build(
    const char* method, const ObjectId& id,
    std::vector<std::pair<std::string, std::string>> extra) const {
    return build_request(method, id.key, query_of(id), std::move(extra));
}

Result<s3::HttpRequest> Origin::build_request(
    const char* method, std::string_view key,
    const std::vector<std::pair<std::string, std::string>>& query,
    std::vector<std::pair<std::string, std::string>> extra) const {
    auto built = s3::build_object_request(options_.endpoint, options_.bucket, key, query);
    if (!built.ok()) return built.status();
    const s3::ObjectUrl& url = built.value();
    s3::HttpRequest req;
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
    const std::shared_ptr<const s3::Credentials> creds =
        options_.credentials ? options_.credentials->current() : nullptr;
    if (creds && !creds->anonymous()) {
        s3::SigningRequest sr;
        sr.method = method;
        sr.canonical_uri = url.canonical_uri;
        sr.query = query;
        sr.headers = headers;
        sr.payload_hash = s3::kEmptyPayloadSha256;
        sr.timestamp = std::time(nullptr);
        s3::SigningResult signed_req = signer_.sign(sr, *creds);
        for (auto& h : signed_req.headers)
            headers.push_back(h);
    }
    // Host is sent as signed rather than left to curl, so the two can never differ.
    for (auto& h : headers)
        req.headers.push_back(std::move(h));
    return req;
}

Status Origin::validate(const ObjectId& id) const {
    auto built = s3::build_object_request(options_.endpoint, options_.bucket, id.key, query_of(id));
    return built.ok() ? Status() : built.status();
}

Result<s3::HttpRequest> Origin::head(const ObjectId& id) const {
    return build("HEAD", id, {});
}

Result<s3::HttpRequest> Origin::get(const ObjectId& id,
                                    std::optional<std::pair<uint64_t, uint64_t>> range,
                                    const std::string& etag) const {
    std::vector<std::pair<std::string, std::string>> extra;
    if (!etag.empty()) extra.emplace_back("if-match", etag);
    if (range)
        extra.emplace_back(
            "range", "bytes=" + std::to_string(range->first) + "-" + std::to_string(range->second));
    return build("GET", id, std::move(extra));
}

}  // namespace xs3::proxy
