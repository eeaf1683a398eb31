// Response head serialization, reason phrases, the Server value.
#include "xs3/http/response.hpp"

#include "xs3_build_config.h"

namespace xs3::http {

std::string_view reason_phrase(int status) noexcept {
    switch (status) {
        case 100:
            return "Continue";
        case 101:
            return "Switching Protocols";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 204:
            return "No Content";
        case 206:
            return "Partial Content";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 304:
            return "Not Modified";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 411:
            return "Length Required";
        case 412:
            return "Precondition Failed";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 416:
            return "Range Not Satisfiable";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        case 505:
            return "HTTP Version Not Supported";
        case 507:
            return "Insufficient Storage";
        default:
            return "";
    }
}

std::string_view server_header_value() noexcept {
    static const std::string value = std::string("xs3lerator/") + XS3_VERSION;
    return value;
}

bool valid_field_name(std::string_view name) noexcept {
    return is_token(name);
}

bool valid_field_value(std::string_view value) noexcept {
    for (char ch : value) {
        auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    }
    return true;
}

size_t serialize_response_head(const ResponseHead& head, std::string& out) {
    int status = head.status >= 100 && head.status <= 999 ? head.status : 500;
    out += "HTTP/1.1 ";
    out += std::to_string(status);
    out += ' ';
    out += reason_phrase(status);
    out += "\r\n";
    size_t dropped = 0;
    for (const Headers::Field& f : head.headers) {
        if (!valid_field_name(f.name) || !valid_field_value(f.value)) {
            ++dropped;
            continue;
        }
        out += f.name;
        out += ": ";
        out += f.value;
        out += "\r\n";
    }
    out += "\r\n";
    return dropped;
}

}  // namespace xs3::http
