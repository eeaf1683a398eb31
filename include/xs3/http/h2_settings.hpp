// HTTP2-Settings: decoding and checking the field an HTTP/1.1 client sends with `Upgrade: h2c`
// (RFC 7540 3.2.1), so the HTTP/1.1 side can refuse a bad value before it answers 101.
#pragma once

#include <string>
#include <string_view>

#include "xs3/base/status.hpp"

namespace xs3::http {

// Most SETTINGS entries accepted in one HTTP2-Settings value (nghttp2's own limit per SETTINGS
// frame is 32 too).
inline constexpr size_t max_http2_settings_entries = 32;

// Decodes `value` (base64url without padding; trailing '=' padding is tolerated, surrounding
// OWS ignored) into a SETTINGS frame payload and checks it: a whole number of 6-byte entries,
// at most max_http2_settings_entries, and the values RFC 9113 6.5.2 constrains in range
// (ENABLE_PUSH 0/1, INITIAL_WINDOW_SIZE <= 2^31-1, MAX_FRAME_SIZE 2^14..2^24-1, and the 0/1
// flags ENABLE_CONNECT_PROTOCOL and NO_RFC7540_PRIORITIES). Unknown identifiers are allowed
// (they must be ignored). The result is what H2Codec::upgrade() takes.
Result<std::string> decode_http2_settings(std::string_view value);

}  // namespace xs3::http
