// PrometheusText: the text exposition format (version 0.0.4) for /metrics. One HELP and TYPE
// line per metric family, then its samples; names are checked and label values escaped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "xs3/base/histogram.hpp"

namespace xs3::ops {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4";

class PrometheusText {
  public:
    // A family with one unlabelled sample. A name that is not a valid metric name
    // ([a-zA-Z_:][a-zA-Z0-9_:]*) is skipped: metrics must never break the whole page.
    void counter(std::string_view name, std::string_view help, uint64_t value);
    void gauge(std::string_view name, std::string_view help, uint64_t value);
    // The family line alone, then samples with one label each.
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, std::string_view label, std::string_view label_value,
                uint64_t value);

    // A histogram family: HELP and TYPE, then each series' _bucket (cumulative, le in seconds,
    // +Inf last), _sum (seconds) and _count. A family with no series is left out.
    void histogram(const HistogramFamily& family);

    const std::string& text() const noexcept { return out_; }

  private:
    std::string out_;
};

bool valid_metric_name(std::string_view name) noexcept;

}  // namespace xs3::ops
