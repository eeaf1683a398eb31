// percent_decode and parse_query.
#include "xs3/base/percent.hpp"

namespace xs3 {

namespace {
int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

Result<std::string> percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (s.size() - i < 3) {
            return Status(Code::invalid_argument, "truncated percent escape");
        }
        int hi = hex_value(s[i + 1]);
        int lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0) return Status(Code::invalid_argument, "malformed percent escape");
        char c = char(hi * 16 + lo);
        if (c == '\0') return Status(Code::invalid_argument, "percent escape %00");
        out += c;
        i += 2;
    }
    return out;
}

Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view part = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (part.empty()) continue;
        size_t eq = part.find('=');
        auto name = percent_decode(part.substr(0, eq));
        auto value =
            percent_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
        if (!name || !value)
            return Status(Code::invalid_argument,
                          "bad query parameter '" + std::string(part) +
                              "': " + (!name ? name : value).status().message());
        out.emplace_back(std::move(*name), std::move(*value));
    }
    return out;
}

}  // namespace xs3
