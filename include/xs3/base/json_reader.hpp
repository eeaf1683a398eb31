// A small, strict JSON reader (RFC 8259) for the credential services' answers (container
// credentials, IMDS); json_writer.hpp writes. Documents are a few hundred bytes, so values are
// plain owned trees. Error messages give a byte offset and what was expected, never document text:
// these documents carry secrets.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xs3/base/status.hpp"

namespace xs3 {

class JsonValue {
  public:
    enum class Type { null, boolean, number, string, array, object };

    Type type() const noexcept { return type_; }
    bool is_object() const noexcept { return type_ == Type::object; }
    bool is_string() const noexcept { return type_ == Type::string; }

    bool boolean() const noexcept { return boolean_; }
    double number() const noexcept { return number_; }
    const std::string& string() const noexcept { return string_; }
    const std::vector<JsonValue>& array() const noexcept { return array_; }
    const std::vector<std::pair<std::string, JsonValue>>& members() const noexcept {
        return members_;
    }
    // The member named `key` of an object (the last one if the name repeats), or nullptr.
    const JsonValue* find(std::string_view key) const noexcept;

  private:
    friend class JsonParser;
    Type type_ = Type::null;
    bool boolean_ = false;
    double number_ = 0;
    std::string string_;
    std::vector<JsonValue> array_;
    std::vector<std::pair<std::string, JsonValue>> members_;
};

std::string_view json_type_name(JsonValue::Type type) noexcept;

// Parses one JSON document (surrounding whitespace allowed, nothing else). Nesting deeper than 64
// levels is refused. invalid_argument: "invalid JSON at byte 17: expected ':'".
Result<JsonValue> parse_json(std::string_view text);

}  // namespace xs3
