// S3 request classification: addressing (Host, path), then the operation from method and query.
#include "xs3/s3/operation.hpp"

#include <algorithm>
#include <initializer_list>

#include "xs3/base/ascii.hpp"
#include "xs3/base/percent.hpp"
#include "xs3/base/utf8.hpp"
#include "xs3/s3/errors.hpp"
#include "xs3/s3/url.hpp"

namespace xs3::s3 {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;
using Names = std::initializer_list<std::string_view>;

// Never change an answer, never go to S3: the SigV4 presign parameters (the proxy signs its own
// requests; the client's signature is for the proxy, if anyone), the SigV2 ones (what the AWS CLI
// v1's `aws s3 presign` and boto3's default S3 client still produce: AWSAccessKeyId, Signature,
// Expires, and x-amz-security-token with a session) and the SDKs' operation marker.
// X-Amz-Content-Sha256 may ride along in a presigned URL (the signed payload hash).
constexpr std::string_view kHarmless[] = {
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "X-Amz-Content-Sha256",
    "x-id",
    "AWSAccessKeyId",
    "Signature",
    "Expires",
    "x-amz-security-token",
};

// GetObject's response-* parameters and the response fields they set.
constexpr std::pair<std::string_view, std::string_view> kOverrides[] = {
    {"response-content-type", "Content-Type"},
    {"response-content-language", "Content-Language"},
    {"response-expires", "Expires"},
    {"response-cache-control", "Cache-Control"},
    {"response-content-disposition", "Content-Disposition"},
    {"response-content-encoding", "Content-Encoding"},
};

bool in(std::string_view name, Names names) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

const std::string* find(const Params& params, std::string_view name) {
    for (const auto& [n, v] : params)
        if (n == name) return &v;
    return nullptr;
}

bool all_digits(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

S3Operation& refuse(S3Operation& r, Operation op, int status, std::string_view code,
                    std::string message) {
    r.op = op;
    r.status = status;
    r.error_code = std::string(code);
    r.message = std::move(message);
    return r;
}

S3Operation& invalid(S3Operation& r, std::string_view code, std::string message) {
    return refuse(r, Operation::invalid, 400, code, std::move(message));
}

S3Operation& not_implemented(S3Operation& r, std::string_view method, std::string_view param) {
    return refuse(r, Operation::not_implemented, 501, "NotImplemented",
                  std::string(method) + " with ?" + std::string(param) +
                      " is not an operation this proxy serves (it serves GetObject, HeadObject "
                      "and read-only listings and object sub-resources)");
}

// The host name of a Host value: lowercase, without port or trailing dot. IPv6 literals keep
// their brackets (and never match a suffix).
std::string host_name(std::string_view host) {
    std::string_view h = host;
    if (!h.empty() && h.front() == '[') {
        size_t close = h.find(']');
        h = close == std::string_view::npos ? h : h.substr(0, close + 1);
    } else if (size_t colon = h.rfind(':'); colon != std::string_view::npos) {
        h = h.substr(0, colon);
    }
    while (!h.empty() && h.back() == '.')
        h.remove_suffix(1);
    return ascii_lowercase(h);
}

// The bucket a virtual-hosted Host names, "" if it names none (no suffix matches, or it is a
// suffix itself). The longest matching suffix wins ("b.s3.proxy" with "proxy" and "s3.proxy").
std::string virtual_host_bucket(std::string_view host, const std::vector<std::string>& suffixes) {
    if (host.empty() || suffixes.empty()) return {};
    std::string name = host_name(host);
    std::string best;
    size_t best_len = 0;
    for (const auto& s : suffixes) {
        if (name.size() <= s.size() + 1 || s.size() < best_len) continue;
        if (name.compare(name.size() - s.size(), s.size(), s) != 0) continue;
        if (name[name.size() - s.size() - 1] != '.') continue;
        best = name.substr(0, name.size() - s.size() - 1);
        best_len = s.size();
    }
    return best;
}

// Validates and records versionId (both object levels share it).
bool take_version_id(S3Operation& r, const Params& params) {
    const std::string* v = find(params, "versionId");
    if (v == nullptr) return true;
    if (v->empty() || v->size() > 1024) {
        invalid(r, "InvalidArgument", "versionId must be 1 to 1024 bytes");
        return false;
    }
    r.version_id = *v;
    return true;
}

// Every parameter besides the operation's marker must be one it takes; the relay sends them all.
bool only(S3Operation& r, std::string_view method, const Params& params, std::string_view marker,
          Names allowed) {
    for (const auto& [n, v] : params)
        if (n != marker && !in(n, allowed)) {
            not_implemented(r, method, n);
            return false;
        }
    r.relay_query = params;
    return true;
}

void classify_object_read(S3Operation& r, std::string_view method, bool is_head,
                          const Params& params) {
    struct SubResource {
        std::string_view marker;
        Operation op;
    };
    static constexpr SubResource kSubResources[] = {
        {"tagging", Operation::get_object_tagging},
        {"acl", Operation::get_object_acl},
        {"attributes", Operation::get_object_attributes},
        {"retention", Operation::get_object_retention},
        {"legal-hold", Operation::get_object_legal_hold},
        {"uploadId", Operation::list_parts},
    };
    const SubResource* sub = nullptr;
    for (const auto& [n, v] : params)
        for (const auto& s : kSubResources)
            if (n == s.marker) {
                if (sub != nullptr && sub->marker != s.marker) {
                    not_implemented(r, method, n);
                    return;
                }
                sub = &s;
            }
    if (sub != nullptr) {
        if (is_head) {
            not_implemented(r, method, sub->marker);
            return;
        }
        r.op = sub->op;
        if (sub->op == Operation::list_parts) {
            if (find(params, "uploadId")->empty()) {
                invalid(r, "InvalidArgument", "uploadId must not be empty");
                return;
            }
            only(r, method, params, "uploadId", {"max-parts", "part-number-marker"});
            return;
        }
        if (!take_version_id(r, params)) return;
        only(r, method, params, sub->marker, {"versionId"});
        return;
    }

    r.op = is_head ? Operation::head_object : Operation::get_object;
    for (const auto& [n, v] : params) {
        if (n == "versionId") continue;
        if (n == "partNumber") {
            if (!all_digits(v) || v.size() > 5 || std::stoul(v) < 1 || std::stoul(v) > 10000) {
                invalid(r, "InvalidArgument", "partNumber must be 1 to 10000");
                return;
            }
            r.part_number = std::to_string(std::stoul(v));
            continue;
        }
        if (n.rfind("response-", 0) == 0) {
            bool known = false;
            for (const auto& [param, field] : kOverrides)
                if (n == param) {
                    r.overrides.emplace_back(std::string(field), v);
                    known = true;
                }
            if (!known) {
                invalid(r, "InvalidArgument", "unknown response override " + n);
                return;
            }
            continue;
        }
        not_implemented(r, method, n);
        return;
    }
    take_version_id(r, params);
}

void classify_bucket_read(S3Operation& r, std::string_view method, bool is_head,
                          const Params& params) {
    if (is_head) {
        r.op = Operation::head_bucket;
        only(r, method, params, "", {});
        return;
    }
    std::string_view marker;
    for (const auto& [n, v] : params)
        if (in(n, {"location", "versions", "list-type"})) {
            if (!marker.empty() && marker != n) {
                not_implemented(r, method, n);
                return;
            }
            marker = n;
        }
    if (marker == "location") {
        r.op = Operation::get_bucket_location;
        only(r, method, params, marker, {});
    } else if (marker == "versions") {
        r.op = Operation::list_object_versions;
        only(r, method, params, marker,
             {"delimiter", "encoding-type", "key-marker", "max-keys", "prefix",
              "version-id-marker"});
    } else if (marker == "list-type") {
        if (*find(params, "list-type") != "2") {
            invalid(r, "InvalidArgument", "list-type must be 2");
            return;
        }
        r.op = Operation::list_objects_v2;
        only(r, method, params, marker,
             {"continuation-token", "delimiter", "encoding-type", "fetch-owner", "max-keys",
              "prefix", "start-after"});
    } else {
        r.op = Operation::list_objects;
        only(r, method, params, "", {"delimiter", "encoding-type", "marker", "max-keys", "prefix"});
    }
}

void classify_service_read(S3Operation& r, std::string_view method, bool is_head,
                           const Params& params) {
    if (is_head) {
        refuse(r, Operation::not_implemented, 501, "NotImplemented",
               "HEAD / is not an S3 operation");
        return;
    }
    r.op = Operation::list_buckets;
    if (!only(r, method, params, "",
              {"prefix", "max-buckets", "continuation-token", "bucket-region"}))
        return;
    if (const std::string* m = find(params, "max-buckets")) {
        if (!all_digits(*m) || m->size() > 5 || std::stoul(*m) < 1 || std::stoul(*m) > 10000)
            invalid(r, "InvalidArgument", "max-buckets must be 1 to 10000");
    }
}

// Single-bucket mode reads /<name> as a key of the served bucket. A request for it that is no
// object read but is a bucket read (`aws s3 ls s3://other/` sends /other?list-type=2&delimiter=/,
// s3cmd /other/?delimiter=/, GetBucketLocation /other?location) names another bucket: it is read
// as that bucket's (which the proxy then refuses as not served) instead of "not an operation this
// proxy serves".
void reread_as_another_bucket(S3Operation& r, std::string_view method, bool is_head,
                              std::string_view raw_key, const Params& params) {
    std::string_view segment = raw_key;
    if (!segment.empty() && segment.back() == '/') segment.remove_suffix(1);
    if (segment.find('/') != std::string_view::npos) return;
    auto name = percent_decode(segment);
    if (!name.ok() || !is_valid_bucket_name(*name)) return;
    S3Operation b;
    b.resource = r.resource;
    b.presigned = r.presigned;
    b.addressing = Addressing::path_style;
    b.bucket = std::move(name).value();
    classify_bucket_read(b, method, is_head, params);
    if (route_of(b.op) == Route::relay) r = std::move(b);
}

}  // namespace

Route route_of(Operation op) noexcept {
    switch (op) {
        case Operation::get_object:
        case Operation::head_object:
            return Route::cache;
        case Operation::get_object_tagging:
        case Operation::get_object_acl:
        case Operation::get_object_attributes:
        case Operation::get_object_retention:
        case Operation::get_object_legal_hold:
        case Operation::list_parts:
        case Operation::list_objects:
        case Operation::list_objects_v2:
        case Operation::list_object_versions:
        case Operation::head_bucket:
        case Operation::get_bucket_location:
            return Route::relay;
        case Operation::list_buckets:
            return Route::service;
        case Operation::write:
        case Operation::not_implemented:
        case Operation::invalid:
            return Route::refuse;
    }
    return Route::refuse;
}

std::string_view operation_name(Operation op) noexcept {
    switch (op) {
        case Operation::get_object:
            return "GetObject";
        case Operation::head_object:
            return "HeadObject";
        case Operation::get_object_tagging:
            return "GetObjectTagging";
        case Operation::get_object_acl:
            return "GetObjectAcl";
        case Operation::get_object_attributes:
            return "GetObjectAttributes";
        case Operation::get_object_retention:
            return "GetObjectRetention";
        case Operation::get_object_legal_hold:
            return "GetObjectLegalHold";
        case Operation::list_parts:
            return "ListParts";
        case Operation::list_objects:
            return "ListObjects";
        case Operation::list_objects_v2:
            return "ListObjectsV2";
        case Operation::list_object_versions:
            return "ListObjectVersions";
        case Operation::head_bucket:
            return "HeadBucket";
        case Operation::get_bucket_location:
            return "GetBucketLocation";
        case Operation::list_buckets:
            return "ListBuckets";
        case Operation::write:
            return "Write";
        case Operation::not_implemented:
            return "NotImplemented";
        case Operation::invalid:
            return "Invalid";
    }
    return "Invalid";
}

std::string_view addressing_name(Addressing a) noexcept {
    switch (a) {
        case Addressing::path_style:
            return "path";
        case Addressing::virtual_hosted:
            return "virtual";
        case Addressing::single_bucket:
            return "single";
        case Addressing::service:
            return "service";
    }
    return "service";
}

S3Operation classify_request(std::string_view method, std::string_view raw_path,
                             std::string_view raw_query, std::string_view host,
                             const AddressingRules& rules) {
    S3Operation r;
    auto decoded_path = percent_decode(raw_path);
    r.resource = decoded_path.ok() ? *decoded_path : std::string(raw_path);
    const bool is_get = method == "GET";
    const bool is_head = method == "HEAD";

    // Addressing first: a write's error names its resource too.
    if (raw_path.empty() || raw_path.front() != '/') {
        if (!is_get && !is_head)
            return refuse(r, Operation::write, 405, "MethodNotAllowed",
                          "The specified method is not allowed against this resource.");
        return invalid(r, "InvalidURI", "the request target must be a path");
    }
    std::string_view rest = raw_path.substr(1);
    std::string vhost = virtual_host_bucket(host, rules.virtual_host_suffixes);
    bool has_key = false;  // an object (possibly the empty key: "/bucket/")
    std::string_view raw_key;
    if (!vhost.empty()) {
        r.addressing = Addressing::virtual_hosted;
        r.bucket = vhost;
        raw_key = rest;
        has_key = !rest.empty();
    } else if (rest.empty()) {
        r.addressing = Addressing::service;
    } else {
        size_t slash = rest.find('/');
        auto first = percent_decode(rest.substr(0, slash));
        if (rules.single_bucket.empty() || (first.ok() && *first == rules.single_bucket)) {
            if (!first.ok()) return invalid(r, "InvalidURI", "bad percent-encoding in the path");
            r.addressing = Addressing::path_style;
            r.bucket = std::move(first).value();
            if (slash != std::string_view::npos) {
                raw_key = rest.substr(slash + 1);
                has_key = !raw_key.empty();
            }
        } else {
            r.addressing = Addressing::single_bucket;
            r.bucket = rules.single_bucket;
            raw_key = rest;
            has_key = true;
        }
    }
    if (r.addressing != Addressing::service && !is_valid_bucket_name(r.bucket))
        return invalid(r, "InvalidBucketName", "The specified bucket is not valid.");
    if (has_key) {
        auto key = percent_decode(raw_key);
        if (!key.ok()) return invalid(r, "InvalidURI", "bad percent-encoding in the key");
        r.key = std::move(key).value();
        // S3 keys are Unicode, sent as UTF-8: other bytes name no object S3 can hold, and a
        // store asked for them answers with anything (s3rver: 403 SignatureDoesNotMatch, which
        // reads as the proxy's credentials being wrong).
        if (!is_valid_utf8(r.key))
            return invalid(r, "InvalidURI",
                           "Couldn't parse the specified URI: the key is not valid UTF-8.");
        if (r.key.size() > kMaxKeyBytes)
            return invalid(
                r, "KeyTooLongError",
                "Your key is too long (at most " + std::to_string(kMaxKeyBytes) + " bytes).");
    }

    if (!is_get && !is_head)
        return refuse(r, Operation::write, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");

    auto parsed = parse_query(raw_query);
    if (!parsed.ok()) return invalid(r, "InvalidArgument", "bad percent-encoding in the query");
    Params params;
    for (auto& [n, v] : *parsed) {
        if (std::find(std::begin(kHarmless), std::end(kHarmless), n) != std::end(kHarmless)) {
            if (n == "X-Amz-Signature" || n == "Signature") r.presigned = true;
            continue;
        }
        for (const auto& [m, w] : params)
            if (m == n)
                return invalid(r, "InvalidArgument",
                               "the query parameter " + n + " is given more than once");
        params.emplace_back(std::move(n), std::move(v));
    }

    if (r.addressing == Addressing::service) {
        classify_service_read(r, method, is_head, params);
    } else if (has_key) {
        classify_object_read(r, method, is_head, params);
        if (r.op == Operation::not_implemented && r.addressing == Addressing::single_bucket)
            reread_as_another_bucket(r, method, is_head, raw_key, params);
    } else {
        classify_bucket_read(r, method, is_head, params);
    }
    if (route_of(r.op) != Route::relay && r.op != Operation::list_buckets) r.relay_query.clear();
    return r;
}

bool relayed_request_header(Operation op, std::string_view name) noexcept {
    if (route_of(op) != Route::relay) return false;
    if (name == "x-amz-expected-bucket-owner" || name == "x-amz-request-payer") return true;
    if (op == Operation::get_object_attributes)
        return name == "x-amz-object-attributes" || name == "x-amz-max-parts" ||
               name == "x-amz-part-number-marker";
    if (op == Operation::list_objects_v2 || op == Operation::list_objects ||
        op == Operation::list_object_versions)
        return name == "x-amz-optional-object-attributes";
    return false;
}

SuffixList parse_virtual_host_suffixes(std::string_view text) {
    SuffixList out;
    while (!text.empty()) {
        size_t comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        while (!item.empty() && item.front() == ' ')
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '.'))
            item.remove_suffix(1);
        if (item.empty()) continue;
        std::string name = ascii_lowercase(item);
        bool ok = name.front() != '.' && name.front() != '-' && name.size() <= 253;
        for (char c : name)
            ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');
        if (!ok) {
            out.error = "'" + std::string(item) + "' is not a host name";
            return out;
        }
        out.suffixes.push_back(std::move(name));
    }
    if (out.suffixes.empty()) out.error = "no host name given";
    return out;
}

std::string render_list_buckets_xml(const std::vector<BucketListing>& buckets,
                                    std::string_view prefix, uint32_t max_buckets,
                                    std::string_view continuation, std::string_view creation_date) {
    std::string out =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Owner><ID>xs3lerator</ID><DisplayName>xs3lerator</DisplayName></Owner><Buckets>";
    // The token is the last name of the previous page: this page starts after it (in the
    // configured order, which is the order pages are cut in).
    bool started = continuation.empty();
    uint32_t listed = 0;
    std::string last;
    bool more = false;
    for (const auto& b : buckets) {
        if (!started) {
            started = b.name == continuation;
            continue;
        }
        if (b.name.compare(0, prefix.size(), prefix) != 0) continue;
        if (max_buckets != 0 && listed == max_buckets) {
            more = true;
            break;
        }
        out += "<Bucket><Name>" + xml_escape(b.name) + "</Name><CreationDate>" +
               xml_escape(creation_date) + "</CreationDate><BucketRegion>" + xml_escape(b.region) +
               "</BucketRegion></Bucket>";
        last = b.name;
        ++listed;
    }
    out += "</Buckets>";
    if (!prefix.empty()) out += "<Prefix>" + xml_escape(prefix) + "</Prefix>";
    if (more) out += "<ContinuationToken>" + xml_escape(last) + "</ContinuationToken>";
    out += "</ListAllMyBucketsResult>";
    return out;
}

}  // namespace xs3::s3
