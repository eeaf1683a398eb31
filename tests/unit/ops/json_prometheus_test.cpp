// Tests of the JSON writer and the Prometheus text builder.
#include <doctest/doctest.h>

#include "xs3/ops/json.hpp"
#include "xs3/ops/prometheus.hpp"

using namespace xs3::ops;

TEST_CASE("JsonWriter places commas and nests") {
    JsonWriter w;
    w.begin_object()
        .field("a", uint64_t{1})
        .field("b", "x")
        .field("c", true)
        .key("d")
        .begin_array()
        .value(int64_t{-2})
        .begin_object()
        .end_object()
        .value("y")
        .end_array()
        .key("e")
        .begin_object()
        .field("f", false)
        .end_object()
        .end_object();
    CHECK(w.text() == R"({"a":1,"b":"x","c":true,"d":[-2,{},"y"],"e":{"f":false}})");
}

TEST_CASE("json_quote escapes and never emits invalid UTF-8") {
    CHECK(json_quote("plain") == "\"plain\"");
    CHECK(json_quote("q\"b\\n\nr\rt\t") == R"("q\"b\\n\nr\rt\t")");
    CHECK(json_quote(std::string("\x01\x1f\x7f", 3)) == R"("\u0001\u001f\u007f")");
    CHECK(json_quote("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") ==
          "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    CHECK(json_quote("\xff") == R"("\ufffd")");
    CHECK(json_quote("\xc3") == R"("\ufffd")");                                // truncated sequence
    CHECK(json_quote("\xc0\xaf") == R"("\ufffd\ufffd")");                      // overlong
    CHECK(json_quote("\xed\xa0\x80") == R"("\ufffd\ufffd\ufffd")");            // a surrogate
    CHECK(json_quote("\xf4\x90\x80\x80") == R"("\ufffd\ufffd\ufffd\ufffd")");  // > U+10FFFF
    CHECK(json_quote(std::string("a\0b", 3)) == R"("a\u0000b")");
}

TEST_CASE("PrometheusText: HELP, TYPE, samples, escaping and name checks") {
    PrometheusText p;
    p.counter("xs3_requests_total", "Requests\nwith a \\ in help", 42);
    p.gauge("xs3_used_bytes", "Used", 7);
    p.family("xs3_state", "gauge", "State");
    p.sample("xs3_state", "state", "run\"ning\n", 1);
    p.counter("bad name", "skipped", 1);
    p.counter("9starts_with_digit", "skipped", 1);
    p.sample("xs3_state", "bad:label", "x", 2);  // a colon is not allowed in label names
    CHECK(p.text() ==
          "# HELP xs3_requests_total Requests\\nwith a \\\\ in help\n"
          "# TYPE xs3_requests_total counter\n"
          "xs3_requests_total 42\n"
          "# HELP xs3_used_bytes Used\n"
          "# TYPE xs3_used_bytes gauge\n"
          "xs3_used_bytes 7\n"
          "# HELP xs3_state State\n"
          "# TYPE xs3_state gauge\n"
          "xs3_state{state=\"run\\\"ning\\n\"} 1\n"
          "xs3_state 2\n");
    CHECK(valid_metric_name("a:b_c9"));
    CHECK_FALSE(valid_metric_name(""));
    CHECK_FALSE(valid_metric_name("a-b"));
}
