// Tests of entity-tag parsing, lists and the two comparison functions.
#include "xs3/http/etag.hpp"

#include <doctest/doctest.h>

using namespace xs3::http;

TEST_CASE("one entity tag: strong, weak, bare, and malformed") {
    auto t = parse_entity_tag("\"abc\"");
    REQUIRE(t.has_value());
    CHECK_FALSE(t->weak);
    CHECK(t->opaque == "abc");
    t = parse_entity_tag("W/\"abc\"");
    REQUIRE(t.has_value());
    CHECK(t->weak);
    CHECK(t->opaque == "abc");
    t = parse_entity_tag("\"\"");
    REQUIRE(t.has_value());
    CHECK(t->opaque.empty());
    t = parse_entity_tag("\"caf\xc3\xa9\"");  // obs-text is allowed
    REQUIRE(t.has_value());
    // Unquoted (some S3 clients): the strong tag with that opaque part.
    t = parse_entity_tag("d41d8cd98f00b204e9800998ecf8427e");
    REQUIRE(t.has_value());
    CHECK_FALSE(t->weak);
    CHECK(t->opaque == "d41d8cd98f00b204e9800998ecf8427e");

    for (const char* bad : {"", "\"abc", "abc\"", "\"a\"b", "\"a b\"", "w/\"abc\"", "W/abc\"",
                            "\"a\"\"", "a,b", "\"\x01\""}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_entity_tag(bad).has_value());
    }
}

TEST_CASE("strong and weak comparison (the table of RFC 9110 8.8.3.2)") {
    auto tag = [](const char* s) { return *parse_entity_tag(s); };
    CHECK_FALSE(strong_match(tag("W/\"1\""), tag("W/\"1\"")));
    CHECK(weak_match(tag("W/\"1\""), tag("W/\"1\"")));
    CHECK_FALSE(strong_match(tag("W/\"1\""), tag("W/\"2\"")));
    CHECK_FALSE(weak_match(tag("W/\"1\""), tag("W/\"2\"")));
    CHECK_FALSE(strong_match(tag("W/\"1\""), tag("\"1\"")));
    CHECK(weak_match(tag("W/\"1\""), tag("\"1\"")));
    CHECK(strong_match(tag("\"1\""), tag("\"1\"")));
    CHECK(weak_match(tag("\"1\""), tag("\"1\"")));
    CHECK(strong_match(tag("\"1\""), tag("1")));  // an unquoted tag equals its quoted form
}

TEST_CASE("entity-tag lists: OWS, empty elements, commas inside quotes, *, junk") {
    EntityTagList l;
    parse_entity_tag_list(" \"a\" ,W/\"b\",, \"c,d\"\t,", l);
    CHECK_FALSE(l.any);
    CHECK_FALSE(l.malformed);
    REQUIRE(l.tags.size() == 3);
    CHECK(l.tags[0].opaque == "a");
    CHECK(l.tags[1].weak);
    CHECK(l.tags[1].opaque == "b");
    CHECK(l.tags[2].opaque == "c,d");

    EntityTagList star;
    parse_entity_tag_list("*", star);
    CHECK(star.any);
    CHECK(star.tags.empty());

    EntityTagList junk;
    parse_entity_tag_list("\"a\" x, \"unterminated, \"b\"", junk);
    CHECK(junk.malformed);
    REQUIRE(junk.tags.size() == 2);
    CHECK(junk.tags[0].opaque == "a");
    CHECK(junk.tags[1].opaque == "b");

    EntityTagList bare;
    parse_entity_tag_list("abc, def", bare);
    REQUIRE(bare.tags.size() == 2);
    CHECK(bare.tags[1].opaque == "def");
    parse_entity_tag_list("\"ghi\"", bare);  // a second field line appends
    CHECK(bare.tags.size() == 3);

    EntityTagList empty;
    parse_entity_tag_list(" , ,", empty);
    CHECK(empty.tags.empty());
    CHECK_FALSE(empty.malformed);
    CHECK_FALSE(empty.any);
}
