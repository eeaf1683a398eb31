// Key confinement: no "." or ".." piece at any level of percent-decoding.
#include "xs3/s3/confinement.hpp"

#include <string>

namespace xs3::s3 {
namespace {

constexpr int kMaxDecodeRounds = 16;

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// One round of percent-decoding as a lenient store would do it: every well-formed %XX becomes
// its byte, anything else stays as it is.
std::string decode_once(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            int hi = hex_value(s[i + 1]);
            int lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

// The byte an overlong two-byte UTF-8 sequence at s[i] stands for, when it is one of the bytes
// that matter here ('.', '/', '\'), else 0.
char overlong_at(std::string_view s, size_t i) noexcept {
    if (i + 1 >= s.size()) return 0;
    auto a = static_cast<unsigned char>(s[i]);
    auto b = static_cast<unsigned char>(s[i + 1]);
    if (a == 0xC0 && b == 0xAE) return '.';
    if (a == 0xC0 && b == 0xAF) return '/';
    if (a == 0xC1 && b == 0x9C) return '\\';
    return 0;
}

// Whether `s` (one level of decoding) has a "." or ".." piece between '/' or '\' separators.
bool has_dot_piece(std::string_view s) noexcept {
    size_t dots = 0;     // dots in the current piece so far
    bool other = false;  // the current piece has something that is not a dot
    auto piece_end = [&]() {
        bool dot_piece = !other && (dots == 1 || dots == 2);
        dots = 0;
        other = false;
        return dot_piece;
    };
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (char folded = overlong_at(s, i)) {
            c = folded;
            ++i;
        }
        if (c == '/' || c == '\\') {
            if (piece_end()) return true;
        } else if (c == '.') {
            ++dots;
        } else {
            other = true;
        }
    }
    return piece_end();
}

}  // namespace

bool has_dot_segment(std::string_view path) {
    std::string level(path);
    for (int round = 0; round <= kMaxDecodeRounds; ++round) {
        if (has_dot_piece(level)) return true;
        if (level.find('%') == std::string::npos) return false;
        std::string next = decode_once(level);
        if (next == level) return false;
        level = std::move(next);
    }
    return true;  // still decoding after every round: refuse rather than guess
}

Status check_key_confined(std::string_view key) {
    if (!has_dot_segment(key)) return {};
    return Status(Code::invalid_argument,
                  "the key has a '.' or '..' path segment (after percent-decoding, with '/' or "
                  "'\\' as separators), which a store could resolve outside the bucket");
}

}  // namespace xs3::s3
