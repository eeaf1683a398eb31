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

TEST_CASE("PrometheusText: a histogram family's buckets, sum and count, labels escaped") {
    static xs3::HistogramFamily fam("xs3_unit_latency_seconds", "Latency", {"cache", "proto"},
                                    {1000, 250000, 2000000});
    PrometheusText empty;
    empty.histogram(fam);
    CHECK(empty.text().empty());  // no series yet: nothing to say
    auto& hit = fam.series({"HIT", "h1"});
    fam.series({"M\"x", "h2"});
    hit.observe_us(500);
    hit.observe_us(1000);
    hit.observe_us(300000);
    hit.observe_us(9000000);
    PrometheusText p;
    p.histogram(fam);
    CHECK(p.text() ==
          "# HELP xs3_unit_latency_seconds Latency\n"
          "# TYPE xs3_unit_latency_seconds histogram\n"
          "xs3_unit_latency_seconds_bucket{cache=\"HIT\",proto=\"h1\",le=\"0.001\"} 2\n"
          "xs3_unit_latency_seconds_bucket{cache=\"HIT\",proto=\"h1\",le=\"0.25\"} 2\n"
          "xs3_unit_latency_seconds_bucket{cache=\"HIT\",proto=\"h1\",le=\"2\"} 3\n"
          "xs3_unit_latency_seconds_bucket{cache=\"HIT\",proto=\"h1\",le=\"+Inf\"} 4\n"
          "xs3_unit_latency_seconds_sum{cache=\"HIT\",proto=\"h1\"} 9.301500\n"
          "xs3_unit_latency_seconds_count{cache=\"HIT\",proto=\"h1\"} 4\n"
          "xs3_unit_latency_seconds_bucket{cache=\"M\\\"x\",proto=\"h2\",le=\"0.001\"} 0\n"
          "xs3_unit_latency_seconds_bucket{cache=\"M\\\"x\",proto=\"h2\",le=\"0.25\"} 0\n"
          "xs3_unit_latency_seconds_bucket{cache=\"M\\\"x\",proto=\"h2\",le=\"2\"} 0\n"
          "xs3_unit_latency_seconds_bucket{cache=\"M\\\"x\",proto=\"h2\",le=\"+Inf\"} 0\n"
          "xs3_unit_latency_seconds_sum{cache=\"M\\\"x\",proto=\"h2\"} 0.000000\n"
          "xs3_unit_latency_seconds_count{cache=\"M\\\"x\",proto=\"h2\"} 0\n");
}
