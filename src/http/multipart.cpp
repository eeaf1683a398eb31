// layout_multipart.
#include "xs3/http/multipart.hpp"

#include "xs3/http/response.hpp"

namespace xs3::http {

MultipartLayout layout_multipart(const std::vector<ByteRange>& parts, uint64_t object_size,
                                 std::string_view part_type, std::string boundary) {
    MultipartLayout l;
    l.boundary = std::move(boundary);
    l.content_type = "multipart/byteranges; boundary=" + l.boundary;
    l.parts = parts;
    bool typed = !part_type.empty() && valid_field_value(part_type);
    for (size_t i = 0; i < parts.size(); ++i) {
        // The CRLF before a delimiter belongs to the delimiter (RFC 2046 5.1.1); the first part
        // needs none.
        std::string head = i == 0 ? "--" : "\r\n--";
        head += l.boundary;
        head += "\r\n";
        if (typed) {
            head += "Content-Type: ";
            head += part_type;
            head += "\r\n";
        }
        head += "Content-Range: ";
        head += content_range_value(parts[i].first, parts[i].last, object_size);
        head += "\r\n\r\n";
        l.content_length += head.size() + (parts[i].last - parts[i].first + 1);
        l.part_heads.push_back(std::move(head));
    }
    l.tail = "\r\n--" + l.boundary + "--\r\n";
    l.content_length += l.tail.size();
    return l;
}

}  // namespace xs3::http
