// Key confinement, byte by byte: every spelling of a "." or ".." segment is caught, at any level
// of percent-decoding and with either separator; keys with dots that are not whole segments pass.
#include "xs3/s3/confinement.hpp"

#include <doctest/doctest.h>

#include <string>

#include "xs3/s3/url.hpp"

using namespace xs3;
using namespace xs3::s3;

TEST_CASE("plain dot segments are caught wherever they are") {
    for (const char* p :
         {".", "..", "./", "../", "/.", "/..", "a/.", "a/..", "./a", "../a", "a/./b", "a/../b",
          "/bench/../secret/key.txt", "a//../b", "a/b/.", "a/b/..", "../../../etc/passwd"}) {
        INFO(p);
        CHECK(has_dot_segment(p));
    }
}

TEST_CASE("dots that are not whole segments pass") {
    for (const char* p : {"",
                          "/",
                          "//",
                          "a",
                          "a/b",
                          ".hidden",
                          "a/.hidden",
                          "..hidden",
                          "a/..b",
                          "b..",
                          "a/b../c",
                          "...",
                          "a/.../b",
                          "....",
                          "a.b",
                          "a/b.c/d",
                          "/bench//secret/key.txt",
                          "%2e%2e%2e",
                          "%2Ex",
                          "x%2E",
                          "%25",
                          "100%",
                          "%zz/..x",
                          "a%2Fb",
                          "caf\xC3\xA9/\xE6\x97\xA5"}) {
        INFO(p);
        CHECK_FALSE(has_dot_segment(p));
    }
}

TEST_CASE("percent-encoded dots, in either case and mixed with plain ones") {
    for (const char* p :
         {"%2e", "%2E", "%2e%2e", "%2E%2E", "%2e.", ".%2e", "%2E.", ".%2E", "a/%2e%2e/b",
          "/bench/%2E%2E/secret/k", "%2e%2e/secret/key.txt", "a/%2e/b"}) {
        INFO(p);
        CHECK(has_dot_segment(p));
    }
}

TEST_CASE("encoded separators split segments too") {
    // %2F decodes to '/', %5C to '\': "..%2F" is "../" to a store that decodes before splitting.
    for (const char* p : {"..%2Fsecret", "..%2fsecret", "a%2F..%2Fb", "..%5Csecret", "..%5csecret",
                          "a%5C..%5Cb", "a/..%5Cb"}) {
        INFO(p);
        CHECK(has_dot_segment(p));
    }
}

TEST_CASE("backslash is a separator") {
    for (const char* p : {"..\\secret", "a\\..\\b", "\\..", "a\\.", ".\\a", "a/..\\b", "a\\../b"}) {
        INFO(p);
        CHECK(has_dot_segment(p));
    }
    CHECK_FALSE(has_dot_segment("a\\b"));
    CHECK_FALSE(has_dot_segment("a\\...\\b"));
}

TEST_CASE("double and deeper encodings are decoded until nothing changes") {
    for (const char* p : {"%252e%252e/x", "%252E%252E", "%25252e%25252e", "..%252Fx", "%252e./x",
                          "%25%32%65%25%32%65"}) {
        INFO(p);
        CHECK(has_dot_segment(p));
    }
    CHECK_FALSE(has_dot_segment("%252e%252e%252e"));
    CHECK_FALSE(has_dot_segment("%2525"));
}

TEST_CASE("a path still decodable after 16 rounds is refused") {
    // Build "%25" nested 20 deep around "41" ('A'): %252525...41.
    std::string deep = "%";
    for (int i = 0; i < 20; ++i)
        deep += "25";
    deep += "41";
    CHECK(has_dot_segment(deep));
    std::string shallow = "%";
    for (int i = 0; i < 10; ++i)
        shallow += "25";
    shallow += "41";
    CHECK_FALSE(has_dot_segment(shallow));
}

TEST_CASE("overlong UTF-8 forms of '.', '/' and '\\' count as those bytes") {
    CHECK(has_dot_segment("\xC0\xAE\xC0\xAE/x"));
    CHECK(has_dot_segment(".\xC0\xAE"));
    CHECK(has_dot_segment("..\xC0\xAFsecret"));
    CHECK(has_dot_segment("..\xC1\x9Csecret"));
    CHECK(has_dot_segment("%C0%AE%C0%AE/x"));
    CHECK(has_dot_segment("%c0%ae."));
    CHECK_FALSE(has_dot_segment("\xC0\xAEx"));
    CHECK_FALSE(has_dot_segment("\xC0"));  // a lone lead byte at the end
}

TEST_CASE("NUL and other bytes do not hide a dot segment") {
    CHECK(has_dot_segment(std::string("a/../\0", 6)));
    CHECK_FALSE(has_dot_segment(std::string("..\0", 3)));  // "..\0" is not ".."
    CHECK_FALSE(has_dot_segment("%"));                     // not decodable, and no dots
}

TEST_CASE("check_key_confined names the rule") {
    CHECK(check_key_confined("dir/file.txt").ok());
    Status s = check_key_confined("a/../b");
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == Code::invalid_argument);
    CHECK(s.message().find("'.' or '..' path segment") != std::string::npos);
}

TEST_CASE("every origin URL is built confined: path style and virtual-hosted") {
    Endpoint path_style = *parse_endpoint_url("http://127.0.0.1:9000");
    Endpoint vhost = default_endpoint("us-east-1");
    for (const char* key : {"../secret/key.txt", "%2e%2e/secret/key.txt", "a/../../secret/k", "./k",
                            "a/.", "..\\secret\\k", "%2E%2E/x", "%2e./x", ".%2e/x"}) {
        INFO(key);
        for (const Endpoint* ep : {&path_style, &vhost}) {
            auto r = build_object_request(*ep, "bench", key);
            REQUIRE_FALSE(r.ok());
            CHECK(r.status().code() == Code::invalid_argument);
        }
    }
    // The same keys' harmless neighbours still build, byte for byte.
    auto ok = build_object_request(path_style, "bench", "a/..b/.c/...");
    REQUIRE(ok.ok());
    CHECK(ok->canonical_uri == "/bench/a/..b/.c/...");
    auto slashes = build_object_request(path_style, "bench", "/secret//key.txt");
    REQUIRE(slashes.ok());
    CHECK(slashes->canonical_uri == "/bench//secret//key.txt");
    // Bucket-level requests (no key) are unaffected.
    CHECK(build_object_request(path_style, "bench", "").ok());
}
