// Tests of the peer health state machine over explicit time.
#include "xs3/fleet/health.hpp"

#include <doctest/doctest.h>

using namespace xs3::fleet;
using namespace std::chrono_literals;

namespace {
const HealthOptions kOpts{10s, 60s};
const Clock::time_point t0 = Clock::time_point() + 1000s;
}  // namespace

TEST_CASE("a failure suspects a live peer for the back-off; a probe after it clears it") {
    PeerHealth h;
    CHECK(h.usable());
    CHECK(h.state() == PeerState::live);
    CHECK(h.request_failed(t0, "connect: Connection refused", kOpts));
    CHECK_FALSE(h.usable());
    CHECK(h.state() == PeerState::suspected);
    CHECK(h.backoff() == 10s);
    CHECK(h.suspected_until() == t0 + 10s);
    CHECK(h.last_error() == "connect: Connection refused");
    CHECK(h.failures() == 1);
    CHECK(h.suspicions() == 1);
    CHECK_FALSE(h.probe_due(t0 + 9999ms));
    CHECK(h.probe_due(t0 + 10s));
    // Over the back-off but not yet probed: still skipped.
    CHECK_FALSE(h.usable());
    CHECK(h.probed(t0 + 10s, true, "", kOpts));
    CHECK(h.usable());
    CHECK(h.suspicions() == 1);
}

TEST_CASE("failures of requests in flight when a peer went down are one incident") {
    PeerHealth h;
    CHECK(h.request_failed(t0, "timeout", kOpts));
    CHECK_FALSE(h.request_failed(t0 + 1s, "reset", kOpts));
    CHECK_FALSE(h.request_failed(t0 + 2s, "reset", kOpts));
    CHECK(h.suspected_until() == t0 + 10s);  // not stretched
    CHECK(h.backoff() == 10s);
    CHECK(h.failures() == 3);
    CHECK(h.suspicions() == 1);
    CHECK(h.last_error() == "reset");
}

TEST_CASE("a failed probe after the back-off doubles it, up to the cap") {
    PeerHealth h;
    h.request_failed(t0, "timeout", kOpts);
    Clock::time_point t = t0 + 10s;
    CHECK_FALSE(h.probed(t, false, "connect: Connection refused", kOpts));
    CHECK(h.backoff() == 20s);
    CHECK(h.suspected_until() == t + 20s);
    t += 20s;
    h.probed(t, false, "timeout", kOpts);
    CHECK(h.backoff() == 40s);
    t += 40s;
    h.probed(t, false, "timeout", kOpts);
    CHECK(h.backoff() == 60s);  // capped
    t += 60s;
    h.probed(t, false, "timeout", kOpts);
    CHECK(h.backoff() == 60s);
    CHECK(h.suspicions() == 1);
    CHECK(h.failures() == 5);
    t += 60s;
    CHECK(h.probed(t, true, "", kOpts));
    CHECK(h.usable());
}

TEST_CASE("a probe sent before a failure neither clears nor stretches that suspicion") {
    PeerHealth h;
    CHECK(h.request_failed(t0, "status 502", kOpts));
    // The round's probe was on its way while the request failed; it answers 200 now.
    CHECK_FALSE(h.probed(t0 + 100ms, true, "", kOpts));
    CHECK_FALSE(h.usable());
    CHECK_FALSE(h.probed(t0 + 200ms, false, "timeout", kOpts));
    CHECK(h.backoff() == 10s);
    CHECK(h.suspected_until() == t0 + 10s);
}

TEST_CASE("a peer that answers probes but fails requests backs off further each time") {
    PeerHealth h;
    h.request_failed(t0, "garbage", kOpts);
    h.probed(t0 + 10s, true, "", kOpts);
    CHECK(h.usable());
    // On probation: the next failure escalates instead of starting over at 10 s.
    CHECK(h.request_failed(t0 + 11s, "garbage", kOpts));
    CHECK(h.backoff() == 20s);
    h.probed(t0 + 31s, true, "", kOpts);
    CHECK(h.request_failed(t0 + 32s, "garbage", kOpts));
    CHECK(h.backoff() == 40s);
    CHECK(h.suspicions() == 3);
}

TEST_CASE("a request that succeeds ends probation: the next failure starts over") {
    PeerHealth h;
    h.request_failed(t0, "timeout", kOpts);
    h.probed(t0 + 10s, true, "", kOpts);
    h.request_succeeded();
    CHECK(h.request_failed(t0 + 100s, "timeout", kOpts));
    CHECK(h.backoff() == 10s);
}

TEST_CASE("a success reported while suspected keeps the suspicion") {
    PeerHealth h;
    h.request_failed(t0, "timeout", kOpts);
    h.request_succeeded();
    CHECK_FALSE(h.usable());
}

TEST_CASE("a live peer's failed probe suspects it; a live peer's answered probe changes nothing") {
    PeerHealth h;
    CHECK_FALSE(h.probed(t0, true, "", kOpts));
    CHECK(h.usable());
    CHECK(h.probed(t0, false, "status 503", kOpts));
    CHECK_FALSE(h.usable());
    CHECK(h.last_error() == "status 503");
    CHECK(h.backoff() == 10s);
    CHECK(state_name(h.state()) == "suspected");
    CHECK(state_name(PeerState::live) == "live");
}
