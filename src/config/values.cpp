// The value parsers behind the option table's value types, with the messages users see.
#include "xs3/config/values.hpp"

#include <arpa/inet.h>

#include "xs3/base/ascii.hpp"
#include "xs3/base/units.hpp"
#include "xs3/fleet/peer.hpp"
#include "xs3/net/cidr.hpp"
#include "xs3/s3/operation.hpp"

namespace xs3::config {
namespace {

Status bad(std::string message) {
    return Status(Code::invalid_argument, std::move(message));
}

std::string quoted(std::string_view text) {
    return "'" + std::string(text) + "'";
}

}  // namespace

Result<uint64_t> parse_whole(std::string_view text, uint64_t min, uint64_t max) {
    if (text.empty() || text.size() > 20) return bad(quoted(text) + " is not a whole number");
    uint64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return bad(quoted(text) + " is not a whole number");
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (v > (kNoMax - d) / 10) return bad(quoted(text) + " is too large");
        v = v * 10 + d;
    }
    if (v < min || v > max) {
        if (max == kNoMax) return bad(quoted(text) + " must be at least " + std::to_string(min));
        return bad(quoted(text) + " is out of range (" + std::to_string(min) + ".." +
                   std::to_string(max) + ")");
    }
    return v;
}

Result<uint64_t> parse_size_in(std::string_view text, uint64_t min, uint64_t max,
                               uint64_t multiple) {
    auto v = parse_size(text);
    if (!v) return v.status();
    if (multiple > 1) {
        if (*v < min || *v > max || *v % multiple != 0)
            return bad(quoted(text) + " must be a multiple of " + format_size(multiple) + " from " +
                       format_size(min) + " to " + format_size(max));
        return v;
    }
    if (max == kNoMax) {
        if (*v >= min) return v;
        if (min == 1) return bad(quoted(text) + " must be greater than zero");
        return bad(quoted(text) + " must be at least " + format_size(min));
    }
    if (*v < min || *v > max)
        return bad(quoted(text) + " is out of range (" + format_size(min) + ".." +
                   format_size(max) + ")");
    return v;
}

Result<bool> parse_flag(std::string_view text) {
    std::string t = ascii_lowercase(text);
    if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
    if (t == "false" || t == "0" || t == "no" || t == "off") return false;
    return bad(quoted(text) + " is not a boolean (use true/false, yes/no or 1/0)");
}

Result<std::string> parse_text(std::string_view text) {
    if (text.empty()) return bad("an empty value is not allowed");
    return std::string(text);
}

Result<std::string> parse_address(std::string_view text) {
    std::string s(text);
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(AF_INET, s.c_str(), buf) != 1 && inet_pton(AF_INET6, s.c_str(), buf) != 1)
        return bad(quoted(text) + " is not an IPv4 or IPv6 address");
    return s;
}

Result<std::string> parse_url(std::string_view text) {
    std::string l = ascii_lowercase(text);
    if ((l.rfind("http://", 0) != 0 || l.size() <= 7) &&
        (l.rfind("https://", 0) != 0 || l.size() <= 8))
        return bad(quoted(text) + " is not an http:// or https:// URL");
    return std::string(text);
}

Result<std::string> parse_secret(std::string_view text) {
    if (text.empty()) return bad("an empty value is not allowed");
    for (char ch : text)
        if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f)
            return bad("the value contains whitespace or control characters");
    return std::string(text);
}

Result<uint64_t> Port::parse(std::string_view t) {
    auto v = parse_whole(t, 0, max);
    if (!v) return bad(quoted(t) + " is not a port number");
    return v;
}

template <bool Positive>
Result<std::chrono::milliseconds> Duration<Positive>::parse(std::string_view t) {
    auto v = parse_duration(t);
    if (!v) return v.status();
    if (Positive && v->count() <= 0) return bad(quoted(t) + " must be greater than zero");
    return v;
}
template struct Duration<true>;
template struct Duration<false>;

Result<LogLevel> LogLevelName::parse(std::string_view t) {
    LogLevel l;
    if (!parse_log_level(ascii_lowercase(t), l))
        return bad(quoted(t) + " is not a log level (use debug, info, warn, error or off)");
    return l;
}

Result<std::string> SendMode::parse(std::string_view t) {
    std::string m = ascii_lowercase(t);
    if (m != "copy" && m != "splice")
        return bad(quoted(t) + " is not a send mode (use copy or splice)");
    return m;
}

Result<std::vector<std::string>> HostSuffixes::parse(std::string_view t) {
    auto list = s3::parse_virtual_host_suffixes(t);
    if (!list.error.empty()) return bad(list.error);
    return std::move(list.suffixes);
}

Result<cache::FreeSpaceFloor> FreeSpace::parse(std::string_view t) {
    cache::FreeSpaceFloor floor;
    if (!t.empty() && t.back() == '%') {
        auto v = parse_whole(t.substr(0, t.size() - 1), 0, 99);
        if (!v) return bad(quoted(t) + " is not a whole percentage below 100%");
        floor.percent = static_cast<unsigned>(*v);
        return floor;
    }
    auto v = parse_size(t);
    if (!v) return bad(v.status().message() + " (or give a percentage like 5%)");
    floor.bytes = *v;
    return floor;
}

Result<uint64_t> WindowSize::parse(std::string_view t) {
    auto v = parse_size(t);
    if (!v) return v.status();
    if (*v < 1 || *v > max) return bad(quoted(t) + " is out of range (1B..2GiB-1)");
    return v;
}

Result<std::string> PeerList::parse(std::string_view t) {
    auto l = fleet::parse_host_port_list(t);
    if (!l) return l.status();
    return std::string(t);
}

Result<std::string> HostAndPort::parse(std::string_view t) {
    auto hp = fleet::parse_host_port(t, std::nullopt);
    if (!hp) return hp.status();
    return std::string(t);
}

Result<std::string> HostMaybePort::parse(std::string_view t) {
    auto hp = fleet::parse_host_port(t, uint16_t{1});  // the real default port is decided later
    if (!hp) return hp.status();
    return std::string(t);
}

Result<std::string> Token::parse(std::string_view t) {
    auto v = parse_secret(t);
    if (!v) return v.status();
    if (v->size() < 16) return bad("the value must be at least 16 characters");
    return v;
}

Result<std::string> CidrList::parse(std::string_view t) {
    auto set = net::CidrSet::parse(t);
    if (!set) return set.status();
    return set->describe();
}

}  // namespace xs3::config
