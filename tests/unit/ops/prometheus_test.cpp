// Tests of the Prometheus text builder.
#include <doctest/doctest.h>

#include "xs3/ops/prometheus.hpp"

using namespace xs3::ops;

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
