// Locale-independent ASCII helpers for protocol text (header names, hosts, units, option
// values): what they answer must never depend on the process locale.
#pragma once

#include <string>
#include <string_view>

namespace xs3 {

constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// A copy of `s` with A-Z lowered; every other byte unchanged.
inline std::string ascii_lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = ascii_lower(c);
    return out;
}

}  // namespace xs3
