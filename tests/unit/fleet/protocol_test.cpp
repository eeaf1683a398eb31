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

TEST_CASE("judging hop requests") {
    using K = HopVerdict::Kind;
    const std::string hop = "10.0.0.2:8080";
    const int64_t now = 1700000000;
    HopRequest r;
    r.method = "GET";
    r.target = "/data/a.bin";
    r.remote_ip = "10.0.0.2";
    r.now_unix = now;

    // No hop header: a client, whatever else it carries.
    CHECK(judge_hop(r, true, "", true).kind == K::client);
    CHECK(judge_hop(r, false, "", false).kind == K::client);
    std::string stray_auth = "t=1,sig=x";
    r.auth = &stray_auth;
    CHECK(judge_hop(r, true, "tok", true).kind == K::client);
    r.auth = nullptr;

    r.hop = &hop;
    // Without a token: the address decides.
    CHECK(judge_hop(r, true, "", true).kind == K::peer);
    auto v = judge_hop(r, true, "", false);
    CHECK(v.kind == K::refused);
    CHECK(v.why == "from 10.0.0.2, not a member's address (and no fleet token is set)");
    r.remote_ip = "";
    CHECK(judge_hop(r, true, "", false).why ==
          "from an unknown address, not a member's address (and no fleet token is set)");
    // Not in a fleet: nothing to honour.
    CHECK(judge_hop(r, false, "", true).why == "this node is not in a fleet");
    std::string empty;
    r.hop = &empty;
    CHECK(judge_hop(r, true, "", true).why == "empty x-xs3-hop");
    r.hop = &hop;

    // With a token: the signature decides, the address does not.
    CHECK(judge_hop(r, true, "tok", true).why == "no x-xs3-fleet-auth (a fleet token is set)");
    std::string good = sign_peer_request("tok", hop, "GET", "/data/a.bin", now);
    r.auth = &good;
    CHECK(judge_hop(r, true, "tok", false).kind == K::peer);
    CHECK(judge_hop(r, true, "other", true).why == "x-xs3-fleet-auth: bad signature");
    std::string old = sign_peer_request("tok", hop, "GET", "/data/a.bin", now - 301);
    r.auth = &old;
    CHECK(judge_hop(r, true, "tok", true).why == "x-xs3-fleet-auth: expired");
    std::string junk = "junk";
    r.auth = &junk;
    CHECK(judge_hop(r, true, "tok", true).why == "x-xs3-fleet-auth: malformed");
    // Signed for another target: refused.
    std::string elsewhere = sign_peer_request("tok", hop, "GET", "/other", now);
    r.auth = &elsewhere;
    CHECK(judge_hop(r, true, "tok", true).kind == K::refused);
}
