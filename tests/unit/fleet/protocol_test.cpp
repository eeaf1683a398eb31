// Tests of peer request signing (byte-exact vectors) and checking.
#include "xs3/fleet/protocol.hpp"

#include <doctest/doctest.h>

#include "xs3/base/digest.hpp"

using namespace xs3::fleet;

TEST_CASE("the signature is HMAC-SHA256 of the documented string") {
    std::string v = sign_peer_request("s3cret", "10.0.0.1:8080", "GET", "/data/a.bin", 1700000000);
    std::string expected_mac = xs3::hex_lower(xs3::hmac_sha256(
        std::string_view("s3cret"),
        std::string_view("xs3-fleet-v1\n10.0.0.1:8080\nGET\n/data/a.bin\n1700000000")));
    CHECK(v == "t=1700000000,sig=" + expected_mac);
    // Pinned (computed with Python's hmac module), so a change to the string to sign cannot
    // pass unnoticed.
    CHECK(v == "t=1700000000,sig=a5da364147aeaf2eb5f3a01b3113c25f95b7b6986f3f963acd4dece75848e4ce");
}

TEST_CASE("verification") {
    const int64_t t = 1700000000;
    std::string v = sign_peer_request("tok", "10.0.0.1:8080", "GET", "/k", t);
    CHECK(verify_peer_request("tok", v, "10.0.0.1:8080", "GET", "/k", t) == AuthVerdict::ok);
    CHECK(verify_peer_request("tok", v, "10.0.0.1:8080", "GET", "/k", t + 300) == AuthVerdict::ok);
    CHECK(verify_peer_request("tok", v, "10.0.0.1:8080", "GET", "/k", t - 300) == AuthVerdict::ok);
    CHECK(verify_peer_request("tok", v, "10.0.0.1:8080", "GET", "/k", t + 301) ==
          AuthVerdict::expired);
    CHECK(verify_peer_request("tok", v, "10.0.0.1:8080", "GET", "/k", t - 301) ==
          AuthVerdict::expired);
    // Bound to token, hop, method and target.
    CHECK(verify_peer_request("other", v, "10.0.0.1:8080", "GET", "/k", t) ==
          AuthVerdict::bad_signature);
    CHECK(verify_peer_request("tok", v, "10.0.0.2:8080", "GET", "/k", t) ==
          AuthVerdict::bad_signature);
    CHECK(verify_peer_request("tok", v, "10.0.0.1:8080", "HEAD", "/k", t) ==
          AuthVerdict::bad_signature);
    CHECK(verify_peer_request("tok", v, "10.0.0.1:8080", "GET", "/other", t) ==
          AuthVerdict::bad_signature);
    // A tampered time is a different string to sign.
    std::string later = v;
    later.replace(2, 10, std::to_string(t + 5));
    CHECK(verify_peer_request("tok", later, "10.0.0.1:8080", "GET", "/k", t) ==
          AuthVerdict::bad_signature);
}

TEST_CASE("malformed values") {
    const std::string sig(64, 'a');
    auto check = [&](std::string value) {
        CAPTURE(value);
        CHECK(verify_peer_request("tok", value, "h", "GET", "/k", 100) == AuthVerdict::malformed);
    };
    check("");
    check("t=100");
    check("t=100,sig=");
    check("t=,sig=" + sig);
    check("t=1x0,sig=" + sig);
    check("t=100,sig=" + sig.substr(1));
    check("t=100,sig=" + sig + "a");
    check("t=100,sig=" + std::string(63, 'a') + "A");  // uppercase hex is not what we send
    check("t=100;sig=" + sig);
    check("sig=" + sig + ",t=100");
    check("t=1234567890123,sig=" + sig);
    CHECK(verify_peer_request("tok", "t=100,sig=" + sig, "h", "GET", "/k", 100) ==
          AuthVerdict::bad_signature);
    CHECK(verdict_name(AuthVerdict::expired) == "expired");
}
