// Entity-tag parsing and comparison.
#include "xs3/http/etag.hpp"

namespace xs3::http {
namespace {

// etagc = %x21 / %x23-7E / obs-text
bool is_etagc(char ch) noexcept {
    auto c = static_cast<unsigned char>(ch);
    return c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80;
}

bool is_ows(char c) noexcept {
    return c == ' ' || c == '\t';
}

// A quoted tag at the start of `s` (after an optional W/): its length, or 0.
size_t quoted_length(std::string_view s) noexcept {
    size_t i = s.substr(0, 2) == "W/" ? 2 : 0;
    if (i >= s.size() || s[i] != '"') return 0;
    for (size_t j = i + 1; j < s.size(); ++j) {
        if (s[j] == '"') return j + 1;
        if (!is_etagc(s[j])) return 0;
    }
    return 0;
}

bool is_bare_tag(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_etagc(c) || c == ',') return false;
    return true;
}

}  // namespace

std::optional<EntityTag> parse_entity_tag(std::string_view s) noexcept {
    size_t n = quoted_length(s);
    if (n != 0 && n == s.size()) {
        bool weak = s[0] == 'W';
        size_t open = weak ? 3 : 1;
        return EntityTag{weak, s.substr(open, n - open - 1)};
    }
    if (n == 0 && is_bare_tag(s) && s.find('"') == std::string_view::npos)
        return EntityTag{false, s};
    return std::nullopt;
}

bool strong_match(const EntityTag& a, const EntityTag& b) noexcept {
    return !a.weak && !b.weak && a.opaque == b.opaque;
}

bool weak_match(const EntityTag& a, const EntityTag& b) noexcept {
    return a.opaque == b.opaque;
}

void parse_entity_tag_list(std::string_view s, EntityTagList& out) {
    size_t i = 0;
    while (i < s.size()) {
        if (is_ows(s[i]) || s[i] == ',') {
            ++i;
            continue;
        }
        std::string_view rest = s.substr(i);
        size_t n = quoted_length(rest);
        if (n == 0) {
            // `*`, a bare tag, or junk: up to the next comma.
            n = rest.find(',');
            if (n == std::string_view::npos) n = rest.size();
        }
        std::string_view item = rest.substr(0, n);
        while (!item.empty() && is_ows(item.back()))
            item.remove_suffix(1);
        i += n;
        if (item == "*") {
            out.any = true;
        } else if (auto tag = parse_entity_tag(item)) {
            out.tags.push_back(*tag);
        } else {
            out.malformed = true;
        }
        // After a quoted tag only OWS may come before the comma.
        while (i < s.size() && is_ows(s[i]))
            ++i;
        if (i < s.size() && s[i] != ',') {
            out.malformed = true;
            size_t comma = s.find(',', i);
            i = comma == std::string_view::npos ? s.size() : comma;
        }
    }
}

}  // namespace xs3::http
