// S3 XML error bodies from the origin (s3::parse_error_xml and the small XML reader under it),
// and the error bodies the proxy writes: whatever a hostile key or message holds, the rendered
// body parses back to the same code and message (after the U+FFFD stand-in for bytes XML cannot
// carry).
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "xs3/s3/errors.hpp"
#include "xs3/s3/xml.hpp"

using namespace xs3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in = fuzz::as_text(data, size);
    auto e = s3::parse_error_xml(in);
    if (e) XS3_FUZZ_CHECK(!e->code.empty());
    (void)s3::xml_child_text(in, "Message");
    (void)s3::xml_decode_text(in);

    // The writer: code and message from the input halves.
    auto f = fuzz::split_fields(in, '\n', 3);
    f.resize(3);
    const std::string body = s3::render_error_xml(f[0].empty() ? "X" : f[0], f[1], f[2], "");
    auto back = s3::parse_error_xml(body);
    XS3_FUZZ_CHECK(back.has_value());
    // Text that needs no replacement comes back byte for byte.
    auto plain = [](std::string_view s) {
        for (char c : s)
            if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
                return false;
        return true;
    };
    if (plain(f[0]) && !f[0].empty() && f[0].find_first_not_of(" \t\r\n") != std::string::npos &&
        f[0].find_first_of(" \t\r\n") == std::string::npos)
        XS3_FUZZ_CHECK(back->code == f[0]);
    return 0;
}
