// Size and duration parsing for the command line, environment and TOML file.
#include "xs3/base/units.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

#include "xs3/base/ascii.hpp"

namespace xs3 {
namespace {

// Splits "12.5 GiB" into number "12.5" and unit "gib"; false on junk.
bool split_number(std::string_view text, std::string& number, std::string& unit) {
    size_t i = 0;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
    size_t start = i;
    bool dot = false;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) || (text[i] == '.' && !dot))) {
        if (text[i] == '.') dot = true;
        ++i;
    }
    number = std::string(text.substr(start, i - start));
    if (number.empty() || number == "." || number.front() == '.' || number.back() == '.')
        return false;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])))
        ++i;
    unit = ascii_lowercase(text.substr(ustart, i - ustart));
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
    return i == text.size();
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
    std::string number, unit;
    if (!split_number(text, number, unit))
        return Status(Code::invalid_argument, "not a size: '" + std::string(text) + "'");
    struct U {
        const char* name;
        uint64_t mult;
    };
    static const U units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1000},
        {"kb", 1000},
        {"kib", KiB},
        {"m", 1000000},
        {"mb", 1000000},
        {"mib", MiB},
        {"g", 1000000000},
        {"gb", 1000000000},
        {"gib", GiB},
        {"t", 1000000000000ULL},
        {"tb", 1000000000000ULL},
        {"tib", GiB * 1024},
        {"p", 1000000000000000ULL},
        {"pb", 1000000000000000ULL},
        {"pib", GiB * 1024 * 1024},
    };
    uint64_t mult = 0;
    for (const auto& u : units)
        if (unit == u.name) mult = u.mult;
    if (mult == 0)
        return Status(Code::invalid_argument, "unknown size unit '" + unit + "' in '" +
                                                  std::string(text) +
                                                  "' (use B, KiB, MiB, GiB, "
                                                  "TiB, KB, MB, GB, TB)");
    if (number.find('.') != std::string::npos) {
        if (mult == 1)
            return Status(Code::invalid_argument,
                          "a fractional size needs a unit: '" + std::string(text) + "'");
        long double v = std::strtold(number.c_str(), nullptr) * static_cast<long double>(mult);
        if (!(v < 18446744073709551615.0L))
            return Status(Code::out_of_range, "size too large: '" + std::string(text) + "'");
        return static_cast<uint64_t>(std::llround(v));
    }
    uint64_t v = 0;
    for (char c : number) {
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (v > (std::numeric_limits<uint64_t>::max() - d) / 10)
            return Status(Code::out_of_range, "size too large: '" + std::string(text) + "'");
        v = v * 10 + d;
    }
    if (v > std::numeric_limits<uint64_t>::max() / mult)
        return Status(Code::out_of_range, "size too large: '" + std::string(text) + "'");
    return v * mult;
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    std::string number, unit;
    if (!split_number(text, number, unit))
        return Status(Code::invalid_argument, "not a duration: '" + std::string(text) + "'");
    double mult_ms;
    if (unit.empty() || unit == "s" || unit == "sec" || unit == "secs")
        mult_ms = 1000;
    else if (unit == "ms")
        mult_ms = 1;
    else if (unit == "m" || unit == "min")
        mult_ms = 60000;
    else if (unit == "h")
        mult_ms = 3600000;
    else
        return Status(Code::invalid_argument, "unknown duration unit '" + unit + "' in '" +
                                                  std::string(text) + "' (use ms, s, m, h)");
    double v = std::strtod(number.c_str(), nullptr) * mult_ms;
    if (!(v < 1e15))
        return Status(Code::out_of_range, "duration too large: '" + std::string(text) + "'");
    return std::chrono::milliseconds(static_cast<int64_t>(std::llround(v)));
}

std::string format_size(uint64_t bytes) {
    static const char* names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = static_cast<double>(bytes);
    int i = 0;
    while (v >= 1024 && i < 5) {
        v /= 1024;
        ++i;
    }
    char buf[32];
    if (i == 0)
        snprintf(buf, sizeof buf, "%lluB", static_cast<unsigned long long>(bytes));
    else
        snprintf(buf, sizeof buf, "%.4g%s", v, names[i]);
    return buf;
}

}  // namespace xs3
