// Tests of the /debug documents' JSON: every field of a download and of the connection counts,
// unknown sizes and unanswered workers as null.
#include "xs3/ops/debug_report.hpp"

#include <doctest/doctest.h>

using namespace xs3;

TEST_CASE("downloads_json: fields, chunks, and an unknown size as null") {
    fetch::DownloadView a;
    a.id = 7;
    a.name = "bucket/key\"x";
    a.state = "running";
    a.size_known = true;
    a.size = 20;
    a.age = std::chrono::milliseconds(1500);
    a.readers = 2;
    a.waiters = 1;
    a.bytes_fetched = 15;
    a.retries = 1;
    a.chunks = {{0, 10, 10}, {10, 10, 5}};
    fetch::DownloadView b;
    b.id = 8;
    b.name = "k2";
    b.state = "probing";
    CHECK(ops::downloads_json({a, b}) ==
          R"({"downloads":[{"id":7,"name":"bucket/key\"x","state":"running","size":20,)"
          R"("age_ms":1500,"readers":2,"waiting_readers":1,"bytes_fetched":15,"retries":1,)"
          R"("bytes_written":15,"chunks":[{"index":0,"offset":0,"length":10,"written":10},)"
          R"({"index":1,"offset":10,"length":10,"written":5}]},)"
          R"({"id":8,"name":"k2","state":"probing","size":null,"age_ms":0,"readers":0,)"
          R"("waiting_readers":0,"bytes_fetched":0,"retries":0,"bytes_written":0,"chunks":[]}]})");
    CHECK(ops::downloads_json({}) == R"({"downloads":[]})");
}

TEST_CASE("connections_json: counts by state, per worker, a silent worker as null") {
    proxy::ConnectionCounts c;
    c.total = 3;
    c.complete = false;
    c.h2_streams = 4;
    c.by_state = {{"h1.idle", 1}, {"h2.open", 2}};
    c.per_worker = {3, UINT64_MAX};
    CHECK(ops::connections_json(c) ==
          R"({"total":3,"complete":false,"h2_streams":4,"by_state":{"h1.idle":1,"h2.open":2},)"
          R"("per_worker":[3,null]})");
}
