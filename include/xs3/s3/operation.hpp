// The S3 operation a client's request is, from its method, raw path, raw query and Host: which
// bucket and key it names, how it named them (path-style, virtual-hosted, or the single-bucket
// /<key> form), and what the proxy does with it — serve it from the cache, relay it to S3, answer
// it itself, or refuse it with S3's own error. The proxy routes on this answer only.
//
// The rule that keeps object bytes from answering questions that are not "give me the object": a
// GET or HEAD reaches the cache only when every query parameter is one GetObject/HeadObject
// understands (versionId, partNumber, response-*) or one that never changes an answer (SigV4
// presign parameters, X-Amz-Content-Sha256 among them, and the SDKs' x-id marker). Any other
// parameter makes the request another operation (relayed when it is one of the read-only operations
// below) or 501 NotImplemented.
//
// Pure: no I/O, no configuration beyond AddressingRules; unit-tested byte by byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xs3::s3 {

// S3's limit on an object key: 1 to 1024 bytes (UTF-8). The classifier and the admin warm-up
// both ask here.
inline constexpr size_t kMaxKeyBytes = 1024;
inline bool object_key_fits(std::string_view key) noexcept {
    return !key.empty() && key.size() <= kMaxKeyBytes;
}

enum class Operation : uint8_t {
    // Served through the cache.
    get_object,
    head_object,
    // Read-only, relayed to S3 (signed by the proxy, streamed, never cached).
    get_object_tagging,
    get_object_acl,
    get_object_attributes,
    get_object_retention,
    get_object_legal_hold,
    list_parts,
    list_objects,
    list_objects_v2,
    list_object_versions,
    head_bucket,
    get_bucket_location,
    // Answered by the proxy from its own configuration (never asked of S3: it would name buckets
    // the proxy does not serve).
    list_buckets,
    // Refused: any method but GET and HEAD (405 MethodNotAllowed); a read the proxy does not do
    // (501 NotImplemented); a malformed request (400, error_code says which).
    write,
    not_implemented,
    invalid,
};

enum class Route : uint8_t { cache, relay, service, refuse };
Route route_of(Operation op) noexcept;

// S3's name of the operation ("GetObject", "ListObjectsV2", ...); "Write", "NotImplemented",
// "Invalid" for the refusals.
std::string_view operation_name(Operation op) noexcept;

enum class Addressing : uint8_t {
    path_style,      // /<bucket>/<key>
    virtual_hosted,  // Host: <bucket>.<suffix>, /<key>
    single_bucket,   // /<key> of the one bucket served (single-bucket mode)
    service,         // no bucket: / (ListBuckets)
};
std::string_view addressing_name(Addressing a) noexcept;  // "path", "virtual", "single", "service"

struct AddressingRules {
    // Single-bucket mode: the bucket served at /<key>. A path whose first segment is exactly this
    // name is read path-style (/<bucket>/<key>, what SDKs send); any other path is the key. The
    // one ambiguity: a key whose first segment is the bucket's own name must be asked as
    // /<bucket>/<bucket>/... . Empty: multi-bucket mode, every path is /<bucket>/<key>.
    std::string single_bucket;
    // Host names (lowercase, no port) of the proxy under which "<bucket>.<suffix>" names a
    // bucket (virtual-hosted addressing). A Host that is exactly a suffix, or matches none, is
    // path-style.
    std::vector<std::string> virtual_host_suffixes;
};

struct S3Operation {
    Operation op = Operation::invalid;
    Addressing addressing = Addressing::service;
    std::string bucket;    // empty for the service
    std::string key;       // empty for the bucket and the service
    std::string resource;  // the path asked for, decoded (an error's <Resource>)
    // Object selectors: GetObject/HeadObject, and versionId for the object sub-resources.
    std::string version_id;
    std::string part_number;  // normalised: "1".."10000"
    // response-* overrides of GetObject: (response field, value), for this answer only.
    std::vector<std::pair<std::string, std::string>> overrides;
    // A relayed operation's query for S3, decoded (the signer encodes): its own parameters only,
    // never the client's presign parameters or SDK markers.
    std::vector<std::pair<std::string, std::string>> relay_query;
    bool presigned = false;  // the query carries X-Amz-Signature (a presigned URL)
    // Refusals: the status and S3 error code to answer with, and why.
    int status = 0;
    std::string error_code;
    std::string message;
};

// `method` as sent ("GET"), `raw_path` still percent-encoded, `raw_query` without '?', `host`
// the Host (or :authority) value, "" if none.
S3Operation classify_request(std::string_view method, std::string_view raw_path,
                             std::string_view raw_query, std::string_view host,
                             const AddressingRules& rules);

// The request headers a relayed operation passes on to S3 (lowercase names), e.g.
// x-amz-object-attributes for GetObjectAttributes; everything else the client sent stays here.
bool relayed_request_header(Operation op, std::string_view lowercase_name) noexcept;

// "proxy.local,s3.proxy.local" -> {"proxy.local", "s3.proxy.local"}: lowercased, trailing dots
// and surrounding spaces dropped; an error message for an entry that is not a host name.
struct SuffixList {
    std::vector<std::string> suffixes;
    std::string error;  // empty: fine
};
SuffixList parse_virtual_host_suffixes(std::string_view text);

// The ListBuckets answer (ListAllMyBucketsResult) for the buckets served, in the order given,
// filtered by `prefix`; at most `max_buckets` (0: all) after `continuation` (a bucket name), with a
// <ContinuationToken> when more remain. `creation_date` is ISO 8601 ("2026-01-02T03:04:05.000Z").
struct BucketListing {
    std::string name;
    std::string region;
};
std::string render_list_buckets_xml(const std::vector<BucketListing>& buckets,
                                    std::string_view prefix, uint32_t max_buckets,
                                    std::string_view continuation, std::string_view creation_date);

}  // namespace xs3::s3
