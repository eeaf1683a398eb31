// Small text helpers shared by the s3 layer's parsers.
#pragma once

#include <string_view>

namespace xs3::s3 {

// `s` without leading and trailing spaces, tabs, CRs and LFs.
inline std::string_view trim_space(std::string_view s) {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && ws(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && ws(s.back()))
        s.remove_suffix(1);
    return s;
}

}  // namespace xs3::s3
