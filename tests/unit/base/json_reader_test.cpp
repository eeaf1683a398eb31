// The JSON reader: values, escapes, and errors that say where without echoing the document.
#include "xs3/base/json_reader.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace xs3;
using namespace xs3;

namespace {

std::string error_of(std::string_view text) {
    auto r = parse_json(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::invalid_argument);
    return r.status().message();
}

}  // namespace

TEST_CASE("parse_json: an object of every value type") {
    auto r = parse_json(
        " {\"s\": \"text\", \"n\": -12.5e1, \"z\": 0, \"t\": true, \"f\": false, \"null\": null,"
        " \"a\": [1, \"two\", [], {}], \"o\": {\"inner\": \"x\"}}\r\n");
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    const JsonValue& v = *r;
    REQUIRE(v.is_object());
    CHECK(v.members().size() == 8);
    CHECK(v.find("s")->string() == "text");
    CHECK(v.find("n")->number() == -125.0);
    CHECK(v.find("z")->number() == 0.0);
    CHECK(v.find("t")->boolean());
    CHECK(v.find("f")->type() == JsonValue::Type::boolean);
    CHECK_FALSE(v.find("f")->boolean());
    CHECK(v.find("null")->type() == JsonValue::Type::null);
    const JsonValue* a = v.find("a");
    REQUIRE(a->type() == JsonValue::Type::array);
    REQUIRE(a->array().size() == 4);
    CHECK(a->array()[1].string() == "two");
    CHECK(a->array()[3].is_object());
    CHECK(v.find("o")->find("inner")->string() == "x");
    CHECK(v.find("missing") == nullptr);
    CHECK(json_type_name(a->type()) == "array");
}

TEST_CASE("parse_json: string escapes, unicode and surrogate pairs") {
    auto r = parse_json(R"({"k": "a\"b\\c\/d\b\f\n\r\t\u00e9\u20AC\ud83d\ude00"})");
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->find("k")->string() == "a\"b\\c/d\b\f\n\r\t\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    // Raw UTF-8 passes through.
    auto u = parse_json("\"caf\xC3\xA9\"");
    REQUIRE(u.ok());
    CHECK(u->string() == "caf\xC3\xA9");
}

TEST_CASE("parse_json: a repeated member name finds the last") {
    auto r = parse_json(R"({"Token": "old", "Token": "new"})");
    REQUIRE(r.ok());
    CHECK(r->find("Token")->string() == "new");
}

TEST_CASE("parse_json: malformed documents name the byte offset, not the content") {
    CHECK(error_of("") == "invalid JSON at byte 0: expected a value");
    CHECK(error_of("{\"a\" 1}") == "invalid JSON at byte 5: expected ':'");
    CHECK(error_of("{\"a\": 1,}") == "invalid JSON at byte 8: expected a member name");
    CHECK(error_of("[1, 2,]") == "invalid JSON at byte 6: expected a value");
    CHECK(error_of("{\"a\": 1") == "invalid JSON at byte 7: expected ',' or '}'");
    CHECK(error_of("[1 2]") == "invalid JSON at byte 3: expected ',' or ']'");
    CHECK(error_of("{\"a\": 1} x") == "invalid JSON at byte 9: expected end of document");
    CHECK(error_of("{'a': 1}").find("member name") != std::string::npos);
    CHECK(error_of("{\"a\": tru}").find("expected a value") != std::string::npos);
    CHECK(error_of("{\"a\": 01}").find("',' or '}'") != std::string::npos);
    CHECK(error_of("{\"a\": 1.}").find("digit after '.'") != std::string::npos);
    CHECK(error_of("{\"a\": 1e}").find("exponent") != std::string::npos);
    CHECK(error_of("{\"a\": +1}").find("expected a value") != std::string::npos);
    CHECK(error_of("\"unterminated").find("closing the string") != std::string::npos);
    CHECK(error_of("\"tab\there\"").find("control characters") != std::string::npos);
    CHECK(error_of(R"("\x")").find("one of") != std::string::npos);
    CHECK(error_of(R"("\u12")").find("hex digits") != std::string::npos);
    CHECK(error_of(R"("\ud83d")").find("low surrogate") != std::string::npos);
    CHECK(error_of(R"("\ude00")").find("high surrogate") != std::string::npos);
    CHECK(error_of("<html>502 Bad Gateway</html>").find("byte 0") != std::string::npos);
    // A secret in a broken document never reaches the message.
    std::string msg = error_of(R"({"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG", oops})");
    CHECK(msg.find("wJalr") == std::string::npos);
    CHECK(msg.find("SecretAccessKey") == std::string::npos);
}

TEST_CASE("parse_json: nesting is bounded") {
    std::string ok(64, '[');
    ok += std::string(64, ']');
    CHECK(parse_json(ok).ok());
    std::string deep(100000, '[');
    deep += std::string(100000, ']');
    CHECK(error_of(deep).find("less nesting") != std::string::npos);
}
