#include <doctest/doctest.h>

#include "xs3/http/request.hpp"

using namespace xs3::http;

TEST_CASE("ascii helpers") {
    CHECK(iequals("Content-Length", "content-LENGTH"));
    CHECK_FALSE(iequals("Content-Length", "Content-Lengt"));
    CHECK_FALSE(iequals("a", "b"));
    CHECK(istarts_with("HTTP://x", "http://"));
    CHECK_FALSE(istarts_with("htt", "http"));
    CHECK(trim_ows(" \t a b \t") == "a b");
    CHECK(trim_ows("   ") == "");
    CHECK(is_token("X-Amz-Meta-Foo_1.2~"));
    CHECK_FALSE(is_token(""));
    CHECK_FALSE(is_token("Host "));
    CHECK_FALSE(is_token("a:b"));
    CHECK(list_has_token("keep-alive, Upgrade", "upgrade"));
    CHECK(list_has_token(" ,close ,", "close"));
    CHECK_FALSE(list_has_token("closed", "close"));
    CHECK_FALSE(list_has_token("", "close"));
}

TEST_CASE("Headers keep order and look up case-insensitively") {
    Headers h;
    h.add("Host", "a");
    h.add("x-amz-meta-k", "1");
    h.add("X-Amz-Meta-K", "2");
    h.add("Connection", "keep-alive, Upgrade");
    REQUIRE(h.size() == 4);
    CHECK(*h.get("HOST") == "a");
    CHECK(*h.get("X-AMZ-META-K") == "1");
    CHECK(h.get("missing") == nullptr);
    CHECK(h.count("x-amz-meta-k") == 2);
    CHECK(h.has("connection"));
    CHECK(h.has_token("Connection", "upgrade"));
    CHECK_FALSE(h.has_token("Connection", "close"));

    h.set("x-amz-meta-k", "3");
    REQUIRE(h.size() == 3);
    CHECK(h[1].name == "x-amz-meta-k");
    CHECK(h[1].value == "3");
    CHECK(h[2].name == "Connection");
    h.set("Date", "d");
    CHECK(h[3].name == "Date");
    CHECK(h.remove("date") == 1);
    CHECK(h.remove("date") == 0);

    std::string joined;
    for (const auto& f : h)
        joined += f.name + "=" + f.value + ";";
    CHECK(joined == "Host=a;x-amz-meta-k=3;Connection=keep-alive, Upgrade;");
    h.clear();
    CHECK(h.empty());
}

TEST_CASE("percent_decode") {
    CHECK(*percent_decode("") == "");
    CHECK(*percent_decode("/plain/key") == "/plain/key");
    CHECK(*percent_decode("/a%20b%2Fc%2fd") == "/a b/c/d");
    CHECK(*percent_decode("a+b") == "a+b");
    CHECK(*percent_decode("%e2%82%AC") == "\xe2\x82\xac");
    CHECK(*percent_decode("%25") == "%");
    CHECK(*percent_decode("%2500") == "%00");
    CHECK_FALSE(percent_decode("%00").ok());
    CHECK_FALSE(percent_decode("a%").ok());
    CHECK_FALSE(percent_decode("a%4").ok());
    CHECK_FALSE(percent_decode("%4g").ok());
    CHECK_FALSE(percent_decode("%g4").ok());
    CHECK_FALSE(percent_decode("% 41").ok());
    CHECK(percent_decode("%zz").status().code() == xs3::Code::invalid_argument);
}

TEST_CASE("parse_query") {
    auto q = parse_query("a=1&&b=&c&d=x%3Dy");
    REQUIRE(q.ok());
    REQUIRE(q->size() == 4);
    CHECK((*q)[0] == std::pair<std::string, std::string>{"a", "1"});
    CHECK((*q)[1] == std::pair<std::string, std::string>{"b", ""});
    CHECK((*q)[2] == std::pair<std::string, std::string>{"c", ""});
    CHECK((*q)[3] == std::pair<std::string, std::string>{"d", "x=y"});
    auto bad = parse_query("a=%4");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().message() == "bad query parameter 'a=%4': truncated percent escape");
}
