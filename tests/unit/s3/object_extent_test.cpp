// Object extents from S3 answers as stores really send them, and version checks across answers.
#include "xs3/s3/object_extent.hpp"

#include <doctest/doctest.h>

#include <cstdint>

#include "xs3/http/range.hpp"

using namespace xs3::s3;

namespace {

HttpResponseHead head(long status, std::vector<std::pair<std::string, std::string>> fields) {
    HttpResponseHead h;
    h.status = status;
    h.headers = std::move(fields);
    return h;
}

}  // namespace

TEST_CASE("Content-Range values") {
    auto r = parse_content_range("bytes 10-19/100");
    REQUIRE(r.ok());
    CHECK(r->satisfied);
    CHECK((r->first == 10 && r->last == 19 && r->total == 100));
    auto u = parse_content_range("Bytes */100");
    REQUIRE(u.ok());
    CHECK_FALSE(u->satisfied);
    CHECK(u->total == 100);
    for (const char* bad : {"bytes 10-19/*", "bytes 19-10/100", "bytes 0-100/100", "bytes 0-0/0",
                            "items 0-1/2", "bytes 1-2", ""})
        CHECK_FALSE(parse_content_range(bad).ok());
}

TEST_CASE("AWS's answers") {
    auto full = object_extent(head(200, {{"content-length", "1234"}}));
    REQUIRE(full.ok());
    CHECK((full->size == 1234 && full->first == 0 && full->length == 1234 && full->whole));
    auto part = object_extent(
        head(206, {{"content-range", "bytes 100-199/1234"}, {"content-length", "100"}}));
    REQUIRE(part.ok());
    CHECK((part->size == 1234 && part->first == 100 && part->length == 100 && !part->whole));
    CHECK_FALSE(part->empty());
    auto beyond = object_extent(head(416, {{"content-range", "bytes */1234"}}));
    REQUIRE(beyond.ok());
    CHECK((beyond->unsatisfiable && beyond->size == 1234 && beyond->length == 0));
    auto body = object_extent(head(416, {}),
                              "<Error><Code>InvalidRange</Code><ActualObjectSize>0"
                              "</ActualObjectSize></Error>");
    REQUIRE(body.ok());
    CHECK((body->unsatisfiable && body->empty()));
    CHECK_FALSE(object_extent(head(200, {})).ok());
    CHECK_FALSE(object_extent(head(206, {{"content-length", "5"}})).ok());
    CHECK_FALSE(object_extent(head(206, {{"content-range", "bytes */5"}})).ok());
    CHECK_FALSE(object_extent(head(404, {{"content-length", "5"}})).ok());
}

TEST_CASE("an empty object, however the store says so") {
    // s3rver: 206 "bytes 0-0/0", Content-Length 1, and no body.
    auto s3rver =
        object_extent(head(206, {{"content-range", "bytes 0-0/0"}, {"content-length", "1"}}));
    REQUIRE(s3rver.ok());
    CHECK(s3rver->empty());
    CHECK((s3rver->length == 0 && s3rver->first == 0 && !s3rver->unsatisfiable));
    CHECK(object_extent(head(206, {{"content-range", "bytes 5-9/0"}}))->empty());
    // A store that answers the range with 200 and no bytes.
    auto zero = object_extent(head(200, {{"content-length", "0"}}));
    REQUIRE(zero.ok());
    CHECK((zero->empty() && zero->whole && zero->length == 0));
}

TEST_CASE("a store that ignores Range: 200 and the whole object") {
    auto r = object_extent(head(200, {{"content-length", "50000000"}}));
    REQUIRE(r.ok());
    CHECK(r->whole);
    CHECK((r->first == 0 && r->length == 50000000 && r->size == 50000000));
}

TEST_CASE("a 416 that says no size asks for a HEAD") {
    auto r = object_extent(head(416, {}), "<Error><Code>InvalidRange</Code></Error>");
    CHECK_FALSE(r.ok());
    CHECK(r.status().code() == xs3::Code::out_of_range);
    CHECK(object_extent(head(416, {{"content-range", "bytes */x"}})).status().code() ==
          xs3::Code::out_of_range);
}

TEST_CASE("If-Match only with a strong ETag") {
    CHECK(if_match_value("\"abc\"") == "\"abc\"");
    CHECK(if_match_value(" \"abc-3\" ") == "\"abc-3\"");
    CHECK(if_match_value("W/\"abc\"") == "");
    CHECK(if_match_value("") == "");
    CHECK(if_match_value("abc") == "");
    CHECK(if_match_value("\"") == "");
}

TEST_CASE("answers from the same version") {
    auto a = version_of(
        head(206, {{"etag", " \"v1\""}, {"last-modified", "Mon, 01 Jan 2026 00:00:00 GMT"}}));
    CHECK(a.etag == "\"v1\"");
    CHECK(a.last_modified == "Mon, 01 Jan 2026 00:00:00 GMT");
    CHECK(same_version(a, head(206, {{"etag", "\"v1\""}})));
    CHECK_FALSE(same_version(a, head(206, {{"etag", "\"v2\""}})));
    auto weak = version_of(head(200, {{"etag", "W/\"x\""}}));
    CHECK(same_version(weak, head(206, {{"etag", "W/\"x\""}})));
    CHECK_FALSE(same_version(weak, head(206, {{"etag", "W/\"y\""}})));
    // No ETags: Last-Modified decides.
    auto b = version_of(head(200, {{"last-modified", "Mon, 01 Jan 2026 00:00:00 GMT"}}));
    CHECK(same_version(b, head(206, {{"last-modified", "Mon, 01 Jan 2026 00:00:00 GMT"}})));
    CHECK_FALSE(same_version(b, head(206, {{"last-modified", "Tue, 02 Jan 2026 00:00:00 GMT"}})));
    // One side has an ETag, the other not: Last-Modified decides.
    CHECK_FALSE(same_version(a, head(206, {{"last-modified", "Tue, 02 Jan 2026 00:00:00 GMT"}})));
    // Nothing to compare.
    CHECK(same_version(ObjectVersion{}, head(206, {})));
    // Two versions (a cached copy's and S3's now).
    CHECK(same_version(ObjectVersion{"\"a\"", "x"}, ObjectVersion{"\"a\"", "y"}));
    CHECK_FALSE(same_version(ObjectVersion{"\"a\"", "x"}, ObjectVersion{"\"b\"", "x"}));
    CHECK(same_version(ObjectVersion{"", "x"}, ObjectVersion{"", "x"}));
    CHECK_FALSE(same_version(ObjectVersion{"", "x"}, ObjectVersion{"", "y"}));
}

namespace {

using Kind = RangeAnswer::Kind;

RangeAnswer answer_to(RangeAsk ask, HttpResponseHead h, const ObjectVersion* v = nullptr,
                      std::string_view body = {}) {
    return read_range_answer(ask, h, v, body);
}

}  // namespace

TEST_CASE("range answers: AWS's") {
    // A probe of the first 1 MiB of a 5000-byte object: 206 up to the end.
    auto p =
        answer_to({0, 1048576, std::nullopt}, head(206, {{"content-range", "bytes 0-4999/5000"}}));
    CHECK((p.kind == Kind::bytes && p.skip == 0 && p.take == 5000 && p.extent.size == 5000));
    // A chunk of a known size, exactly as asked.
    auto c = answer_to({1000, 1000, 5000}, head(206, {{"content-range", "bytes 1000-1999/5000"}}));
    CHECK((c.kind == Kind::bytes && c.skip == 0 && c.take == 1000));
    // The wrong bytes, or fewer than asked: never used.
    CHECK(answer_to({1000, 1000, 5000}, head(206, {{"content-range", "bytes 1001-2000/5000"}}))
              .kind == Kind::unusable);
    CHECK(answer_to({1000, 1000, 5000}, head(206, {{"content-range", "bytes 1000-1998/5000"}}))
              .kind == Kind::unusable);
    CHECK(
        answer_to({0, 100, std::nullopt}, head(206, {{"content-range", "bytes 0-49/5000"}})).kind ==
        Kind::unusable);
    // A probe beyond the end: 416 with the size, in Content-Range or in the error body.
    auto b = answer_to({8000, 100, std::nullopt}, head(416, {{"content-range", "bytes */5000"}}));
    CHECK((b.kind == Kind::beyond_end && b.extent.size == 5000));
    auto e = answer_to({0, 100, std::nullopt}, head(416, {}), nullptr,
                       "<Error><Code>InvalidRange</Code><ActualObjectSize>0</ActualObjectSize>"
                       "</Error>");
    CHECK((e.kind == Kind::empty && e.extent.size == 0));
    // Not an extent at all.
    CHECK(answer_to({0, 100, std::nullopt}, head(503, {})).kind == Kind::unusable);
    CHECK(answer_to({0, 100, std::nullopt}, head(206, {})).kind == Kind::unusable);
}

TEST_CASE("range answers: an empty object, three ways") {
    RangeAsk probe{0, 1048576, std::nullopt};
    CHECK(answer_to(probe, head(206, {{"content-range", "bytes 0-0/0"}, {"content-length", "1"}}))
              .kind == Kind::empty);
    CHECK(answer_to(probe, head(200, {{"content-length", "0"}})).kind == Kind::empty);
    CHECK(answer_to(probe, head(416, {{"content-range", "bytes */0"}})).kind == Kind::empty);
    // Asked from the middle (a client's range): still empty, not "beyond the end".
    CHECK(answer_to({500, 100, std::nullopt}, head(200, {{"content-length", "0"}})).kind ==
          Kind::empty);
}

TEST_CASE("range answers: a store that ignores Range") {
    auto h = head(200, {{"content-length", "5000"}});
    // The probe from byte 0: the bytes it asked are the first of the body.
    auto a = answer_to({0, 1024, std::nullopt}, h);
    CHECK((a.kind == Kind::bytes && a.extent.whole && a.skip == 0 && a.take == 1024));
    // From the middle: the bytes before are dropped, the ones after cut off.
    auto m = answer_to({3000, 1024, 5000}, h);
    CHECK((m.kind == Kind::bytes && m.skip == 3000 && m.take == 1024));
    // The last chunk, shorter than asked on a probe.
    auto t = answer_to({4096, 1024, std::nullopt}, h);
    CHECK((t.kind == Kind::bytes && t.skip == 4096 && t.take == 904));
    // A range that starts beyond the end, ignored: the store's 200 says the size.
    auto b = answer_to({6000, 1024, std::nullopt}, h);
    CHECK((b.kind == Kind::beyond_end && b.extent.size == 5000));
    // The whole object of another size than the one being read: another version.
    CHECK(answer_to({0, 1024, 4000}, h).kind == Kind::other_version);
}

TEST_CASE("range answers: a 416 that says no size") {
    auto r = answer_to({0, 100, std::nullopt}, head(416, {}), nullptr,
                       "<Error><Code>InvalidRange</Code></Error>");
    CHECK(r.kind == Kind::size_unknown);
}

TEST_CASE("range answers: a store that ignores If-Match") {
    ObjectVersion v{"\"v1\"", "Mon, 01 Jan 2026 00:00:00 GMT"};
    auto same =
        answer_to({1000, 1000, 5000},
                  head(206, {{"etag", "\"v1\""}, {"content-range", "bytes 1000-1999/5000"}}), &v);
    CHECK(same.kind == Kind::bytes);
    auto other =
        answer_to({1000, 1000, 5000},
                  head(206, {{"etag", "\"v2\""}, {"content-range", "bytes 1000-1999/5000"}}), &v);
    CHECK(other.kind == Kind::other_version);
    // Weak tags (no If-Match was sent): they still tell the versions apart.
    ObjectVersion w{"W/\"v1\"", ""};
    CHECK(answer_to({0, 10, 5000},
                    head(206, {{"etag", "W/\"v2\""}, {"content-range", "bytes 0-9/5000"}}), &w)
              .kind == Kind::other_version);
    // No tags: Last-Modified tells them apart.
    ObjectVersion lm{"", "Mon, 01 Jan 2026 00:00:00 GMT"};
    CHECK(answer_to({0, 10, 5000},
                    head(206, {{"last-modified", "Tue, 02 Jan 2026 00:00:00 GMT"},
                               {"content-range", "bytes 0-9/5000"}}),
                    &lm)
              .kind == Kind::other_version);
    // The same tag but another size: another version all the same.
    CHECK(answer_to({0, 10, 5000},
                    head(206, {{"etag", "\"v1\""}, {"content-range", "bytes 0-9/6000"}}), &v)
              .kind == Kind::other_version);
}

// A fuzzing finding (fuzz_http_fields): the proxy's own Content-Range for an object of 2^64-1
// bytes has a 20-digit total, which the reader refused (it allowed 19 digits to avoid overflow).
TEST_CASE("the largest values round-trip; anything past 2^64-1 is refused, not wrapped") {
    constexpr uint64_t kMax = UINT64_MAX;
    auto cr = parse_content_range(xs3::http::unsatisfied_content_range(kMax));
    REQUIRE(cr.ok());
    CHECK_FALSE(cr->satisfied);
    CHECK(cr->total == kMax);
    CHECK(xs3::http::content_range_value(kMax - 10, kMax - 1, kMax) ==
          "bytes 18446744073709551605-18446744073709551614/18446744073709551615");
    cr = parse_content_range(xs3::http::content_range_value(kMax - 10, kMax - 1, kMax));
    REQUIRE(cr.ok());
    CHECK((cr->first == kMax - 10 && cr->last == kMax - 1 && cr->total == kMax));
    CHECK_FALSE(parse_content_range("bytes */18446744073709551616").ok());
    CHECK_FALSE(parse_content_range("bytes */99999999999999999999").ok());
    CHECK_FALSE(parse_content_range("bytes */100000000000000000000").ok());

    auto e = object_extent(head(200, {{"content-length", "18446744073709551615"}}));
    REQUIRE(e.ok());
    CHECK((e->size == kMax && e->length == kMax));
    CHECK_FALSE(object_extent(head(200, {{"content-length", "18446744073709551616"}})).ok());
}
