// S3 XML error parsing and rendering without an XML library: the documents are tiny and flat.
#include "xs3/s3/errors.hpp"

#include <cstdint>

namespace xs3::s3 {
namespace {

bool is_name_end(char c) {
    return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Decodes one "&...;" reference at text[i]; on success appends it and returns the length consumed,
// else 0 (the '&' is then kept literally: tolerant, not validating).
size_t decode_reference(std::string_view text, size_t i, std::string& out) {
    const size_t semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) return 0;
    const std::string_view name = text.substr(i + 1, semi - i - 1);
    if (name == "amp")
        out += '&';
    else if (name == "lt")
        out += '<';
    else if (name == "gt")
        out += '>';
    else if (name == "quot")
        out += '"';
    else if (name == "apos")
        out += '\'';
    else if (name.size() >= 2 && name[0] == '#') {
        const bool hex = name[1] == 'x' || name[1] == 'X';
        std::string_view digits = name.substr(hex ? 2 : 1);
        if (digits.empty()) return 0;
        uint32_t cp = 0;
        for (char c : digits) {
            int d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (hex && c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else if (hex && c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            else
                return 0;
            cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
            if (cp > 0x10FFFF) return 0;
        }
        append_utf8(out, cp);
    } else {
        return 0;
    }
    return semi - i + 1;
}

std::string decode_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        if (text.substr(i, 9) == "<![CDATA[") {
            const size_t end = text.find("]]>", i + 9);
            const size_t stop = end == std::string_view::npos ? text.size() : end;
            out += text.substr(i + 9, stop - i - 9);
            i = end == std::string_view::npos ? text.size() : end + 3;
        } else if (text[i] == '&') {
            const size_t n = decode_reference(text, i, out);
            if (n == 0) {
                out += '&';
                ++i;
            } else {
                i += n;
            }
        } else {
            out += text[i++];
        }
    }
    return out;
}

// Finds the first <name ...>content</name> (or <name/>) in doc; returns false when absent.
// start/end give the content range (start of content, position of the closing tag).
bool find_element(std::string_view doc, std::string_view name, size_t& start, size_t& end) {
    size_t pos = 0;
    while ((pos = doc.find('<', pos)) != std::string_view::npos) {
        const size_t name_at = pos + 1;
        if (doc.substr(name_at, name.size()) == name && name_at + name.size() < doc.size() &&
            is_name_end(doc[name_at + name.size()])) {
            const size_t gt = doc.find('>', name_at + name.size());
            if (gt == std::string_view::npos) return false;
            if (doc[gt - 1] == '/') {  // <name/> or <name attr="x"/>
                start = end = gt + 1;
                return true;
            }
            start = gt + 1;
            const std::string close = "</" + std::string(name);
            size_t c = doc.find(close, start);
            while (c != std::string_view::npos && c + close.size() < doc.size() &&
                   !is_name_end(doc[c + close.size()]))
                c = doc.find(close, c + 1);
            // A truncated document: take what is there.
            end = c == std::string_view::npos ? doc.size() : c;
            return true;
        }
        pos = name_at;
    }
    return false;
}

std::string child_text(std::string_view doc, std::string_view name) {
    size_t start = 0, end = 0;
    if (!find_element(doc, name, start, end)) return {};
    return decode_text(doc.substr(start, end - start));
}

}  // namespace

std::optional<S3Error> parse_error_xml(std::string_view body) {
    size_t start = 0, end = 0;
    if (!find_element(body, "Error", start, end)) return std::nullopt;
    const std::string_view inner = body.substr(start, end - start);
    S3Error e;
    e.code = child_text(inner, "Code");
    if (e.code.empty()) return std::nullopt;
    e.message = child_text(inner, "Message");
    e.request_id = child_text(inner, "RequestId");
    e.host_id = child_text(inner, "HostId");
    e.resource = child_text(inner, "Resource");
    if (e.resource.empty()) e.resource = child_text(inner, "Key");
    return e;
}

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (ch) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                    out += "\xEF\xBF\xBD";
                else
                    out += ch;
        }
    }
    return out;
}

std::string render_error_xml(std::string_view code, std::string_view message,
                             std::string_view resource, std::string_view request_id) {
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>";
    out += xml_escape(code);
    out += "</Code><Message>";
    out += xml_escape(message);
    out += "</Message>";
    if (!resource.empty()) {
        out += "<Resource>";
        out += xml_escape(resource);
        out += "</Resource>";
    }
    if (!request_id.empty()) {
        out += "<RequestId>";
        out += xml_escape(request_id);
        out += "</RequestId>";
    }
    out += "</Error>";
    return out;
}

std::string_view s3_error_for_status(int status) {
    switch (status) {
        case 304:
            return "NotModified";
        case 400:
            return "InvalidRequest";
        case 403:
            return "AccessDenied";
        case 404:
            return "NoSuchKey";
        case 405:
            return "MethodNotAllowed";
        case 408:
            return "RequestTimeout";
        case 409:
            return "OperationAborted";
        case 411:
            return "MissingContentLength";
        case 412:
            return "PreconditionFailed";
        case 413:
            return "EntityTooLarge";
        case 416:
            return "InvalidRange";
        case 429:
            return "SlowDown";
        case 500:
            return "InternalError";
        case 501:
            return "NotImplemented";
        case 502:
            return "BadGateway";
        case 503:
            return "ServiceUnavailable";
        case 504:
            return "GatewayTimeout";
        default:
            break;
    }
    if (status >= 400 && status < 500) return "InvalidRequest";
    if (status >= 500 && status < 600) return "InternalError";
    return "";
}

std::string_view default_error_message(std::string_view code) {
    struct Entry {
        std::string_view code, message;
    };
    static constexpr Entry table[] = {
        {"AccessDenied", "Access Denied"},
        {"BadGateway",
         "The upstream object store could not be reached or sent an invalid response."},
        {"EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size."},
        {"GatewayTimeout", "The upstream object store did not respond in time."},
        {"InternalError", "We encountered an internal error. Please try again."},
        {"InvalidRange", "The requested range is not satisfiable"},
        {"InvalidRequest", "Invalid Request"},
        {"MethodNotAllowed", "The specified method is not allowed against this resource."},
        {"MissingContentLength", "You must provide the Content-Length HTTP header."},
        {"NoSuchBucket", "The specified bucket does not exist"},
        {"NoSuchKey", "The specified key does not exist."},
        {"NotImplemented", "A header you provided implies functionality that is not implemented"},
        {"NotModified", "Not Modified"},
        {"OperationAborted",
         "A conflicting conditional operation is currently in progress against this resource."},
        {"PreconditionFailed", "At least one of the pre-conditions you specified did not hold"},
        {"RequestTimeout",
         "Your socket connection to the server was not read from or written to within the "
         "timeout period."},
        {"ServiceUnavailable", "Please reduce your request rate."},
        {"SlowDown", "Please reduce your request rate."},
    };
    for (const auto& e : table)
        if (e.code == code) return e.message;
    return "";
}

}  // namespace xs3::s3
