// Headers: an ordered list of HTTP field lines with case-insensitive lookup, plus the small ASCII
// helpers (case-insensitive compare, token lists) that requests and responses both need.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "xs3/base/ascii.hpp"

namespace xs3::http {

using xs3::ascii_lower;  // base/ascii.hpp
bool iequals(std::string_view a, std::string_view b) noexcept;
bool istarts_with(std::string_view s, std::string_view prefix) noexcept;
// Strips SP and HTAB (HTTP's OWS) from both ends.
std::string_view trim_ows(std::string_view s) noexcept;
// tchar from RFC 9110 5.6.2; a field name is a non-empty run of them.
bool is_token_char(char c) noexcept;
bool is_token(std::string_view s) noexcept;
// True when the comma-separated list `list` (e.g. a Connection value) holds `token`, ignoring
// case and OWS.
bool list_has_token(std::string_view list, std::string_view token) noexcept;

class Headers {
  public:
    struct Field {
        std::string name;
        std::string value;
    };
    using const_iterator = std::vector<Field>::const_iterator;

    void add(std::string name, std::string value) {
        fields_.push_back({std::move(name), std::move(value)});
    }
    // Replaces every field called `name` with one field at the position of the first (or at the
    // end).
    void set(std::string_view name, std::string value);
    // Removes every field called `name`; returns how many were removed.
    size_t remove(std::string_view name);
    // First field called `name`, or nullptr.
    const std::string* get(std::string_view name) const noexcept;
    size_t count(std::string_view name) const noexcept;
    bool has(std::string_view name) const noexcept { return get(name) != nullptr; }
    // True when any field called `name` holds `token` in its comma-separated list.
    bool has_token(std::string_view name, std::string_view token) const noexcept;

    size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    void clear() noexcept { fields_.clear(); }
    const_iterator begin() const noexcept { return fields_.begin(); }
    const_iterator end() const noexcept { return fields_.end(); }
    const Field& operator[](size_t i) const { return fields_[i]; }

  private:
    std::vector<Field> fields_;
};

}  // namespace xs3::http
