// The layout of a multipart/byteranges body (RFC 9110 14.6): for each part a delimiter and part
// header (Content-Type when the object has one, Content-Range), then the part's bytes; a closing
// delimiter at the end. Pure: the proxy fills the parts in (proxy/multipart_body.hpp).
//
//   --B\r\nContent-Type: T\r\nContent-Range: bytes 0-99/1000\r\n\r\n<100 bytes>
//   \r\n--B\r\nContent-Type: T\r\nContent-Range: bytes 200-299/1000\r\n\r\n<100 bytes>
//   \r\n--B--\r\n
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "xs3/http/range.hpp"

namespace xs3::http {

struct MultipartLayout {
    std::string boundary;
    std::string content_type;  // "multipart/byteranges; boundary=B"
    std::vector<ByteRange> parts;
    std::vector<std::string> part_heads;  // what precedes each part's bytes
    std::string tail;                     // what follows the last part
    uint64_t content_length = 0;          // heads + bytes + tail
};

// `boundary`: 1 to 70 characters from RFC 2046's bchars without space (the caller makes it
// random, so it is not in the bytes); `part_type`: the object's Content-Type, "" for none (the
// parts then carry only Content-Range). A part type with CR, LF or other controls is left out.
MultipartLayout layout_multipart(const std::vector<ByteRange>& parts, uint64_t object_size,
                                 std::string_view part_type, std::string boundary);

}  // namespace xs3::http
