#include <doctest/doctest.h>

#include "xs3/http/h2_reset_guard.hpp"

using xs3::http::H2ResetGuard;

TEST_CASE("H2ResetGuard: trips on the first reset beyond the limit") {
    H2ResetGuard g(10, 3);
    CHECK_FALSE(g.record(true));
    CHECK_FALSE(g.record(true));
    CHECK_FALSE(g.record(true));
    CHECK(g.resets_in_window() == 3);
    CHECK(g.record(true));
}

TEST_CASE("H2ResetGuard: old resets leave the window") {
    H2ResetGuard g(4, 2);
    CHECK_FALSE(g.record(true));
    CHECK_FALSE(g.record(true));
    CHECK_FALSE(g.record(false));
    CHECK_FALSE(g.record(false));
    CHECK(g.resets_in_window() == 2);
    // The two resets drop out as new outcomes come in.
    CHECK_FALSE(g.record(true));  // window: r f f r
    CHECK(g.resets_in_window() == 2);
    CHECK_FALSE(g.record(false));  // f f r f
    CHECK(g.resets_in_window() == 1);
    CHECK_FALSE(g.record(true));  // f r f r
    CHECK(g.record(true));        // r f r r
    CHECK(g.resets_in_window() == 3);
}

TEST_CASE("H2ResetGuard: one in four never trips a half-window limit") {
    H2ResetGuard g(128, 64);
    for (int i = 0; i < 10000; ++i)
        REQUIRE_FALSE(g.record(i % 4 == 0));
    CHECK(g.resets_in_window() == 32);
}

TEST_CASE("H2ResetGuard: a window of 0 behaves as 1") {
    H2ResetGuard g(0, 0);
    CHECK_FALSE(g.record(false));
    CHECK(g.record(true));
    CHECK_FALSE(g.record(false));
}
