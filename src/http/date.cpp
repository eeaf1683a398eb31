// HTTP date formatting and parsing, locale-free (strftime/strptime would follow LC_TIME).
#include "xs3/http/date.hpp"

#include <array>
#include <cstdint>

#include "xs3/http/headers.hpp"

namespace xs3::http {

namespace {

constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 7> kLongDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                  "Thursday", "Friday", "Saturday"};
constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr time_t kMinTime = -2208988800;   // 1900-01-01T00:00:00Z
constexpr time_t kMaxTime = 253402300799;  // 9999-12-31T23:59:59Z

void put2(std::string& out, int v) {
    out += char('0' + v / 10);
    out += char('0' + v % 10);
}

// A small cursor over the input; every take_* fails without moving on a mismatch.
struct Cursor {
    std::string_view s;

    bool lit(std::string_view want) {
        if (s.substr(0, want.size()) != want) return false;
        s.remove_prefix(want.size());
        return true;
    }
    bool digits(size_t n, int& out) {
        if (s.size() < n) return false;
        int v = 0;
        for (size_t i = 0; i < n; ++i) {
            if (s[i] < '0' || s[i] > '9') return false;
            v = v * 10 + (s[i] - '0');
        }
        s.remove_prefix(n);
        out = v;
        return true;
    }
    template <size_t N>
    bool name(const std::array<const char*, N>& names, int& index) {
        for (size_t i = 0; i < N; ++i) {
            std::string_view n = names[i];
            if (s.size() >= n.size() && iequals(s.substr(0, n.size()), n)) {
                s.remove_prefix(n.size());
                index = int(i);
                return true;
            }
        }
        return false;
    }
    // hour ":" minute ":" second
    bool time_of_day(std::tm& tm) {
        return digits(2, tm.tm_hour) && lit(":") && digits(2, tm.tm_min) && lit(":") &&
               digits(2, tm.tm_sec);
    }
};

bool is_leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

std::optional<time_t> to_time(std::tm& tm, int year) {
    static constexpr int kMonthDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int mdays = kMonthDays[tm.tm_mon] + (tm.tm_mon == 1 && is_leap(year) ? 1 : 0);
    // A leap second (:60) is allowed by the grammar; timegm folds it into the next minute.
    if (year < 1900 || tm.tm_mday < 1 || tm.tm_mday > mdays || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60) {
        return std::nullopt;
    }
    tm.tm_year = year - 1900;
    tm.tm_isdst = 0;
    return timegm(&tm);
}

std::optional<time_t> parse_imf(Cursor c) {  // after "Sun"
    std::tm tm{};
    int year = 0;
    if (c.lit(", ") && c.digits(2, tm.tm_mday) && c.lit(" ") && c.name(kMonths, tm.tm_mon) &&
        c.lit(" ") && c.digits(4, year) && c.lit(" ") && c.time_of_day(tm) && c.lit(" GMT") &&
        c.s.empty()) {
        return to_time(tm, year);
    }
    return std::nullopt;
}

std::optional<time_t> parse_asctime(Cursor c) {  // after "Sun"
    std::tm tm{};
    int year = 0;
    if (!(c.lit(" ") && c.name(kMonths, tm.tm_mon) && c.lit(" "))) return std::nullopt;
    // day = 2DIGIT / ( SP DIGIT )
    if (!(c.lit(" ") ? c.digits(1, tm.tm_mday) : c.digits(2, tm.tm_mday))) return std::nullopt;
    if (c.lit(" ") && c.time_of_day(tm) && c.lit(" ") && c.digits(4, year) && c.s.empty()) {
        return to_time(tm, year);
    }
    return std::nullopt;
}

std::optional<time_t> parse_rfc850(Cursor c) {  // after "Sunday"
    std::tm tm{};
    int yy = 0;
    if (!(c.lit(", ") && c.digits(2, tm.tm_mday) && c.lit("-") && c.name(kMonths, tm.tm_mon) &&
          c.lit("-") && c.digits(2, yy) && c.lit(" ") && c.time_of_day(tm) && c.lit(" GMT") &&
          c.s.empty())) {
        return std::nullopt;
    }
    std::tm now_tm{};
    time_t now = time(nullptr);
    gmtime_r(&now, &now_tm);
    int this_year = now_tm.tm_year + 1900;
    int year = this_year - this_year % 100 + yy;
    if (year > this_year + 50) year -= 100;
    return to_time(tm, year);
}

}  // namespace

std::string format_http_date(time_t t) {
    if (t < kMinTime) t = kMinTime;
    if (t > kMaxTime) t = kMaxTime;
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::string out;
    out.reserve(29);
    out += kDays[size_t(tm.tm_wday)];
    out += ", ";
    put2(out, tm.tm_mday);
    out += ' ';
    out += kMonths[size_t(tm.tm_mon)];
    out += ' ';
    int year = tm.tm_year + 1900;
    put2(out, year / 100);
    put2(out, year % 100);
    out += ' ';
    put2(out, tm.tm_hour);
    out += ':';
    put2(out, tm.tm_min);
    out += ':';
    put2(out, tm.tm_sec);
    out += " GMT";
    return out;
}

std::optional<time_t> parse_http_date(std::string_view s) {
    Cursor c{trim_ows(s)};
    int day = 0;
    // Long names first: "Sunday" also starts with "Sun".
    Cursor long_c = c;
    if (long_c.name(kLongDays, day)) return parse_rfc850(long_c);
    if (!c.name(kDays, day)) return std::nullopt;
    if (!c.s.empty() && c.s.front() == ',') return parse_imf(c);
    return parse_asctime(c);
}

const std::string& DateCache::now() {
    return at(time(nullptr));
}

const std::string& DateCache::at(time_t t) {
    if (t != formatted_for_) {
        value_ = format_http_date(t);
        formatted_for_ = t;
    }
    return value_;
}

}  // namespace xs3::http
