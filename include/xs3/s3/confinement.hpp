// Key confinement: the proxy may only ask the origin for objects of the buckets it serves, so no
// request path it sends may hold a segment that a store, or anything in front of one, could
// resolve as "." or "..": `/bench/../secret/key` is bucket `secret` to a store that normalises
// paths (the SigV4-checking s3rver does; so do RFC 3986 normalisers in load balancers and WHATWG
// URL parsers, which also take `%2e` for a dot and `\` for a slash).
//
// The rule: a path is refused when, at any level of percent-decoding (the bytes as sent, once
// decoded, twice decoded, ... — a store that decodes twice is wrong but must still not escape),
// a piece between separators is "." or "..". Separators are '/' and '\' (Windows-style stores and
// WHATWG parsers treat '\' as '/'); the overlong UTF-8 forms of '.', '/' and '\' (C0 AE, C0 AF,
// C1 9C: decoders that accept them turn them into the ASCII byte) count as those bytes. Empty
// segments ("//") are allowed: merging them changes the key, never the bucket.
//
// Refusing is the only rule that holds for every store: encoding the dots (%2E) does not help,
// because RFC 3986 makes %2E equivalent to '.', and normalisers decode it before resolving.
// Clients get S3's 400 InvalidURI for such keys.
#pragma once

#include <string_view>

#include "xs3/base/status.hpp"

namespace xs3::s3 {

// True when `path` (an origin request path as it goes on the wire, percent-encoded, or a raw key)
// has a "." or ".." piece at any level of percent-decoding, as described above. A path still
// percent-decodable after 16 rounds counts as having one (no real key is encoded that deep).
bool has_dot_segment(std::string_view path);

// OK, or invalid_argument naming the rule, for an object key before it is put into a URL.
Status check_key_confined(std::string_view key);

}  // namespace xs3::s3
