// The input of the botocore test tools (sign_tool, verify_tool): one line of whitespace-separated
// fields, each "x" + the hex of its raw bytes, so empty strings, spaces and any byte survive.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace xs3::test {

// The raw bytes of every field of `line`; false when a field is not "x" + an even run of hex.
inline bool read_hex_fields(const std::string& line, std::vector<std::string>& fields) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    fields.clear();
    std::istringstream in(line);
    for (std::string tok; in >> tok;) {
        if (tok[0] != 'x' || tok.size() % 2 != 1) return false;
        std::string raw;
        for (size_t i = 1; i < tok.size(); i += 2) {
            const int hi = nibble(tok[i]), lo = nibble(tok[i + 1]);
            if (hi < 0 || lo < 0) return false;
            raw += static_cast<char>(hi * 16 + lo);
        }
        fields.push_back(std::move(raw));
    }
    return true;
}

}  // namespace xs3::test
