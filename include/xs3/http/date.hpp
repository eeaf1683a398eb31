// HTTP dates (RFC 9110 5.6.7): IMF-fixdate out, IMF-fixdate / RFC 850 / asctime in, and a cache
// for the Date header that formats at most once per second.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace xs3::http {

// "Sun, 06 Nov 1994 08:49:37 GMT". Times outside years 1900..9999 are clamped to that span.
std::string format_http_date(time_t t);

// Accepts the three forms (names case-insensitive, surrounding OWS ignored):
//   Sun, 06 Nov 1994 08:49:37 GMT    Sunday, 06-Nov-94 08:49:37 GMT    Sun Nov  6 08:49:37 1994
// RFC 850's two-digit year is read as the nearest year not more than 50 years in the future.
// Fields out of range (Feb 30, 24:00:00) make it fail; the weekday is checked for spelling only.
std::optional<time_t> parse_http_date(std::string_view s);

class DateCache {
  public:
    // The current time formatted; the string changes at most once per second.
    const std::string& now();
    // The same for a caller that already knows the time.
    const std::string& at(time_t t);

  private:
    time_t formatted_for_ = -1;
    std::string value_;
};

}  // namespace xs3::http
