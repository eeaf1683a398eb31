// Environment credentials, ISO 8601 expiry parsing and redacted descriptions.
#include "xs3/s3/credentials.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace xs3::s3 {
namespace {

std::string_view env_value(const GetenvFn& getenv_fn, const char* name) {
    const char* v = getenv_fn(name);
    return v == nullptr ? std::string_view() : std::string_view(v);
}

bool read_digits(std::string_view s, size_t pos, size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

bool is_leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

}  // namespace

Result<std::chrono::system_clock::time_point> parse_iso8601(std::string_view s) {
    auto bad = [&] {
        return Status(Code::invalid_argument,
                      "not an ISO 8601 timestamp (want YYYY-MM-DDTHH:MM:SSZ): \"" +
                          std::string(s.substr(0, 64)) + "\"");
    };
    int year, mon, day, hour, min, sec;
    if (!read_digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !read_digits(s, 5, 2, mon) ||
        s[7] != '-' || !read_digits(s, 8, 2, day) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !read_digits(s, 11, 2, hour) ||
        s[13] != ':' || !read_digits(s, 14, 2, min) || s[16] != ':' || !read_digits(s, 17, 2, sec))
        return bad();
    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 || min > 59 ||
        sec > 60)
        return bad();
    size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9')
            ++pos;
        if (pos == start) return bad();
    }
    long offset_seconds = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh, om;
        if (!read_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !read_digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
            return bad();
        offset_seconds = (s[pos] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
        pos += 6;
    } else {
        return bad();
    }
    if (pos != s.size()) return bad();

    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    // Four-digit years always fit a time_t; they do not all fit system_clock's nanoseconds
    // (which end in 2262), and an expiry in year 4198 overflowed there. Clamp to the span below.
    const time_t t =
        std::clamp<time_t>(timegm(&tm) - offset_seconds, kEarliestIso8601, kLatestIso8601);
    return std::chrono::system_clock::from_time_t(t);
}

std::string format_iso8601(std::chrono::system_clock::time_point t) {
    const time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

Status check_credential_text(std::string_view name, std::string_view value) {
    for (char ch : value)
        if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f)
            return Status(Code::invalid_argument,
                          std::string(name) + " contains whitespace or control characters");
    return {};
}

Result<std::optional<Credentials>> credentials_from_env(const GetenvFn& getenv_fn) {
    const std::string_view key_id = env_value(getenv_fn, "AWS_ACCESS_KEY_ID");
    const std::string_view secret = env_value(getenv_fn, "AWS_SECRET_ACCESS_KEY");
    if (key_id.empty() && secret.empty()) return std::optional<Credentials>();
    if (secret.empty())
        return Status(Code::invalid_argument,
                      "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is missing");
    if (key_id.empty())
        return Status(Code::invalid_argument,
                      "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is missing");

    std::string_view token = env_value(getenv_fn, "AWS_SESSION_TOKEN");
    const char* token_name = "AWS_SESSION_TOKEN";
    if (token.empty()) {
        token = env_value(getenv_fn, "AWS_SECURITY_TOKEN");
        token_name = "AWS_SECURITY_TOKEN";
    }
    for (auto [name, value] :
         {std::pair{"AWS_ACCESS_KEY_ID", key_id}, std::pair{"AWS_SECRET_ACCESS_KEY", secret},
          std::pair{token_name, token}})
        if (Status st = check_credential_text(name, value); !st.ok()) return st;

    Credentials c;
    c.access_key_id = std::string(key_id);
    c.secret_access_key = std::string(secret);
    c.session_token = std::string(token);
    const std::string_view expiration = env_value(getenv_fn, "AWS_CREDENTIAL_EXPIRATION");
    if (!expiration.empty()) {
        auto t = parse_iso8601(expiration);
        if (!t.ok())
            return Status(Code::invalid_argument,
                          "AWS_CREDENTIAL_EXPIRATION: " + t.status().message());
        c.expiration = *t;
    }
    return std::optional<Credentials>(std::move(c));
}

std::string redact(const Credentials& c) {
    if (c.anonymous()) return "anonymous";
    // Key ids are not secrets, but the first and last four characters (the ASIA/AKIA kind and
    // enough to tell keys apart) are all a log needs; short ids (emulators, tests) show nothing.
    const std::string& id = c.access_key_id;
    std::string out = "access_key_id=";
    out += id.size() >= 16 ? id.substr(0, 4) + "..." + id.substr(id.size() - 4) : "***";
    out += c.session_token.empty() ? " session_token=no" : " session_token=yes";
    if (c.expiration) out += " expiration=" + format_iso8601(*c.expiration);
    return out;
}

}  // namespace xs3::s3
