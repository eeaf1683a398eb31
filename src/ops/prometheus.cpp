// PrometheusText.
#include "xs3/ops/prometheus.hpp"

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

}  // namespace xs3::ops
