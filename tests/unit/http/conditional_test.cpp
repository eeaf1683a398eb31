// Tests of evaluate_conditionals: each condition of RFC 9110 13.1 and the precedence of 13.2.2.
#include "xs3/http/conditional.hpp"

#include <doctest/doctest.h>

#include "xs3/http/date.hpp"

using namespace xs3::http;

namespace {

const char* const kLm = "Wed, 21 Oct 2015 07:28:00 GMT";
const time_t kT = *parse_http_date(kLm);
const Validators kObject{"\"v1\"", kT};

Headers fields(std::initializer_list<std::pair<const char*, std::string>> list) {
    Headers h;
    for (const auto& [n, v] : list)
        h.add(n, v);
    return h;
}

Precondition outcome(Method m, const Headers& h, const Validators& o = kObject) {
    return evaluate_conditionals(m, h, o).outcome;
}

Precondition get(std::initializer_list<std::pair<const char*, std::string>> list,
                 const Validators& o = kObject) {
    return outcome(Method::get, fields(list), o);
}

std::string date(time_t t) {
    return format_http_date(t);
}

constexpr auto proceed = Precondition::proceed;
constexpr auto not_modified = Precondition::not_modified;
constexpr auto failed = Precondition::precondition_failed;

}  // namespace

TEST_CASE("no conditional fields: proceed, and a Range applies as sent") {
    auto r = evaluate_conditionals(Method::get, {}, kObject);
    CHECK(r.outcome == proceed);
    CHECK_FALSE(r.range_applies);
    r = evaluate_conditionals(Method::get, fields({{"Range", "bytes=0-1"}}), kObject);
    CHECK(r.outcome == proceed);
    CHECK(r.range_applies);
}

TEST_CASE("If-Match: strong comparison, *, lists and several field lines") {
    CHECK(get({{"If-Match", "\"v1\""}}) == proceed);
    CHECK(get({{"If-Match", "\"v2\""}}) == failed);
    CHECK(get({{"If-Match", "*"}}) == proceed);
    CHECK(get({{"If-Match", "\"x\", \"v1\""}}) == proceed);
    CHECK(get({{"If-Match", "W/\"v1\""}}) == failed);  // weak tags never match strongly
    CHECK(get({{"If-Match", "\"x\""}, {"if-match", "\"v1\""}}) == proceed);
    CHECK(get({{"If-Match", "v1"}}) == proceed);  // unquoted
    CHECK(get({{"If-Match", "garbage\"here"}}) == failed);
    CHECK(get({{"If-Match", ""}}) == failed);  // present but lists nothing
    // An object without an ETag matches only *.
    Validators no_etag{"", kT};
    CHECK(get({{"If-Match", "\"v1\""}}, no_etag) == failed);
    CHECK(get({{"If-Match", "*"}}, no_etag) == proceed);
    // A weak object ETag cannot pass If-Match either.
    CHECK(get({{"If-Match", "W/\"v1\""}}, Validators{"W/\"v1\"", kT}) == failed);
    // The same for other methods.
    CHECK(outcome(Method::other, fields({{"If-Match", "\"v2\""}})) == failed);
}

TEST_CASE("If-Unmodified-Since: 412 only when modified after the date") {
    CHECK(get({{"If-Unmodified-Since", date(kT)}}) == proceed);
    CHECK(get({{"If-Unmodified-Since", date(kT + 1)}}) == proceed);
    CHECK(get({{"If-Unmodified-Since", date(kT - 1)}}) == failed);
    CHECK(get({{"If-Unmodified-Since", "yesterday"}}) == proceed);  // invalid: ignored
    CHECK(get({{"If-Unmodified-Since", date(kT - 1)}, {"If-Unmodified-Since", date(kT - 1)}}) ==
          proceed);  // a list of dates is not a valid HTTP-date
    CHECK(get({{"If-Unmodified-Since", date(kT - 1)}}, Validators{"\"v1\"", std::nullopt}) ==
          proceed);  // no Last-Modified: nothing to compare
    // Ignored when If-Match is present.
    CHECK(get({{"If-Match", "\"v1\""}, {"If-Unmodified-Since", date(kT - 1)}}) == proceed);
}

TEST_CASE("If-None-Match: weak comparison, 304 for GET/HEAD, 412 otherwise") {
    CHECK(get({{"If-None-Match", "\"v1\""}}) == not_modified);
    CHECK(outcome(Method::head, fields({{"If-None-Match", "\"v1\""}})) == not_modified);
    CHECK(outcome(Method::other, fields({{"If-None-Match", "\"v1\""}})) == failed);
    CHECK(get({{"If-None-Match", "W/\"v1\""}}) == not_modified);
    CHECK(get({{"If-None-Match", "*"}}) == not_modified);
    CHECK(get({{"If-None-Match", "\"v2\""}}) == proceed);
    CHECK(get({{"If-None-Match", "\"a\", \"b\", W/\"v1\""}}) == not_modified);
    CHECK(get({{"If-None-Match", "\"a\""}, {"If-None-Match", "\"v1\""}}) == not_modified);
    CHECK(get({{"If-None-Match", "garbage\"here"}}) == proceed);
    Validators no_etag{"", kT};
    CHECK(get({{"If-None-Match", "\"v1\""}}, no_etag) == proceed);
    CHECK(get({{"If-None-Match", "*"}}, no_etag) == not_modified);  // the object exists
}

TEST_CASE("If-Modified-Since: 304 unless modified after the date; GET and HEAD only") {
    CHECK(get({{"If-Modified-Since", date(kT)}}) == not_modified);
    CHECK(get({{"If-Modified-Since", date(kT + 3600)}}) == not_modified);
    CHECK(get({{"If-Modified-Since", date(kT - 1)}}) == proceed);
    CHECK(outcome(Method::head, fields({{"If-Modified-Since", date(kT)}})) == not_modified);
    CHECK(outcome(Method::other, fields({{"If-Modified-Since", date(kT)}})) == proceed);
    CHECK(get({{"If-Modified-Since", "not a date"}}) == proceed);
    CHECK(get({{"If-Modified-Since", date(kT)}, {"If-Modified-Since", date(kT)}}) == proceed);
    CHECK(get({{"If-Modified-Since", date(kT)}}, Validators{"\"v1\"", std::nullopt}) == proceed);
    // The other two date formats.
    CHECK(get({{"If-Modified-Since", "Wednesday, 21-Oct-15 07:28:00 GMT"}}) == not_modified);
    CHECK(get({{"If-Modified-Since", "Wed Oct 21 07:27:59 2015"}}) == proceed);
    // Ignored when If-None-Match is present, whatever If-None-Match says.
    CHECK(get({{"If-None-Match", "\"v2\""}, {"If-Modified-Since", date(kT)}}) == proceed);
    CHECK(get({{"If-None-Match", "\"v1\""}, {"If-Modified-Since", date(kT - 1)}}) == not_modified);
}

TEST_CASE("precedence: lost-update preconditions first, then cache validation") {
    // If-Match failing wins over a matching If-None-Match.
    CHECK(get({{"If-None-Match", "\"v1\""}, {"If-Match", "\"v2\""}}) == failed);
    // If-Match holding, If-None-Match matching: 304.
    CHECK(get({{"If-Match", "\"v1\""}, {"If-None-Match", "\"v1\""}}) == not_modified);
    // If-Unmodified-Since failing wins over If-None-Match and If-Modified-Since.
    CHECK(get({{"If-Unmodified-Since", date(kT - 1)}, {"If-None-Match", "\"v1\""}}) == failed);
    CHECK(get({{"If-Modified-Since", date(kT)}, {"If-Unmodified-Since", date(kT - 1)}}) == failed);
    // All four holding: proceed.
    auto r = evaluate_conditionals(Method::get,
                                   fields({{"If-Match", "\"v1\""},
                                           {"If-Unmodified-Since", date(kT)},
                                           {"If-None-Match", "\"other\""},
                                           {"If-Modified-Since", date(kT - 60)},
                                           {"Range", "bytes=5-"}}),
                                   kObject);
    CHECK(r.outcome == proceed);
    CHECK(r.range_applies);
}

TEST_CASE("If-Range decides whether the Range applies") {
    auto range_applies = [](std::initializer_list<std::pair<const char*, std::string>> list,
                            Method m = Method::get) {
        return evaluate_conditionals(m, fields(list), kObject).range_applies;
    };
    CHECK(range_applies({{"Range", "bytes=0-9"}, {"If-Range", "\"v1\""}}));
    CHECK_FALSE(range_applies({{"Range", "bytes=0-9"}, {"If-Range", "\"v2\""}}));
    CHECK_FALSE(range_applies({{"Range", "bytes=0-9"}, {"If-Range", "W/\"v1\""}}));
    CHECK(range_applies({{"Range", "bytes=0-9"}, {"If-Range", "v1"}}));
    CHECK(range_applies({{"Range", "bytes=0-9"}, {"If-Range", date(kT)}}));
    CHECK_FALSE(range_applies({{"Range", "bytes=0-9"}, {"If-Range", date(kT + 1)}}));  // exact
    CHECK_FALSE(range_applies({{"Range", "bytes=0-9"}, {"If-Range", date(kT - 1)}}));
    CHECK_FALSE(range_applies({{"Range", "bytes=0-9"}, {"If-Range", "soon"}}));
    CHECK_FALSE(
        range_applies({{"Range", "bytes=0-9"}, {"If-Range", "\"v1\""}, {"If-Range", "\"v1\""}}));
    CHECK_FALSE(range_applies({{"If-Range", "\"v1\""}}));  // no Range: nothing to apply
    CHECK(range_applies({{"Range", "bytes=0-9"}, {"If-Range", "\"v1\""}}, Method::head));
    CHECK_FALSE(range_applies({{"Range", "bytes=0-9"}}, Method::other));
    // A date If-Range when the Last-Modified is unknown never holds.
    CHECK_FALSE(evaluate_conditionals(Method::get,
                                      fields({{"Range", "bytes=0-9"}, {"If-Range", date(kT)}}),
                                      Validators{"\"v1\"", std::nullopt})
                    .range_applies);
}
