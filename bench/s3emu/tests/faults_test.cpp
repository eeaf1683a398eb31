#include "../faults.hpp"

#include <doctest/doctest.h>

using namespace xs3::s3emu;
using namespace std::chrono_literals;

namespace {
FaultPlan plan(std::initializer_list<const char*> specs, uint64_t seed = 1) {
    std::vector<FaultRule> rules;
    for (const char* s : specs) {
        auto r = parse_fault_rule(s);
        REQUIRE_MESSAGE(r.ok(), r.status().to_string());
        rules.push_back(*r);
    }
    return FaultPlan(std::move(rules), seed);
}
}  // namespace

TEST_CASE("fault rules parse and reject junk") {
    auto r = parse_fault_rule("stall:object=big.bin,offset=1MiB,seconds=2500ms,count=1,method=GET");
    REQUIRE(r.ok());
    CHECK(r->type == FaultType::stall);
    CHECK(r->object == "big.bin");
    CHECK(r->offset == (1u << 20));
    CHECK(r->stall == 2500ms);
    CHECK(r->count == 1);
    CHECK(r->method == FaultMethod::get);
    CHECK(parse_fault_rule("etag-change:after=2")->request == 3);
    CHECK(parse_fault_rule("503:rate=0.25")->rate == 0.25);
    CHECK_FALSE(parse_fault_rule("404").ok());
    CHECK_FALSE(parse_fault_rule("503:rate=2").ok());
    CHECK(parse_fault_rule("503:offset=5")->offset == 5u);  // aimed at the GET asking for it
    CHECK_FALSE(parse_fault_rule("etag-change:offset=5,method=HEAD").ok());
    CHECK_FALSE(parse_fault_rule("reset:colour=1").ok());
    CHECK_FALSE(parse_fault_rule("500:request=0").ok());
}

TEST_CASE("no rules, no faults") {
    FaultPlan p({}, 1);
    for (int i = 0; i < 1000; ++i) {
        auto d = p.decide("k", false);
        p.resolve_body(d, 0, 100);
        CHECK(d.error_status == 0);
        CHECK_FALSE(d.etag_change);
        CHECK_FALSE(d.reset_at);
        CHECK_FALSE(d.short_at);
        CHECK_FALSE(d.stall_at);
    }
}

TEST_CASE("request=N fires exactly on the N-th matching request") {
    auto p = plan({"500:object=a,request=3"});
    std::vector<int> got;
    for (int i = 0; i < 6; ++i) {
        p.decide("b", false);  // other objects do not count
        got.push_back(p.decide("a", false).error_status);
    }
    CHECK(got == std::vector<int>{0, 0, 500, 0, 0, 0});
    CHECK(p.fired(FaultType::internal_error) == 1);
}

TEST_CASE("rate faults are deterministic for a seed and close to the rate") {
    auto p1 = plan({"503:rate=0.1"}, 77), p2 = plan({"503:rate=0.1"}, 77),
         p3 = plan({"503:rate=0.1"}, 78);
    int n1 = 0, same = 0, diff = 0;
    for (int i = 0; i < 10000; ++i) {
        int a = p1.decide("x", false).error_status, b = p2.decide("x", false).error_status,
            c = p3.decide("x", false).error_status;
        n1 += a == 503;
        same += a == b;
        diff += a != c;
    }
    CHECK(same == 10000);
    CHECK(diff > 0);
    CHECK(n1 > 850);
    CHECK(n1 < 1150);
    CHECK(p1.fired(FaultType::slow_down) == static_cast<uint64_t>(n1));
}

TEST_CASE("body faults land where asked, only when the body covers the offset") {
    auto p = plan({"reset:offset=1000", "stall:seconds=2,offset=10", "short:object=s"});
    auto d = p.decide("k", false);
    p.resolve_body(d, 0, 500);  // covers 10, not 1000
    CHECK_FALSE(d.reset_at);
    CHECK(d.stall_at == 10u);
    CHECK(d.stall_for == 2000ms);
    CHECK_FALSE(d.short_at);
    d = p.decide("k", false);
    p.resolve_body(d, 900, 200);
    CHECK(d.reset_at == 1000u);
    CHECK_FALSE(d.stall_at);
    d = p.decide("s", false);
    p.resolve_body(d, 100, 50);
    CHECK(d.short_at == 125u);  // middle of the body
    d = p.decide("s", true);    // HEAD has no body
    p.resolve_body(d, 100, 50);
    CHECK_FALSE(d.short_at);
    CHECK(p.fired(FaultType::reset) == 1);
    CHECK(p.fired(FaultType::stall) == 1);
    CHECK(p.fired(FaultType::short_body) == 1);
}

TEST_CASE("count caps firing; etag-change after=N") {
    auto p = plan({"503:object=z,count=2", "etag-change:object=e,after=2"});
    int n503 = 0, changes = 0;
    for (int i = 0; i < 5; ++i) {
        n503 += p.decide("z", false).error_status == 503;
        auto d = p.decide("e", false);
        if (d.etag_change) {
            ++changes;
            CHECK(i == 2);  // third request for e
        }
    }
    CHECK(n503 == 2);
    CHECK(changes == 1);
}

TEST_CASE("status faults aimed at an offset fire on the GET asking for it, never on a HEAD") {
    auto p = plan({"503:object=a,offset=3000,count=1", "etag-change:object=e,offset=10"});
    auto d = p.decide("a", true);  // HEAD: not a candidate, and not counted
    p.resolve_request(d, 0, 5000);
    CHECK(d.error_status == 0);
    d = p.decide("a", false);
    p.resolve_request(d, 0, 3000);  // bytes 0-2999: not 3000
    CHECK(d.error_status == 0);
    d = p.decide("a", false);
    p.resolve_request(d, 2000, 1001);  // 2000-3000
    CHECK(d.error_status == 503);
    d = p.decide("a", false);
    p.resolve_request(d, 0, 5000);  // count=1: once only
    CHECK(d.error_status == 0);
    d = p.decide("e", false);
    p.resolve_request(d, 0, 0);  // asks for nothing (an unsatisfiable range)
    CHECK_FALSE(d.etag_change);
    d = p.decide("e", false);
    p.resolve_request(d, 0, 11);
    CHECK(d.etag_change);
    CHECK(p.fired(FaultType::slow_down) == 1);
    CHECK(p.fired(FaultType::etag_change) == 1);
}
