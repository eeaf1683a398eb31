// decode_http2_settings: base64url decoding and SETTINGS payload checks.
#include "xs3/http/h2_settings.hpp"

#include <cstdint>

#include "xs3/http/headers.hpp"

namespace xs3::http {

namespace {

int base64url_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

// Strict base64url: only the url-safe alphabet, and the unused low bits of the last symbol must
// be zero so that one payload has exactly one spelling.
Result<std::string> base64url_decode(std::string_view s) {
    while (!s.empty() && s.back() == '=')
        s.remove_suffix(1);
    if (s.size() % 4 == 1) return Status(Code::invalid_argument, "HTTP2-Settings: bad length");
    std::string out;
    out.reserve(s.size() * 3 / 4);
    uint32_t acc = 0;
    int bits = 0;
    for (char c : s) {
        int v = base64url_value(c);
        if (v < 0) {
            return Status(Code::invalid_argument, "HTTP2-Settings: not base64url");
        }
        acc = (acc << 6) | uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += char((acc >> bits) & 0xff);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        return Status(Code::invalid_argument, "HTTP2-Settings: stray bits after the last byte");
    }
    return out;
}

Status check_setting(uint16_t id, uint32_t value) {
    switch (id) {
        case 0x2:  // ENABLE_PUSH
        case 0x8:  // ENABLE_CONNECT_PROTOCOL
        case 0x9:  // NO_RFC7540_PRIORITIES
            if (value > 1) return Status(Code::invalid_argument, "HTTP2-Settings: flag not 0/1");
            return {};
        case 0x4:  // INITIAL_WINDOW_SIZE
            if (value > 0x7fffffffu) {
                return Status(Code::invalid_argument, "HTTP2-Settings: window above 2^31-1");
            }
            return {};
        case 0x5:  // MAX_FRAME_SIZE
            if (value < 16384 || value > 16777215) {
                return Status(Code::invalid_argument, "HTTP2-Settings: bad MAX_FRAME_SIZE");
            }
            return {};
        default:
            return {};
    }
}

}  // namespace

Result<std::string> decode_http2_settings(std::string_view value) {
    auto payload = base64url_decode(trim_ows(value));
    if (!payload.ok()) return payload.status();
    const std::string& p = *payload;
    if (p.size() % 6 != 0) {
        return Status(Code::invalid_argument, "HTTP2-Settings: not a whole number of settings");
    }
    if (p.size() / 6 > max_http2_settings_entries) {
        return Status(Code::invalid_argument, "HTTP2-Settings: too many settings");
    }
    for (size_t i = 0; i < p.size(); i += 6) {
        auto byte = [&](size_t k) { return uint32_t(uint8_t(p[i + k])); };
        uint16_t id = uint16_t(byte(0) << 8 | byte(1));
        uint32_t v = byte(2) << 24 | byte(3) << 16 | byte(4) << 8 | byte(5);
        if (Status s = check_setting(id, v); !s.ok()) return s;
    }
    return payload;
}

}  // namespace xs3::http
