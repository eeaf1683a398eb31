// S3 XML error bodies: a tolerant reader for what S3 (and S3-compatible stores) send back, a
// writer for the bodies the proxy sends to its own clients, and the default S3 error code for an
// HTTP status.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace xs3::s3 {

struct S3Error {
    std::string code;  // "NoSuchKey"
    std::string message;
    std::string request_id;
    std::string host_id;
    std::string resource;
};

// Reads <Error><Code>..</Code><Message>..</Message><RequestId>..</RequestId>...</Error> with a
// tiny hand parser: any XML declaration, namespaces/attributes on the elements, whitespace,
// entity and character references, CDATA and self-closing elements are accepted. Returns nullopt
// when the body has no <Error> element with a non-empty <Code> (an empty or truncated body, HTML
// from a load balancer...).
std::optional<S3Error> parse_error_xml(std::string_view body);

// Escapes &, <, >, " and ' for XML text and attributes. Bytes XML 1.0 cannot carry at all (C0
// controls other than tab, LF and CR) become U+FFFD, so a hostile key cannot break the document.
std::string xml_escape(std::string_view text);

// An element S3 adds to some errors after <Message>: <Key>, <BucketName>, <Method>,
// <ResourceType>, <ActualObjectSize>... (name, text); the name is written as is, the text escaped.
using ErrorDetail = std::pair<std::string, std::string>;

// <?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>..</Code><Message>..</Message>
// [details]<Resource>..</Resource><RequestId>..</RequestId></Error>; Resource and RequestId are
// omitted when empty, like S3 does for fields it has no value for.
std::string render_error_xml(std::string_view code, std::string_view message,
                             std::string_view resource, std::string_view request_id,
                             std::span<const ErrorDetail> details = {});

// The S3 error code a response with this status carries by default:
//   304 NotModified, 400 InvalidRequest, 403 AccessDenied, 404 NoSuchKey, 405 MethodNotAllowed,
//   408 RequestTimeout, 409 OperationAborted, 411 MissingContentLength, 412 PreconditionFailed,
//   413 EntityTooLarge, 416 InvalidRange, 429 SlowDown, 500 InternalError, 501 NotImplemented,
//   503 ServiceUnavailable; other 4xx InvalidRequest, other 5xx InternalError, anything else "".
// S3 itself never answers 502 or 504; the proxy does (origin unreachable / too slow), and names
// them BadGateway and GatewayTimeout. SDKs retry on the status, not the code, so that is safe.
std::string_view s3_error_for_status(int http_status);

// S3's usual message for a code ("The specified key does not exist."), "" for unknown codes.
std::string_view default_error_message(std::string_view code);

}  // namespace xs3::s3
