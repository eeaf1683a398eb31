// Headers and ASCII helpers.
#include "xs3/http/headers.hpp"

#include <algorithm>

namespace xs3::http {

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool is_token_char(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
        default:
            return false;
    }
}

bool is_token(std::string_view s) noexcept {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char);
}

bool list_has_token(std::string_view list, std::string_view token) noexcept {
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        if (iequals(trim_ows(item), token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

void Headers::set(std::string_view name, std::string value) {
    auto first = std::find_if(fields_.begin(), fields_.end(),
                              [&](const Field& f) { return iequals(f.name, name); });
    if (first == fields_.end()) {
        fields_.push_back({std::string(name), std::move(value)});
        return;
    }
    first->value = std::move(value);
    fields_.erase(std::remove_if(first + 1, fields_.end(),
                                 [&](const Field& f) { return iequals(f.name, name); }),
                  fields_.end());
}

size_t Headers::remove(std::string_view name) {
    size_t before = fields_.size();
    fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                                 [&](const Field& f) { return iequals(f.name, name); }),
                  fields_.end());
    return before - fields_.size();
}

const std::string* Headers::get(std::string_view name) const noexcept {
    for (const Field& f : fields_) {
        if (iequals(f.name, name)) return &f.value;
    }
    return nullptr;
}

size_t Headers::count(std::string_view name) const noexcept {
    return size_t(std::count_if(fields_.begin(), fields_.end(),
                                [&](const Field& f) { return iequals(f.name, name); }));
}

bool Headers::has_token(std::string_view name, std::string_view token) const noexcept {
    for (const Field& f : fields_) {
        if (iequals(f.name, name) && list_has_token(f.value, token)) return true;
    }
    return false;
}

}  // namespace xs3::http
