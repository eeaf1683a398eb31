// How an option's text becomes a typed value: one small type per shape of value (a whole number
// in a range, a size, a duration, a flag, an address...). Each has `kind` (what --help and the
// TOML reader expect) and `parse` (the text to a value, or a message that names the value, never
// the option: the loader adds which option and which source). Option rows in option_table.cpp
// name one of these and the Config member it fills; no option has a setter of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "xs3/base/log.hpp"
#include "xs3/base/status.hpp"
#include "xs3/cache/eviction_policy.hpp"

namespace xs3::config {

// How an option's value is written; decides bare-flag handling on the command line, which TOML
// types are accepted, and the <VALUE> shown in --help.
enum class ValueKind { string, ip, uint, size, duration, boolean, log_level };

inline constexpr uint64_t kNoMax = std::numeric_limits<uint64_t>::max();

// The parsers behind the value types; the messages are the ones users see.
Result<uint64_t> parse_whole(std::string_view text, uint64_t min, uint64_t max);
// A size with bounds; `multiple` > 1 also asks for a multiple of it (O_DIRECT-friendly sizes).
Result<uint64_t> parse_size_in(std::string_view text, uint64_t min, uint64_t max,
                               uint64_t multiple);
Result<bool> parse_flag(std::string_view text);
Result<std::string> parse_text(std::string_view text);     // any non-empty text
Result<std::string> parse_address(std::string_view text);  // an IPv4 or IPv6 literal
Result<std::string> parse_url(std::string_view text);      // http:// or https://, non-empty
// A credential: no whitespace or control bytes; its text never appears in a message.
Result<std::string> parse_secret(std::string_view text);

// A whole number in [Min, Max].
template <uint64_t Min, uint64_t Max = kNoMax>
struct Whole {
    static constexpr ValueKind kind = ValueKind::uint;
    static constexpr uint64_t max = Max;
    static Result<uint64_t> parse(std::string_view t) { return parse_whole(t, Min, Max); }
};

// A TCP port (0..65535).
struct Port {
    static constexpr ValueKind kind = ValueKind::uint;
    static constexpr uint64_t max = 65535;
    static Result<uint64_t> parse(std::string_view t);
};

// A size ("64KiB", "1GiB", "4096") in [Min, Max], a multiple of Multiple.
template <uint64_t Min = 0, uint64_t Max = kNoMax, uint64_t Multiple = 1>
struct Size {
    static constexpr ValueKind kind = ValueKind::size;
    static constexpr uint64_t max = Max;
    static Result<uint64_t> parse(std::string_view t) {
        return parse_size_in(t, Min, Max, Multiple);
    }
};

// A duration ("30s", "250ms"; a bare number is seconds); Positive refuses zero.
template <bool Positive>
struct Duration {
    static constexpr ValueKind kind = ValueKind::duration;
    static Result<std::chrono::milliseconds> parse(std::string_view t);
};

// Whole seconds in [Min, Max] (an option whose name says "seconds").
template <uint64_t Min, uint64_t Max>
struct Seconds {
    static constexpr ValueKind kind = ValueKind::uint;
    static Result<std::chrono::seconds> parse(std::string_view t) {
        auto v = parse_whole(t, Min, Max);
        if (!v) return v.status();
        return std::chrono::seconds(*v);
    }
};

struct Flag {
    static constexpr ValueKind kind = ValueKind::boolean;
    static Result<bool> parse(std::string_view t) { return parse_flag(t); }
};

struct Text {
    static constexpr ValueKind kind = ValueKind::string;
    static Result<std::string> parse(std::string_view t) { return parse_text(t); }
};

struct Address {
    static constexpr ValueKind kind = ValueKind::ip;
    static Result<std::string> parse(std::string_view t) { return parse_address(t); }
};

struct Url {
    static constexpr ValueKind kind = ValueKind::string;
    static Result<std::string> parse(std::string_view t) { return parse_url(t); }
};

struct Secret {
    static constexpr ValueKind kind = ValueKind::string;
    static Result<std::string> parse(std::string_view t) { return parse_secret(t); }
};

struct LogLevelName {
    static constexpr ValueKind kind = ValueKind::log_level;
    static Result<LogLevel> parse(std::string_view t);
};

// "copy" or "splice", any case; stored lowercase.
struct SendMode {
    static constexpr ValueKind kind = ValueKind::string;
    static Result<std::string> parse(std::string_view t);
};

// The proxy's host names for virtual-hosted requests: comma-separated, stored lowercase.
struct HostSuffixes {
    static constexpr ValueKind kind = ValueKind::string;
    static Result<std::vector<std::string>> parse(std::string_view t);
};

// Bytes ("10GiB") or a percentage of the filesystem ("5%"); either form replaces the other.
struct FreeSpace {
    static constexpr ValueKind kind = ValueKind::size;
    static Result<cache::FreeSpaceFloor> parse(std::string_view t);
};

// --allow-clients: comma-separated CIDR blocks (net/cidr.hpp), stored in their canonical form
// ("10.0.0.0/8,::1/128").
struct CidrList {
    static constexpr ValueKind kind = ValueKind::string;
    static Result<std::string> parse(std::string_view t);
};

// An HTTP/2 window: 1 .. 2^31-1 bytes (RFC 9113 6.5.2).
struct WindowSize {
    static constexpr ValueKind kind = ValueKind::size;
    static constexpr uint64_t max = 0x7fffffffULL;
    static Result<uint64_t> parse(std::string_view t);
};

// Fleet: the text is kept as written (start-up resolves it, app/fleet_setup), after
// its syntax is checked here so the message names the option.
// A comma-separated host:port list.
struct PeerList {
    static constexpr ValueKind kind = ValueKind::string;
    static Result<std::string> parse(std::string_view t);
};
// One host:port (the port is required).
struct HostAndPort {
    static constexpr ValueKind kind = ValueKind::string;
    static Result<std::string> parse(std::string_view t);
};
// An IP or host, with or without :port.
struct HostMaybePort {
    static constexpr ValueKind kind = ValueKind::string;
    static Result<std::string> parse(std::string_view t);
};
// A shared secret of at least 16 characters (never echoed).
struct Token {
    static constexpr ValueKind kind = ValueKind::string;
    static Result<std::string> parse(std::string_view t);
};

}  // namespace xs3::config
