// Log values: a line is printable ASCII whatever bytes a client sent (targets, keys).
#include "xs3/base/log.hpp"

#include <doctest/doctest.h>

#include <string>

using xs3::log_detail::append_value;

namespace {
std::string value(std::string_view v) {
    std::string out;
    append_value(out, v);
    return out;
}
}  // namespace

TEST_CASE("plain values stay as they are") {
    CHECK(value("/dir/file.txt") == "/dir/file.txt");
    CHECK(value("42") == "42");
}

TEST_CASE("values with spaces, quotes, '=' or backslashes are quoted and escaped") {
    CHECK(value("") == "\"\"");
    CHECK(value("a b") == "\"a b\"");
    CHECK(value("a=b") == "\"a=b\"");
    CHECK(value("say \"hi\"") == "\"say \\\"hi\\\"\"");
    CHECK(value("a\\b") == "\"a\\\\b\"");
}

TEST_CASE("control bytes and bytes beyond ASCII are escaped as \\xHH") {
    CHECK(value("a\nb") == "\"a\\nb\"");
    CHECK(value(std::string_view("a\0b", 3)) == "\"a\\x00b\"");
    CHECK(value("a\rb\x1b[31m") == "\"a\\x0db\\x1b[31m\"");
    CHECK(value("\x7f") == "\"\\x7f\"");
    CHECK(value("caf\xC3\xA9") == "\"caf\\xc3\\xa9\"");
    CHECK(value("\xff\xfe") == "\"\\xff\\xfe\"");
}
