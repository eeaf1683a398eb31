// PrometheusText.
#include "xs3/ops/prometheus.hpp"

#include <cstdio>

namespace xs3::ops {
namespace {

bool name_char(char c, bool first) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':') return true;
    return !first && c >= '0' && c <= '9';
}

// HELP text escapes backslash and newline; label values also the double quote.
void append_escaped(std::string& out, std::string_view s, bool quote) {
    for (char c : s) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (quote && c == '"')
            out += "\\\"";
        else
            out += c;
    }
}

}  // namespace

bool valid_metric_name(std::string_view name) noexcept {
    if (name.empty()) return false;
    for (size_t i = 0; i < name.size(); ++i)
        if (!name_char(name[i], i == 0)) return false;
    return true;
}

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
    if (!valid_metric_name(name)) return;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    append_escaped(out_, help, false);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void PrometheusText::sample(std::string_view name, std::string_view label,
                            std::string_view label_value, uint64_t value) {
    if (!valid_metric_name(name)) return;
    out_ += name;
    if (!label.empty() && valid_metric_name(label) && label.find(':') == std::string_view::npos) {
        out_ += '{';
        out_ += label;
        out_ += "=\"";
        append_escaped(out_, label_value, true);
        out_ += "\"}";
    }
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
}

void PrometheusText::counter(std::string_view name, std::string_view help, uint64_t value) {
    family(name, "counter", help);
    sample(name, {}, {}, value);
}

void PrometheusText::gauge(std::string_view name, std::string_view help, uint64_t value) {
    family(name, "gauge", help);
    sample(name, {}, {}, value);
}

void PrometheusText::histogram(const HistogramFamily& family) {
    auto series = family.all_series();
    if (series.empty() || !valid_metric_name(family.name())) return;
    for (const auto& l : family.label_names())
        if (!valid_metric_name(l) || l.find(':') != std::string::npos || l == "le") return;
    this->family(family.name(), "histogram", family.help());
    auto seconds = [](uint64_t us, const char* fmt) {
        char buf[40];
        int n = std::snprintf(buf, sizeof buf, fmt, static_cast<double>(us) / 1e6);
        return std::string(buf, static_cast<size_t>(n));
    };
    for (const auto* s : series) {
        // The series' labels, then le where a bucket needs it.
        std::string labels;
        for (size_t i = 0; i < family.label_names().size(); ++i) {
            if (!labels.empty()) labels += ',';
            labels += family.label_names()[i];
            labels += "=\"";
            append_escaped(labels, s->label_values[i], true);
            labels += '"';
        }
        Histogram::Snapshot snap = s->histogram.snapshot();
        for (size_t i = 0; i <= snap.bounds_us.size(); ++i) {
            out_ += family.name();
            out_ += "_bucket{";
            out_ += labels;
            if (!labels.empty()) out_ += ',';
            out_ += "le=\"";
            out_ += i < snap.bounds_us.size() ? seconds(snap.bounds_us[i], "%g") : "+Inf";
            out_ += "\"} ";
            out_ += std::to_string(snap.cumulative[i]);
            out_ += '\n';
        }
        std::string braces = labels.empty() ? std::string() : "{" + labels + "}";
        out_ += family.name() + "_sum" + braces + " " + seconds(snap.sum_us, "%.6f") + "\n";
        out_ += family.name() + "_count" + braces + " " + std::to_string(snap.count) + "\n";
    }
}

}  // namespace xs3::ops
