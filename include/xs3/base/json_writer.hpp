// JsonWriter: builds a compact JSON text (the admin endpoints; json_reader.hpp reads). Commas are
// placed for the caller; strings are escaped, and bytes that are not valid UTF-8 become U+FFFD so
// the output is always valid JSON whatever an object key holds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xs3 {

class JsonWriter {
  public:
    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    // The next value's name inside an object.
    JsonWriter& key(std::string_view name);
    JsonWriter& value(std::string_view s);
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
    JsonWriter& value(uint64_t n);
    JsonWriter& value(int64_t n);
    JsonWriter& value(unsigned n) { return value(static_cast<uint64_t>(n)); }
    JsonWriter& value(bool b);
    JsonWriter& null_value();

    // Shorthand for key(name).value(v).
    template <class T>
    JsonWriter& field(std::string_view name, const T& v) {
        key(name);
        return value(v);
    }

    const std::string& text() const noexcept { return out_; }

  private:
    void before_value();
    std::string out_;
    std::vector<bool> first_;  // per open container: nothing written in it yet
    bool after_key_ = false;
};

// `s` as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

}  // namespace xs3
