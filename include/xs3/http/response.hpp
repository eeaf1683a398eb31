// ResponseHead and its HTTP/1.1 serialization. Header names and values are checked on the way out
// so that nothing taken from upstream (S3 metadata, ETags, ...) can split or corrupt a response.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "xs3/http/headers.hpp"

namespace xs3::http {

struct ResponseHead {
    int status = 200;
    Headers headers;
};

// "OK", "Partial Content", ...; "" for codes without a registered phrase.
std::string_view reason_phrase(int status) noexcept;

// "xs3lerator/<version>"
std::string_view server_header_value() noexcept;

// A field name must be a token; a value may hold visible ASCII, SP, HTAB and obs-text (0x80-0xFF),
// but no CR, LF, NUL or other control character.
bool valid_field_name(std::string_view name) noexcept;
bool valid_field_value(std::string_view value) noexcept;

// Appends "HTTP/1.1 <code> <reason>\r\n", one "name: value\r\n" per field, and "\r\n" to out.
// Fields failing valid_field_name/valid_field_value are left out, never emitted raw or altered;
// the return value says how many were left out (so the caller can log it). A status outside
// 100..999 is written as 500.
size_t serialize_response_head(const ResponseHead& head, std::string& out);

}  // namespace xs3::http
