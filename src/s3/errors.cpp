// S3 XML error parsing (through the small reader in xml.cpp) and rendering.
#include "xs3/s3/errors.hpp"

#include "xs3/s3/xml.hpp"

namespace xs3::s3 {

std::optional<S3Error> parse_error_xml(std::string_view body) {
    const std::optional<std::string_view> error = xml_element(body, "Error");
    if (!error) return std::nullopt;
    const std::string_view inner = *error;
    S3Error e;
    e.code = xml_child_text(inner, "Code");
    if (e.code.empty()) return std::nullopt;
    e.message = xml_child_text(inner, "Message");
    e.request_id = xml_child_text(inner, "RequestId");
    e.host_id = xml_child_text(inner, "HostId");
    e.resource = xml_child_text(inner, "Resource");
    if (e.resource.empty()) e.resource = xml_child_text(inner, "Key");
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
                             std::string_view resource, std::string_view request_id,
                             std::span<const ErrorDetail> details) {
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>";
    out += xml_escape(code);
    out += "</Code><Message>";
    out += xml_escape(message);
    out += "</Message>";
    for (const auto& [name, text] : details) {
        out += "<" + name + ">";
        out += xml_escape(text);
        out += "</" + name + ">";
    }
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
