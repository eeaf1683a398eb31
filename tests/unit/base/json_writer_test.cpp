// Tests of the JSON writer.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "xs3/base/json_writer.hpp"

using namespace xs3;

TEST_CASE("JsonWriter places commas and nests") {
    JsonWriter w;
    w.begin_object()
        .field("a", uint64_t{1})
        .field("b", "x")
        .field("c", true)
        .key("d")
        .begin_array()
        .value(int64_t{-2})
        .begin_object()
        .end_object()
        .value("y")
        .end_array()
        .key("e")
        .begin_object()
        .field("f", false)
        .end_object()
        .end_object();
    CHECK(w.text() == R"({"a":1,"b":"x","c":true,"d":[-2,{},"y"],"e":{"f":false}})");
}

TEST_CASE("json_quote escapes and never emits invalid UTF-8") {
    CHECK(json_quote("plain") == "\"plain\"");
    CHECK(json_quote("q\"b\\n\nr\rt\t") == R"("q\"b\\n\nr\rt\t")");
    CHECK(json_quote(std::string("\x01\x1f\x7f", 3)) == R"("\u0001\u001f\u007f")");
    CHECK(json_quote("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") ==
          "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    CHECK(json_quote("\xff") == R"("\ufffd")");
    CHECK(json_quote("\xc3") == R"("\ufffd")");                                // truncated sequence
    CHECK(json_quote("\xc0\xaf") == R"("\ufffd\ufffd")");                      // overlong
    CHECK(json_quote("\xed\xa0\x80") == R"("\ufffd\ufffd\ufffd")");            // a surrogate
    CHECK(json_quote("\xf4\x90\x80\x80") == R"("\ufffd\ufffd\ufffd\ufffd")");  // > U+10FFFF
    CHECK(json_quote(std::string("a\0b", 3)) == R"("a\u0000b")");
}
