// The JSON reader: a recursive-descent parser over the RFC 8259 grammar.
#include "xs3/base/json_reader.hpp"

#include <charconv>
#include <cstdint>

#include "xs3/base/utf8.hpp"

namespace xs3 {

const JsonValue* JsonValue::find(std::string_view key) const noexcept {
    for (auto it = members_.rbegin(); it != members_.rend(); ++it)
        if (it->first == key) return &it->second;
    return nullptr;
}

std::string_view json_type_name(JsonValue::Type type) noexcept {
    switch (type) {
        case JsonValue::Type::null:
            return "null";
        case JsonValue::Type::boolean:
            return "boolean";
        case JsonValue::Type::number:
            return "number";
        case JsonValue::Type::string:
            return "string";
        case JsonValue::Type::array:
            return "array";
        case JsonValue::Type::object:
            return "object";
    }
    return "null";
}

class JsonParser {
  public:
    explicit JsonParser(std::string_view text) : s_(text) {}

    Result<JsonValue> parse_document() {
        JsonValue v;
        skip_ws();
        if (!value(v, 0)) return error_;
        skip_ws();
        if (pos_ != s_.size()) return fail("end of document");
        return v;
    }

  private:
    static constexpr int kMaxDepth = 64;

    Status fail(std::string_view expected) {
        error_ = Status(Code::invalid_argument, "invalid JSON at byte " + std::to_string(pos_) +
                                                    ": expected " + std::string(expected));
        return error_;
    }
    bool failed(std::string_view expected) {
        (void)fail(expected);
        return false;
    }

    void skip_ws() {
        while (pos_ < s_.size() &&
               (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
            ++pos_;
    }

    bool literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) return failed("a value");
        pos_ += word.size();
        return true;
    }

    bool value(JsonValue& out, int depth) {
        if (depth > kMaxDepth) return failed("less nesting (at most 64 levels)");
        if (pos_ >= s_.size()) return failed("a value");
        switch (s_[pos_]) {
            case '{':
                return object(out, depth);
            case '[':
                return array(out, depth);
            case '"':
                out.type_ = JsonValue::Type::string;
                return string(out.string_);
            case 't':
                out.type_ = JsonValue::Type::boolean;
                out.boolean_ = true;
                return literal("true");
            case 'f':
                out.type_ = JsonValue::Type::boolean;
                out.boolean_ = false;
                return literal("false");
            case 'n':
                out.type_ = JsonValue::Type::null;
                return literal("null");
            default:
                return number(out);
        }
    }

    bool object(JsonValue& out, int depth) {
        out.type_ = JsonValue::Type::object;
        ++pos_;  // '{'
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == '}') {
            ++pos_;
            return true;
        }
        for (;;) {
            skip_ws();
            if (pos_ >= s_.size() || s_[pos_] != '"') return failed("a member name");
            std::string key;
            if (!string(key)) return false;
            skip_ws();
            if (pos_ >= s_.size() || s_[pos_] != ':') return failed("':'");
            ++pos_;
            skip_ws();
            JsonValue v;
            if (!value(v, depth + 1)) return false;
            out.members_.emplace_back(std::move(key), std::move(v));
            skip_ws();
            if (pos_ < s_.size() && s_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < s_.size() && s_[pos_] == '}') {
                ++pos_;
                return true;
            }
            return failed("',' or '}'");
        }
    }

    bool array(JsonValue& out, int depth) {
        out.type_ = JsonValue::Type::array;
        ++pos_;  // '['
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == ']') {
            ++pos_;
            return true;
        }
        for (;;) {
            skip_ws();
            JsonValue v;
            if (!value(v, depth + 1)) return false;
            out.array_.push_back(std::move(v));
            skip_ws();
            if (pos_ < s_.size() && s_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < s_.size() && s_[pos_] == ']') {
                ++pos_;
                return true;
            }
            return failed("',' or ']'");
        }
    }

    bool hex4(uint32_t& out) {
        if (pos_ + 4 > s_.size()) return failed("4 hex digits after \\u");
        out = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = s_[pos_++];
            uint32_t d;
            if (c >= '0' && c <= '9')
                d = static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                d = static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                d = static_cast<uint32_t>(c - 'A' + 10);
            else
                return failed("4 hex digits after \\u");
            out = out * 16 + d;
        }
        return true;
    }

    bool string(std::string& out) {
        ++pos_;  // '"'
        for (;;) {
            if (pos_ >= s_.size()) return failed("'\"' closing the string");
            const char c = s_[pos_];
            if (c == '"') {
                ++pos_;
                return true;
            }
            if (static_cast<unsigned char>(c) < 0x20)
                return failed("no control characters inside a string");
            if (c != '\\') {
                out += c;
                ++pos_;
                continue;
            }
            if (++pos_ >= s_.size()) return failed("an escape after '\\'");
            const char e = s_[pos_++];
            switch (e) {
                case '"':
                case '\\':
                case '/':
                    out += e;
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    uint32_t cp;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        uint32_t low;
                        if (s_.substr(pos_, 2) != "\\u") return failed("a low surrogate \\u");
                        pos_ += 2;
                        if (!hex4(low)) return false;
                        if (low < 0xDC00 || low > 0xDFFF) return failed("a low surrogate \\u");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        return failed("a high surrogate before a low one");
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    --pos_;
                    return failed("one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u");
            }
        }
    }

    static bool is_digit(char c) { return c >= '0' && c <= '9'; }

    bool number(JsonValue& out) {
        const size_t start = pos_;
        if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
        if (pos_ >= s_.size() || !is_digit(s_[pos_])) {
            pos_ = start;
            return failed("a value");
        }
        if (s_[pos_] == '0') {
            ++pos_;
        } else {
            while (pos_ < s_.size() && is_digit(s_[pos_]))
                ++pos_;
        }
        if (pos_ < s_.size() && s_[pos_] == '.') {
            ++pos_;
            if (pos_ >= s_.size() || !is_digit(s_[pos_])) return failed("a digit after '.'");
            while (pos_ < s_.size() && is_digit(s_[pos_]))
                ++pos_;
        }
        if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
            if (pos_ >= s_.size() || !is_digit(s_[pos_])) return failed("an exponent");
            while (pos_ < s_.size() && is_digit(s_[pos_]))
                ++pos_;
        }
        out.type_ = JsonValue::Type::number;
        // The grammar was checked above; from_chars only converts (out of range: +-inf/0).
        auto r = std::from_chars(s_.data() + start, s_.data() + pos_, out.number_);
        (void)r;
        return true;
    }

    std::string_view s_;
    size_t pos_ = 0;
    Status error_;
};

Result<JsonValue> parse_json(std::string_view text) {
    return JsonParser(text).parse_document();
}

}  // namespace xs3
