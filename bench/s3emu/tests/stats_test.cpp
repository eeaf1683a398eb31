#include "../stats.hpp"

#include <doctest/doctest.h>

using namespace xs3::s3emu;

TEST_CASE("stats count, add up, render and reset") {
    Catalog c;
    REQUIRE(c.add(ObjectSpec{"a\"b", 10, 1, false, ""}).ok());
    FaultPlan f({}, 1);
    Stats s;
    s.record_response(StatMethod::get, 200);
    s.record_response(StatMethod::get, 206);
    s.record_response(StatMethod::get, 200);
    s.record_response(StatMethod::head, 404);
    s.add_body_bytes(30);
    s.connection_opened();
    s.connection_opened();
    s.connection_closed();
    CHECK(s.requests_total() == 4);
    CHECK(s.count(StatMethod::get, 200) == 2);
    CHECK(s.connections_current() == 1);
    CHECK(s.connections_peak() == 2);
    std::string j = s.to_json(c, f);
    CHECK(j.find("\"requests\": {\"GET\": {\"200\": 2, \"206\": 1}, \"HEAD\": {\"404\": 1}}") !=
          std::string::npos);
    CHECK(j.find("\"body_bytes\": 30,") != std::string::npos);
    CHECK(j.find("\"a\\\"b\": {\"size\": 10") != std::string::npos);
    s.reset(c, f);
    CHECK(s.requests_total() == 0);
    CHECK(s.connections_peak() == 1);
    CHECK(s.body_bytes() == 0);
}
