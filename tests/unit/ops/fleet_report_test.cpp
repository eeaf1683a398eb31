// Tests of /fleet's JSON and the fleet metrics, from a hand-made membership report.
#include "xs3/ops/fleet_report.hpp"

#include <doctest/doctest.h>

using namespace xs3;
using namespace xs3::ops;
using namespace std::chrono_literals;

namespace {

fleet::MembershipReport sample_report() {
    fleet::MembershipReport r;
    r.self = "10.0.0.1:8080";
    r.source = "dns xs3.cache.svc:8080";
    r.generation = 4;
    r.live = 2;
    r.dns_ok = false;
    r.dns_error = "Temporary failure in name resolution";
    r.dns_lookups = 9;
    r.dns_failures = 1;
    r.joins = 1;
    r.leaves = 0;
    r.probes = 30;
    r.probe_failures = 2;
    r.suspicions = 1;
    fleet::PeerReport a;
    a.address = *fleet::peer_address_from_ip("10.0.0.1", 8080);
    a.self = true;
    fleet::PeerReport b;
    b.address = *fleet::peer_address_from_ip("10.0.0.2", 8080);
    fleet::PeerReport c;
    c.address = *fleet::peer_address_from_ip("fd00::3", 8080);
    c.state = fleet::PeerState::suspected;
    c.backoff = 20s;
    c.suspected_left = 1500ms;
    c.failures = 3;
    c.suspicions = 1;
    c.last_error = "connect: Connection refused";
    r.peers = {a, b, c};
    return r;
}

}  // namespace

TEST_CASE("the /fleet document") {
    auto r = sample_report();
    std::string peers =
        "\"peers\":["
        "{\"peer\":\"10.0.0.1:8080\",\"self\":true,\"state\":\"live\",\"backoff_ms\":0,"
        "\"suspected_ms_left\":0,\"failures\":0,\"suspicions\":0,\"last_error\":\"\"},"
        "{\"peer\":\"10.0.0.2:8080\",\"self\":false,\"state\":\"live\",\"backoff_ms\":0,"
        "\"suspected_ms_left\":0,\"failures\":0,\"suspicions\":0,\"last_error\":\"\"},"
        "{\"peer\":\"[fd00::3]:8080\",\"self\":false,\"state\":\"suspected\",\"backoff_ms\":20000,"
        "\"suspected_ms_left\":1500,\"failures\":3,\"suspicions\":1,"
        "\"last_error\":\"connect: Connection refused\"}]";
    std::string head =
        "{\"self\":\"10.0.0.1:8080\",\"source\":\"dns xs3.cache.svc:8080\",\"generation\":4,"
        "\"live\":2,\"dns\":{\"ok\":false,\"error\":\"Temporary failure in name resolution\","
        "\"lookups\":9,\"failures\":1,\"joins\":1,\"leaves\":0},\"probes\":30,"
        "\"probe_failures\":2,\"suspicions\":1,";
    CHECK(fleet_json(r, std::nullopt) == head + peers + "}");
    FleetOwner o{"bk", "a/b", "", "10.0.0.2:8080", false, "[fd00::3]:8080"};
    CHECK(fleet_json(r, o) == head + peers +
                                  ",\"object\":{\"bucket\":\"bk\",\"key\":\"a/b\",\"version\":\"\","
                                  "\"owner\":\"10.0.0.2:8080\",\"owner_is_self\":false,"
                                  "\"owner_when_all_live\":\"[fd00::3]:8080\"}}");
}

TEST_CASE("fleet metrics") {
    PrometheusText t;
    append_fleet_metrics(t, sample_report());
    const std::string& s = t.text();
    auto has = [&](const std::string& line) {
        CAPTURE(line);
        CHECK(s.find(line + "\n") != std::string::npos);
    };
    has("xs3_fleet_peers{state=\"live\"} 2");
    has("xs3_fleet_peers{state=\"suspected\"} 1");
    has("xs3_fleet_peer_up{peer=\"10.0.0.1:8080\"} 1");
    has("xs3_fleet_peer_up{peer=\"10.0.0.2:8080\"} 1");
    has("xs3_fleet_peer_up{peer=\"[fd00::3]:8080\"} 0");
    has("xs3_fleet_peer_failures_total{peer=\"[fd00::3]:8080\"} 3");
    has("xs3_fleet_peer_failures_total{peer=\"10.0.0.2:8080\"} 0");
    CHECK(s.find("xs3_fleet_peer_failures_total{peer=\"10.0.0.1:8080\"}") == std::string::npos);
    has("xs3_fleet_suspicions_total 1");
    has("xs3_fleet_probes_total 30");
    has("xs3_fleet_probe_failures_total 2");
    has("xs3_fleet_dns_lookups_total 9");
    has("xs3_fleet_dns_failures_total 1");
    has("xs3_fleet_joins_total 1");
    has("xs3_fleet_leaves_total 0");
    has("xs3_fleet_generation 4");
    has("# TYPE xs3_fleet_peer_up gauge");
    has("# TYPE xs3_fleet_peer_failures_total counter");
}
