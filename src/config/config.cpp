// The option table and the loader that applies it to the defaults, the TOML file, the environment
// and the command line, in that order, then checks the options against each other.
#include "xs3/config/config.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include "xs3/base/ascii.hpp"
#include "xs3/base/units.hpp"
#include "xs3/s3/operation.hpp"
#include "xs3_build_config.h"

namespace xs3::config {
namespace {

constexpr uint64_t kNoMax = std::numeric_limits<uint64_t>::max();

Status bad(std::string message) {
    return Status(Code::invalid_argument, std::move(message));
}

std::string quoted(std::string_view text) {
    return "'" + std::string(text) + "'";
}

Result<uint64_t> parse_uint(std::string_view text, uint64_t min, uint64_t max) {
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

Result<uint16_t> parse_port(std::string_view text) {
    auto v = parse_uint(text, 0, 65535);
    if (!v) return bad(quoted(text) + " is not a port number");
    return static_cast<uint16_t>(*v);
}

Result<bool> parse_bool(std::string_view text) {
    std::string t = ascii_lowercase(text);
    if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
    if (t == "false" || t == "0" || t == "no" || t == "off") return false;
    return bad(quoted(text) + " is not a boolean (use true/false, yes/no or 1/0)");
}

Result<uint64_t> parse_size_at_least(std::string_view text, uint64_t min) {
    auto v = parse_size(text);
    if (!v) return v.status();
    if (*v < min) {
        if (min == 1) return bad(quoted(text) + " must be greater than zero");
        return bad(quoted(text) + " must be at least " + format_size(min));
    }
    return v;
}

Result<uint64_t> parse_size_between(std::string_view text, uint64_t min, uint64_t max) {
    auto v = parse_size(text);
    if (!v) return v.status();
    if (*v < min || *v > max)
        return bad(quoted(text) + " is out of range (" + format_size(min) + ".." +
                   format_size(max) + ")");
    return v;
}

Result<std::chrono::milliseconds> parse_positive_duration(std::string_view text) {
    auto v = parse_duration(text);
    if (!v) return v.status();
    if (v->count() <= 0) return bad(quoted(text) + " must be greater than zero");
    return v;
}

Result<std::string> parse_non_empty(std::string_view text) {
    if (text.empty()) return bad("an empty value is not allowed");
    return std::string(text);
}

// Setters in table order. Each is small on purpose: the table row says what the option is, the
// setter only says how its text becomes a field.
#define XS3_ASSIGN(field, expr)          \
    do {                                 \
        auto r_ = (expr);                \
        if (!r_) return r_.status();     \
        c.field = std::move(r_.value()); \
    } while (0)

Status set_config(Config& c, std::string_view t) {
    XS3_ASSIGN(config_file, parse_non_empty(t));
    return {};
}
Result<std::string> parse_ip(std::string_view t) {
    std::string s(t);
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(AF_INET, s.c_str(), buf) != 1 && inet_pton(AF_INET6, s.c_str(), buf) != 1)
        return bad(quoted(t) + " is not an IPv4 or IPv6 address");
    return s;
}
Status set_bind_ip(Config& c, std::string_view t) {
    XS3_ASSIGN(bind_ip, parse_ip(t));
    return {};
}
Status set_port(Config& c, std::string_view t) {
    XS3_ASSIGN(port, parse_port(t));
    return {};
}
Status set_bucket(Config& c, std::string_view t) {
    XS3_ASSIGN(bucket, parse_non_empty(t));
    return {};
}
Status set_region(Config& c, std::string_view t) {
    XS3_ASSIGN(region, parse_non_empty(t));
    return {};
}
Status set_s3_endpoint_url(Config& c, std::string_view t) {
    std::string l = ascii_lowercase(t);
    if ((l.rfind("http://", 0) != 0 || l.size() <= 7) &&
        (l.rfind("https://", 0) != 0 || l.size() <= 8))
        return bad(quoted(t) + " is not an http:// or https:// URL");
    c.s3_endpoint_url = std::string(t);
    return {};
}
Status set_s3_force_path_style(Config& c, std::string_view t) {
    XS3_ASSIGN(s3_force_path_style, parse_bool(t));
    return {};
}
Status set_cache_dir(Config& c, std::string_view t) {
    XS3_ASSIGN(cache_dir, parse_non_empty(t));
    return {};
}
Status set_max_cache_size(Config& c, std::string_view t) {
    XS3_ASSIGN(max_cache_size, parse_size(t));
    return {};
}
Status set_cache_hierarchy_level(Config& c, std::string_view t) {
    XS3_ASSIGN(cache_hierarchy_level, parse_uint(t, 1, 12));
    return {};
}
Status set_max_concurrency(Config& c, std::string_view t) {
    XS3_ASSIGN(max_concurrency, parse_uint(t, 1, 65536));
    return {};
}
Status set_min_chunk_size(Config& c, std::string_view t) {
    XS3_ASSIGN(min_chunk_size, parse_size_at_least(t, 1));
    return {};
}
Status set_max_chunk_size(Config& c, std::string_view t) {
    XS3_ASSIGN(max_chunk_size, parse_size_at_least(t, 1));
    return {};
}
Status set_gc_interval_seconds(Config& c, std::string_view t) {
    auto v = parse_uint(t, 1, 366ULL * 24 * 3600);
    if (!v) return v.status();
    c.gc_interval = std::chrono::seconds(*v);
    return {};
}
Status set_gc_watermark_percent(Config& c, std::string_view t) {
    XS3_ASSIGN(gc_watermark_percent, parse_uint(t, 1, 100));
    return {};
}
Status set_gc_target_percent(Config& c, std::string_view t) {
    XS3_ASSIGN(gc_target_percent, parse_uint(t, 1, 99));
    return {};
}
Status set_debug_trace(Config& c, std::string_view t) {
    XS3_ASSIGN(debug_trace, parse_non_empty(t));
    return {};
}
Status set_workers(Config& c, std::string_view t) {
    XS3_ASSIGN(workers, parse_uint(t, 0, 1024));
    return {};
}
Status set_log_level(Config& c, std::string_view t) {
    LogLevel l;
    if (!parse_log_level(ascii_lowercase(t), l))
        return bad(quoted(t) + " is not a log level (use debug, info, warn, error or off)");
    c.log_level = l;
    return {};
}
Status set_chunk_size(Config& c, std::string_view t) {
    XS3_ASSIGN(chunk_size, parse_size_at_least(t, 1));
    return {};
}
Status set_max_connections(Config& c, std::string_view t) {
    XS3_ASSIGN(max_connections, parse_uint(t, 1, kNoMax));
    return {};
}
Status set_max_header_bytes(Config& c, std::string_view t) {
    XS3_ASSIGN(max_header_bytes, parse_size_at_least(t, 1024));
    return {};
}
Status set_idle_timeout(Config& c, std::string_view t) {
    XS3_ASSIGN(idle_timeout, parse_positive_duration(t));
    return {};
}
Status set_header_timeout(Config& c, std::string_view t) {
    XS3_ASSIGN(header_timeout, parse_positive_duration(t));
    return {};
}
Status set_upstream_connect_timeout(Config& c, std::string_view t) {
    XS3_ASSIGN(upstream_connect_timeout, parse_positive_duration(t));
    return {};
}
Status set_upstream_timeout(Config& c, std::string_view t) {
    XS3_ASSIGN(upstream_timeout, parse_positive_duration(t));
    return {};
}
Status set_direct_io(Config& c, std::string_view t) {
    XS3_ASSIGN(direct_io, parse_bool(t));
    return {};
}
Status set_send_mode(Config& c, std::string_view t) {
    std::string m = ascii_lowercase(t);
    if (m != "copy" && m != "splice")
        return bad(quoted(t) + " is not a send mode (use copy or splice)");
    c.send_mode = std::move(m);
    return {};
}
Status set_copy_size(Config& c, std::string_view t) {
    XS3_ASSIGN(copy_size, parse_size_between(t, 4096, 64ULL << 20));
    return {};
}
Status set_virtual_host_suffix(Config& c, std::string_view t) {
    auto list = s3::parse_virtual_host_suffixes(t);
    if (!list.error.empty()) return bad(list.error);
    c.virtual_host_suffixes = std::move(list.suffixes);
    return {};
}
Status set_access_log(Config& c, std::string_view t) {
    XS3_ASSIGN(access_log, parse_bool(t));
    return {};
}
Status set_open_files(Config& c, std::string_view t) {
    XS3_ASSIGN(open_files, parse_uint(t, 0, 1000000));
    return {};
}
Status set_open_file_max_size(Config& c, std::string_view t) {
    XS3_ASSIGN(open_file_max_bytes, parse_size_between(t, 0, 64ULL << 20));
    return {};
}
Status set_splice_size(Config& c, std::string_view t) {
    XS3_ASSIGN(splice_size, parse_size_at_least(t, 4096));
    return {};
}
Status set_pipe_size(Config& c, std::string_view t) {
    XS3_ASSIGN(pipe_size, parse_size_at_least(t, 4096));
    return {};
}
Status set_admin_port(Config& c, std::string_view t) {
    XS3_ASSIGN(admin_port, parse_port(t));
    return {};
}
Status set_metadata_ttl(Config& c, std::string_view t) {
    XS3_ASSIGN(metadata_ttl, parse_duration(t));
    return {};
}
Status set_chunk_retries(Config& c, std::string_view t) {
    XS3_ASSIGN(chunk_retries, parse_uint(t, 0, 100));
    return {};
}
Status set_write_size(Config& c, std::string_view t) {
    auto v = parse_size(t);
    if (!v) return v.status();
    if (*v < 64 * 1024 || *v > (16ULL << 20) || *v % 4096 != 0)
        return bad(quoted(t) + " must be a multiple of 4KiB from 64KiB to 16MiB");
    c.write_size = *v;
    return {};
}
Status set_abandon_on_disconnect(Config& c, std::string_view t) {
    XS3_ASSIGN(abandon_on_disconnect, parse_bool(t));
    return {};
}

// Cache lifecycle (issue 6).
Status set_min_free_space(Config& c, std::string_view t) {
    if (!t.empty() && t.back() == '%') {
        auto v = parse_uint(t.substr(0, t.size() - 1), 0, 99);
        if (!v) return bad(quoted(t) + " is not a whole percentage below 100%");
        c.min_free_space_percent = static_cast<unsigned>(*v);
        c.min_free_space_bytes = 0;
        return {};
    }
    auto v = parse_size(t);
    if (!v) return bad(v.status().message() + " (or give a percentage like 5%)");
    c.min_free_space_bytes = *v;
    c.min_free_space_percent = 0;
    return {};
}
Status set_immutable(Config& c, std::string_view t) {
    XS3_ASSIGN(immutable, parse_bool(t));
    return {};
}
Status set_stale_if_error(Config& c, std::string_view t) {
    XS3_ASSIGN(stale_if_error, parse_duration(t));
    return {};
}
Status set_preallocate(Config& c, std::string_view t) {
    XS3_ASSIGN(preallocate, parse_bool(t));
    return {};
}
Status set_admin_bind_ip(Config& c, std::string_view t) {
    XS3_ASSIGN(admin_bind_ip, parse_ip(t));
    return {};
}
// S3 credentials and transport (issue 5).
// A secret's text never appears in a message, not even quoted.
Result<std::string> parse_secret(std::string_view t) {
    if (t.empty()) return bad("an empty value is not allowed");
    for (char ch : t)
        if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f)
            return bad("the value contains whitespace or control characters");
    return std::string(t);
}
Status set_access_key_id(Config& c, std::string_view t) {
    XS3_ASSIGN(access_key_id, parse_secret(t));
    return {};
}
Status set_secret_access_key(Config& c, std::string_view t) {
    XS3_ASSIGN(secret_access_key, parse_secret(t));
    return {};
}
Status set_session_token(Config& c, std::string_view t) {
    XS3_ASSIGN(session_token, parse_secret(t));
    return {};
}
Status set_anonymous(Config& c, std::string_view t) {
    XS3_ASSIGN(anonymous, parse_bool(t));
    return {};
}
Status set_anonymous_fallback(Config& c, std::string_view t) {
    XS3_ASSIGN(anonymous_fallback, parse_bool(t));
    return {};
}
Status set_ca_bundle(Config& c, std::string_view t) {
    XS3_ASSIGN(ca_bundle, parse_non_empty(t));
    return {};
}
Status set_s3_dualstack(Config& c, std::string_view t) {
    XS3_ASSIGN(s3_dualstack, parse_bool(t));
    return {};
}
Status set_s3_fips(Config& c, std::string_view t) {
    XS3_ASSIGN(s3_fips, parse_bool(t));
    return {};
}
Status set_upstream_first_byte_timeout(Config& c, std::string_view t) {
    XS3_ASSIGN(upstream_first_byte_timeout, parse_positive_duration(t));
    return {};
}
Status set_upstream_low_speed_limit(Config& c, std::string_view t) {
    XS3_ASSIGN(upstream_low_speed_limit, parse_size_at_least(t, 1));
    return {};
}
Status set_upstream_low_speed_time(Config& c, std::string_view t) {
    XS3_ASSIGN(upstream_low_speed_time, parse_positive_duration(t));
    return {};
}
Status set_upstream_request_timeout(Config& c, std::string_view t) {
    XS3_ASSIGN(upstream_request_timeout, parse_duration(t));
    return {};
}
Status set_max_attempts(Config& c, std::string_view t) {
    XS3_ASSIGN(max_attempts, parse_uint(t, 1, 20));
    return {};
}
Status set_retry_base_delay(Config& c, std::string_view t) {
    XS3_ASSIGN(retry_base_delay, parse_positive_duration(t));
    return {};
}
Status set_retry_max_delay(Config& c, std::string_view t) {
    XS3_ASSIGN(retry_max_delay, parse_positive_duration(t));
    return {};
}
Status set_retry_budget(Config& c, std::string_view t) {
    XS3_ASSIGN(retry_budget, parse_uint(t, 0, 1000000));
    return {};
}
Status set_max_upstream_connections(Config& c, std::string_view t) {
    XS3_ASSIGN(max_upstream_connections, parse_uint(t, 1, 100000));
    return {};
}
Status set_max_upstream_connections_total(Config& c, std::string_view t) {
    XS3_ASSIGN(max_upstream_connections_total, parse_uint(t, 0, 10000000));
    return {};
}
// HTTP/2 (issue 7)
Status set_h2_max_concurrent_streams(Config& c, std::string_view t) {
    XS3_ASSIGN(h2_max_concurrent_streams, parse_uint(t, 1, 10000));
    return {};
}
Status set_h2_initial_window_size(Config& c, std::string_view t) {
    auto v = parse_size(t);
    if (!v) return v.status();
    // RFC 9113 6.5.2: at most 2^31-1.
    if (*v < 1 || *v > 0x7fffffffULL) return bad(quoted(t) + " is out of range (1B..2GiB-1)");
    c.h2_initial_window_size = static_cast<uint32_t>(*v);
    return {};
}
Status set_h2_rapid_reset_window(Config& c, std::string_view t) {
    XS3_ASSIGN(h2_rapid_reset_window, parse_uint(t, 1, 65536));
    return {};
}
Status set_h2_rapid_reset_limit(Config& c, std::string_view t) {
    XS3_ASSIGN(h2_rapid_reset_limit, parse_uint(t, 0, 65535));
    return {};
}

#undef XS3_ASSIGN

using K = ValueKind;

// clang-format off
const OptionDescriptor kOptions[] = {
    {"config", "XS3_CONFIG", "", K::string, "<FILE>", nullptr, false,
     "TOML file with further options (keys are the option names with '_' for '-')", set_config},
    // Options of the Rust xs3lerator: names, variables and defaults unchanged.
    {"bind-ip", "XS3_BIND_IP", "bind_ip", K::ip, "<IP>", "0.0.0.0", false,
     "IP address to listen on", set_bind_ip},
    {"port", "XS3_PORT", "port", K::uint, "<PORT>", "8080", false,
     "TCP port to listen on", set_port},
    {"bucket", "XS3_BUCKET", "bucket", K::string, "<BUCKET>", nullptr, true,
     "S3 bucket name (served at /<key>; optional when the config file lists [[buckets]])",
     set_bucket},
    {"region", "XS3_REGION", "region", K::string, "<REGION>", nullptr, false,
     "AWS region; unset: taken from the AWS environment/profile, else us-east-1", set_region},
    {"s3-endpoint-url", "XS3_S3_ENDPOINT_URL", "s3_endpoint_url", K::string, "<URL>", nullptr,
     false, "S3 endpoint URL override (S3-compatible stores, emulators)", set_s3_endpoint_url},
    {"s3-force-path-style", "XS3_S3_FORCE_PATH_STYLE", "s3_force_path_style", K::boolean, "",
     "false", false, "Use path-style S3 addressing (bucket in the path, not the host name)",
     set_s3_force_path_style},
    {"cache-dir", "XS3_CACHE_DIR", "cache_dir", K::string, "<PATH>", nullptr, true,
     "Local cache directory", set_cache_dir},
    {"max-cache-size", "XS3_MAX_CACHE_SIZE", "max_cache_size", K::size, "<SIZE>", nullptr, true,
     "Maximum total cache size, e.g. 100GiB or 500GB", set_max_cache_size},
    {"cache-hierarchy-level", "XS3_CACHE_HIERARCHY_LEVEL", "cache_hierarchy_level", K::uint, "<N>",
     "4", false, "Cache directory depth, one hex digit per level (1..12; 4 -> e/8/b/0/<hash>)",
     set_cache_hierarchy_level},
    {"max-concurrency", "XS3_MAX_CONCURRENCY", "max_concurrency", K::uint, "<N>", "32", false,
     "Maximum parallel ranged GETs per object download", set_max_concurrency},
    {"min-chunk-size", "XS3_MIN_CHUNK_SIZE", "min_chunk_size", K::size, "<SIZE>", "1MiB", false,
     "Smallest upstream chunk", set_min_chunk_size},
    {"max-chunk-size", "XS3_MAX_CHUNK_SIZE", "max_chunk_size", K::size, "<SIZE>", "256MiB", false,
     "Largest upstream chunk", set_max_chunk_size},
    {"gc-interval-seconds", "XS3_GC_INTERVAL_SECONDS", "gc_interval_seconds", K::uint, "<S>", "15",
     false, "Seconds between cache eviction scans", set_gc_interval_seconds},
    {"gc-watermark-percent", "XS3_GC_WATERMARK_PERCENT", "gc_watermark_percent", K::uint, "<P>",
     "95", false, "Eviction starts when the cache reaches this percentage of --max-cache-size",
     set_gc_watermark_percent},
    {"gc-target-percent", "XS3_GC_TARGET_PERCENT", "gc_target_percent", K::uint, "<P>", "90",
     false, "Eviction stops when the cache is down to this percentage of --max-cache-size",
     set_gc_target_percent},
    {"debug-trace", "XS3_DEBUG_TRACE", "debug_trace", K::string, "<PATH>", nullptr, false,
     "Accepted for compatibility with the Rust xs3lerator; ignored", set_debug_trace},
    // Options new in this implementation.
    {"workers", "XS3_WORKERS", "workers", K::uint, "<N>", "0", false,
     "Worker threads, one io_uring each (0: one per online CPU)", set_workers},
    {"log-level", "XS3_LOG_LEVEL", "log_level", K::log_level, "<LEVEL>", "info", false,
     "Log level: debug, info, warn, error or off", set_log_level},
    {"chunk-size", "XS3_CHUNK_SIZE", "chunk_size", K::size, "<SIZE>", "8MiB", false,
     "Preferred upstream chunk, clamped into [--min-chunk-size, --max-chunk-size]",
     set_chunk_size},
    {"max-connections", "XS3_MAX_CONNECTIONS", "max_connections", K::uint, "<N>", "10000", false,
     "Maximum open client connections", set_max_connections},
    {"max-header-bytes", "XS3_MAX_HEADER_BYTES", "max_header_bytes", K::size, "<SIZE>", "16KiB",
     false, "Largest accepted request header block (HTTP/1.1), and header list (HTTP/2)",
     set_max_header_bytes},
    {"idle-timeout", "XS3_IDLE_TIMEOUT", "idle_timeout", K::duration, "<DURATION>", "60s", false,
     "Close client connections idle for this long", set_idle_timeout},
    {"header-timeout", "XS3_HEADER_TIMEOUT", "header_timeout", K::duration, "<DURATION>", "10s",
     false, "Time a client has to send a complete request header", set_header_timeout},
    {"upstream-connect-timeout", "XS3_UPSTREAM_CONNECT_TIMEOUT", "upstream_connect_timeout",
     K::duration, "<DURATION>", "5s", false, "Connect timeout towards S3",
     set_upstream_connect_timeout},
    {"upstream-timeout", "XS3_UPSTREAM_TIMEOUT", "upstream_timeout", K::duration, "<DURATION>",
     "30s", false, "Limit for S3's first byte and for stalled transfers", set_upstream_timeout},
    {"direct-io", "XS3_DIRECT_IO", "direct_io", K::boolean, "", "false", false,
     "Write cache files with O_DIRECT", set_direct_io},
    {"send-mode", "XS3_SEND_MODE", "send_mode", K::string, "<MODE>", "copy", false,
     "How file bytes reach clients: copy (read + send through a pooled buffer) or splice "
     "(file -> pipe -> socket)", set_send_mode},
    {"copy-size", "XS3_COPY_SIZE", "copy_size", K::size, "<SIZE>", "256KiB", false,
     "Bytes per read + send in copy mode", set_copy_size},
    {"virtual-host-suffix", "XS3_VIRTUAL_HOST_SUFFIX", "virtual_host_suffix", K::string,
     "<HOSTS>", nullptr, false,
     "The proxy's host name(s), comma-separated: a request for Host <bucket>.<name> is a "
     "virtual-hosted request for that bucket (the default of the JS and Go SDKs)",
     set_virtual_host_suffix},
    {"access-log", "XS3_ACCESS_LOG", "access_log", K::boolean, "", "false", false,
     "Log a line per request (client, method, target, status, x-cache, bytes, time, outcome)",
     set_access_log},
    {"open-files", "XS3_OPEN_FILES", "open_files", K::uint, "<N>", "1024", false,
     "Cache files of small objects kept open for the next hit (0: none)", set_open_files},
    {"open-file-max-size", "XS3_OPEN_FILE_MAX_SIZE", "open_file_max_size", K::size, "<SIZE>",
     "256KiB", false, "Largest object whose file is kept open after a hit", set_open_file_max_size},
    {"splice-size", "XS3_SPLICE_SIZE", "splice_size", K::size, "<SIZE>", "64KiB", false,
     "Bytes per file->pipe->socket splice in splice mode", set_splice_size},
    {"pipe-size", "XS3_PIPE_SIZE", "pipe_size", K::size, "<SIZE>", "1MiB", false,
     "Pipe buffer size for splicing (at least --splice-size)", set_pipe_size},
    {"admin-port", "XS3_ADMIN_PORT", "admin_port", K::uint, "<PORT>", "0", false,
     "Port for /metrics, /healthz and /readyz (0: off)", set_admin_port},
    {"metadata-ttl", "XS3_METADATA_TTL", "metadata_ttl", K::duration, "<DURATION>", "0s", false,
     "Serve cached objects without asking S3 for this long (0: always revalidate)",
     set_metadata_ttl},
    {"chunk-retries", "XS3_CHUNK_RETRIES", "chunk_retries", K::uint, "<N>", "3", false,
     "Retries of a failed chunk GET", set_chunk_retries},
    {"write-size", "XS3_WRITE_SIZE", "write_size", K::size, "<SIZE>", "512KiB", false,
     "Bytes per cache file write; each chunk in flight holds two such buffers", set_write_size},
    {"abandon-on-disconnect", "XS3_ABANDON_ON_DISCONNECT", "abandon_on_disconnect", K::boolean,
     "", "false", false, "Stop a download when its last client disconnects",
     set_abandon_on_disconnect},
    // Cache lifecycle (issue 6)
    {"min-free-space", "XS3_MIN_FREE_SPACE", "min_free_space", K::size, "<SIZE|PERCENT>", "2%",
     false, "Free space eviction keeps on the cache filesystem: bytes (10GiB) or a percentage of "
     "the filesystem (5%)", set_min_free_space},
    {"admin-bind-ip", "XS3_ADMIN_BIND_IP", "admin_bind_ip", K::ip, "<IP>", "127.0.0.1", false,
     "IP address of the admin listener (--admin-port)", set_admin_bind_ip},
    {"immutable", "XS3_IMMUTABLE", "immutable", K::boolean, "", "false", false,
     "Objects never change once written: serve cached copies without asking S3", set_immutable},
    {"stale-if-error", "XS3_STALE_IF_ERROR", "stale_if_error", K::duration, "<DURATION>", "0s",
     false, "When S3 cannot be reached, serve a cached copy up to this long past --metadata-ttl "
     "(marked x-cache: STALE; 0: never)", set_stale_if_error},
    {"preallocate", "XS3_PREALLOCATE", "preallocate", K::boolean, "", "true", false,
     "Reserve a download's disk blocks when its file is created (fallocate)", set_preallocate},
    // S3 credentials and transport (issue 5)
    {"access-key-id", "", "access_key_id", K::string, "<ID>", nullptr, false,
     "Static access key id (S3-compatible stores)", set_access_key_id, true},
    {"secret-access-key", "", "secret_access_key", K::string, "<SECRET>", nullptr, false,
     "Static secret key for access_key_id", set_secret_access_key, true},
    {"session-token", "", "session_token", K::string, "<TOKEN>", nullptr, false,
     "Session token for temporary static keys", set_session_token, true},
    {"anonymous", "XS3_ANONYMOUS", "anonymous", K::boolean, "", "false", false,
     "Send S3 requests unsigned (public buckets); no credentials are looked up", set_anonymous},
    {"anonymous-fallback", "XS3_ANONYMOUS_FALLBACK", "anonymous_fallback", K::boolean, "",
     "false", false, "Send unsigned requests when no credentials are found (else start-up fails)",
     set_anonymous_fallback},
    {"ca-bundle", "XS3_CA_BUNDLE", "ca_bundle", K::string, "<FILE>", nullptr, false,
     "CA certificates (PEM) for TLS to S3 and STS; unset: AWS_CA_BUNDLE, else the system's",
     set_ca_bundle},
    {"s3-dualstack", "XS3_S3_DUALSTACK", "s3_dualstack", K::boolean, "", "false", false,
     "Use the dual-stack (IPv4+IPv6) AWS S3 endpoint", set_s3_dualstack},
    {"s3-fips", "XS3_S3_FIPS", "s3_fips", K::boolean, "", "false", false,
     "Use the FIPS AWS S3 endpoint", set_s3_fips},
    {"upstream-first-byte-timeout", "XS3_UPSTREAM_FIRST_BYTE_TIMEOUT",
     "upstream_first_byte_timeout", K::duration, "<DURATION>", nullptr, false,
     "Time S3 has to send a response head (unset: --upstream-timeout)",
     set_upstream_first_byte_timeout},
    {"upstream-low-speed-limit", "XS3_UPSTREAM_LOW_SPEED_LIMIT", "upstream_low_speed_limit",
     K::size, "<SIZE>", "1", false,
     "Bytes per second below which a transfer counts as stalled", set_upstream_low_speed_limit},
    {"upstream-low-speed-time", "XS3_UPSTREAM_LOW_SPEED_TIME", "upstream_low_speed_time",
     K::duration, "<DURATION>", nullptr, false,
     "How long a transfer may stay below the low-speed limit (unset: --upstream-timeout)",
     set_upstream_low_speed_time},
    {"upstream-request-timeout", "XS3_UPSTREAM_REQUEST_TIMEOUT", "upstream_request_timeout",
     K::duration, "<DURATION>", "0s", false, "Limit for a whole S3 request (0: none)",
     set_upstream_request_timeout},
    {"max-attempts", "XS3_MAX_ATTEMPTS", "max_attempts", K::uint, "<N>", "3", false,
     "Attempts per S3 request, first try included (1..20)", set_max_attempts},
    {"retry-base-delay", "XS3_RETRY_BASE_DELAY", "retry_base_delay", K::duration, "<DURATION>",
     "100ms", false, "Backoff base before the first retry (doubled per retry, full jitter)",
     set_retry_base_delay},
    {"retry-max-delay", "XS3_RETRY_MAX_DELAY", "retry_max_delay", K::duration, "<DURATION>",
     "20s", false, "Longest backoff between two attempts", set_retry_max_delay},
    {"retry-budget", "XS3_RETRY_BUDGET", "retry_budget", K::uint, "<TOKENS>", "500", false,
     "Retry token bucket (retry 5, timeout 10, success +1; 0: no budget)", set_retry_budget},
    {"max-upstream-connections", "XS3_MAX_UPSTREAM_CONNECTIONS", "max_upstream_connections",
     K::uint, "<N>", "64", false, "Connections to S3 per worker", set_max_upstream_connections},
    {"max-upstream-connections-total", "XS3_MAX_UPSTREAM_CONNECTIONS_TOTAL",
     "max_upstream_connections_total", K::uint, "<N>", "0", false,
     "Connections to S3 of all workers together, shared evenly (0: no total cap)",
     set_max_upstream_connections_total},
    // HTTP/2 (issue 7)
    {"h2-max-concurrent-streams", "XS3_H2_MAX_CONCURRENT_STREAMS", "h2_max_concurrent_streams",
     K::uint, "<N>", "100", false,
     "HTTP/2 streams a client may have open on one connection; more are refused",
     set_h2_max_concurrent_streams},
    {"h2-initial-window-size", "XS3_H2_INITIAL_WINDOW_SIZE", "h2_initial_window_size", K::size,
     "<SIZE>", "65535", false,
     "HTTP/2 receive window per stream (request bodies are read and discarded)",
     set_h2_initial_window_size},
    {"h2-rapid-reset-window", "XS3_H2_RAPID_RESET_WINDOW", "h2_rapid_reset_window", K::uint,
     "<N>", "128", false,
     "Recently closed HTTP/2 streams of a connection the rapid-reset guard looks at",
     set_h2_rapid_reset_window},
    {"h2-rapid-reset-limit", "XS3_H2_RAPID_RESET_LIMIT", "h2_rapid_reset_limit", K::uint, "<N>",
     "96", false,
     "Client resets (before the answer completed) among them that close the connection with "
     "GOAWAY ENHANCE_YOUR_CALM", set_h2_rapid_reset_limit},
};
// clang-format on

constexpr size_t kOptionCount = sizeof(kOptions) / sizeof(kOptions[0]);

const OptionDescriptor* find_by_name(std::string_view name) {
    for (const auto& o : kOptions)
        if (o.name == name && !o.file_only) return &o;
    return nullptr;
}

const OptionDescriptor* find_by_toml_key(std::string_view key) {
    for (const auto& o : kOptions)
        if (!o.toml_key.empty() && o.toml_key == key) return &o;
    return nullptr;
}

size_t index_of(const OptionDescriptor* o) {
    return static_cast<size_t>(o - kOptions);
}

std::string flag(const OptionDescriptor& o) {
    if (o.file_only) return std::string(o.toml_key);
    return "--" + std::string(o.name);
}

std::string invalid_value(const OptionDescriptor& o, const Status& st) {
    return "invalid value for " + flag(o) + " (" + std::string(o.env) + "): " + st.message();
}

// ---- TOML file ----

const char* toml_type_name(toml::node_type t) {
    switch (t) {
        case toml::node_type::string:
            return "string";
        case toml::node_type::integer:
            return "integer";
        case toml::node_type::floating_point:
            return "float";
        case toml::node_type::boolean:
            return "boolean";
        case toml::node_type::date:
            return "date";
        case toml::node_type::time:
            return "time";
        case toml::node_type::date_time:
            return "date-time";
        case toml::node_type::array:
            return "array";
        case toml::node_type::table:
            return "table";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

const char* toml_expectation(ValueKind k) {
    switch (k) {
        case K::string:
        case K::ip:
        case K::log_level:
            return "a string";
        case K::uint:
            return "an integer";
        case K::size:
            return "a size (integer bytes or a string like \"1GiB\")";
        case K::duration:
            return "a duration (integer seconds or a string like \"30s\")";
        case K::boolean:
            return "a boolean";
    }
    return "a value";
}

// The TOML value as the text the setter takes, or nullopt when its type does not fit the option.
std::optional<std::string> toml_value_text(ValueKind kind, const toml::node& node) {
    bool string_ok = kind == K::string || kind == K::ip || kind == K::log_level ||
                     kind == K::size || kind == K::duration;
    bool int_ok = kind == K::uint || kind == K::size || kind == K::duration;
    if (auto s = node.as_string(); s && string_ok) return s->get();
    if (auto i = node.as_integer(); i && int_ok) return std::to_string(i->get());
    if (auto b = node.as_boolean(); b && kind == K::boolean) return b->get() ? "true" : "false";
    return std::nullopt;
}

Result<std::string> read_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bad("config file " + path + ": cannot open: " + std::strerror(errno));
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            return bad("config file " + path + ": cannot read: " + std::strerror(e));
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > (16u << 20)) {
            ::close(fd);
            return bad("config file " + path + ": larger than 16MiB");
        }
    }
    ::close(fd);
    return out;
}

// [[buckets]]: an array of tables, each a BucketConfig. Every problem names the field and line.
Status apply_buckets(const toml::node& node, const std::string& prefix, int line, Config& c) {
    const toml::array* list = node.as_array();
    if (list == nullptr)
        return bad(prefix + "'buckets' must be an array of tables ([[buckets]]) at line " +
                   std::to_string(line));
    for (const auto& item : *list) {
        const toml::table* t = item.as_table();
        int at = static_cast<int>(item.source().begin.line);
        std::string where = " in [[buckets]] at line " + std::to_string(at);
        if (t == nullptr) return bad(prefix + "each bucket must be a table" + where);
        BucketConfig b;
        b.line = at;
        for (auto&& [k, v] : *t) {
            std::string key(k.str());
            auto text = [&](bool secret) -> Result<std::string> {
                auto s = v.as_string();
                if (!s) return bad(prefix + "'" + key + "' must be a string" + where);
                if (s->get().empty()) return bad(prefix + "'" + key + "' is empty" + where);
                if (secret)
                    for (char ch : s->get())
                        if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f)
                            return bad(prefix + "'" + key +
                                       "' contains whitespace or control characters" + where);
                return s->get();
            };
            auto flag_value = [&]() -> Result<bool> {
                auto f = v.as_boolean();
                if (!f) return bad(prefix + "'" + key + "' must be true or false" + where);
                return f->get();
            };
            if (key == "name") {
                auto n = text(false);
                if (!n) return n.status();
                b.name = *n;
            } else if (key == "endpoint") {
                auto n = text(false);
                if (!n) return n.status();
                Config probe;
                if (!set_s3_endpoint_url(probe, *n).ok())
                    return bad(prefix + "'endpoint' " + quoted(*n) +
                               " is not an http:// or https:// URL" + where);
                b.endpoint = *n;
            } else if (key == "region") {
                auto n = text(false);
                if (!n) return n.status();
                b.region = *n;
            } else if (key == "path_style" || key == "anonymous" || key == "immutable") {
                auto f = flag_value();
                if (!f) return f.status();
                if (key == "path_style") b.path_style = *f;
                if (key == "anonymous") b.anonymous = *f;
                if (key == "immutable") b.immutable = *f;
            } else if (key == "access_key_id" || key == "secret_access_key" ||
                       key == "session_token") {
                auto n = text(true);
                if (!n) return n.status();
                (key == "access_key_id"       ? b.access_key_id
                 : key == "secret_access_key" ? b.secret_access_key
                                              : b.session_token) = *n;
            } else {
                return bad(prefix + "unknown key " + quoted(key) + where +
                           " (use name, endpoint, region, path_style, access_key_id, "
                           "secret_access_key, session_token, anonymous, immutable)");
            }
        }
        if (b.name.empty()) return bad(prefix + "a bucket needs a 'name'" + where);
        if (b.access_key_id.has_value() != b.secret_access_key.has_value())
            return bad(prefix + "bucket '" + b.name +
                       "' needs both access_key_id and secret_access_key" + where);
        if (b.anonymous && b.access_key_id)
            return bad(prefix + "bucket '" + b.name + "' has keys and anonymous = true" + where);
        for (const auto& other : c.buckets)
            if (other.name == b.name)
                return bad(prefix + "bucket '" + b.name + "' is listed twice" + where);
        c.buckets.push_back(std::move(b));
    }
    return {};
}

Status apply_toml_file(const std::string& path, Config& c, std::vector<bool>& provided) {
    auto text = read_file(path);
    if (!text) return text.status();
    std::string prefix = "config file " + path + ": ";
    toml::table table;
    try {
        table = toml::parse(*text, path);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        return bad(prefix + std::string(e.description()) + " at line " +
                   std::to_string(where.line) + ", column " + std::to_string(where.column));
    }
    // Keys are applied in file order so the first bad line is the one reported.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [k, v] : table)
        entries.emplace_back(&k, &v);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        return a.first->source().begin.line < b.first->source().begin.line;
    });
    for (const auto& [key, node] : entries) {
        std::string line = std::to_string(key->source().begin.line);
        if (key->str() == "buckets") {
            Status st = apply_buckets(*node, prefix, static_cast<int>(key->source().begin.line), c);
            if (!st) return st;
            continue;
        }
        const OptionDescriptor* o = find_by_toml_key(key->str());
        if (!o) return bad(prefix + "unknown key " + quoted(key->str()) + " at line " + line);
        auto value = toml_value_text(o->kind, *node);
        if (!value)
            return bad(prefix + flag(*o) + " expects " + toml_expectation(o->kind) + ", got " +
                       toml_type_name(node->type()) + " at line " + line);
        Status st = o->set(c, *value);
        if (!st)
            return bad(prefix + "invalid value for " + flag(*o) + " at line " + line + ": " +
                       st.message());
        provided[index_of(o)] = true;
    }
    return {};
}

// ---- cross-option checks ----

unsigned online_cpus() {
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<unsigned>(n) : 1;
}

Status validate(Config& c, const std::vector<bool>& provided) {
    for (size_t i = 0; i < kOptionCount; ++i) {
        const auto& o = kOptions[i];
        // With a bucket list the bucket comes with each request (/<bucket>/<key>).
        if (o.name == "bucket" && !c.buckets.empty()) continue;
        if (o.required && !provided[i])
            return bad(flag(o) + " is required (or set " + std::string(o.env) + ")");
    }
    if (c.min_chunk_size > c.max_chunk_size)
        return bad("--min-chunk-size (" + format_size(c.min_chunk_size) +
                   ") must not exceed --max-chunk-size (" + format_size(c.max_chunk_size) + ")");
    if (c.gc_target_percent >= c.gc_watermark_percent)
        return bad("--gc-target-percent (" + std::to_string(c.gc_target_percent) +
                   ") must be below --gc-watermark-percent (" +
                   std::to_string(c.gc_watermark_percent) + ")");
    if (c.splice_size > c.pipe_size)
        return bad("--splice-size (" + format_size(c.splice_size) +
                   ") must not exceed --pipe-size (" + format_size(c.pipe_size) + ")");
    if (c.h2_rapid_reset_limit >= c.h2_rapid_reset_window)
        return bad("--h2-rapid-reset-limit (" + std::to_string(c.h2_rapid_reset_limit) +
                   ") must be below --h2-rapid-reset-window (" +
                   std::to_string(c.h2_rapid_reset_window) + ")");
    if (c.admin_port != 0 && c.admin_port == c.port)
        return bad("--admin-port (" + std::to_string(c.admin_port) + ") must differ from --port");
    c.chunk_size = std::clamp(c.chunk_size, c.min_chunk_size, c.max_chunk_size);
    if (c.workers == 0) c.workers = online_cpus();
    // S3 credentials and transport (issue 5). Messages name keys, never their values.
    if (c.access_key_id.has_value() != c.secret_access_key.has_value())
        return bad(std::string(c.access_key_id ? "access_key_id" : "secret_access_key") +
                   " is set in the config file but " +
                   (c.access_key_id ? "secret_access_key" : "access_key_id") + " is not");
    if (c.session_token && !c.access_key_id)
        return bad(
            "session_token is set in the config file without access_key_id and "
            "secret_access_key");
    if (c.anonymous && c.access_key_id)
        return bad("--anonymous cannot be combined with access_key_id/secret_access_key");
    if ((c.s3_fips || c.s3_dualstack) && c.s3_endpoint_url)
        return bad(std::string(c.s3_fips ? "--s3-fips" : "--s3-dualstack") +
                   " selects an AWS endpoint and cannot be combined with --s3-endpoint-url");
    if (c.retry_base_delay > c.retry_max_delay)
        return bad("--retry-base-delay (" + std::to_string(c.retry_base_delay.count()) +
                   "ms) must not exceed --retry-max-delay (" +
                   std::to_string(c.retry_max_delay.count()) + "ms)");
    if (c.max_upstream_connections_total != 0 && c.max_upstream_connections_total < c.workers)
        return bad("--max-upstream-connections-total (" +
                   std::to_string(c.max_upstream_connections_total) +
                   ") must be at least the number of workers (" + std::to_string(c.workers) +
                   ") or 0");
    return {};
}

struct CliValue {
    const OptionDescriptor* option;
    std::string text;
};

}  // namespace

std::span<const OptionDescriptor> option_table() {
    return {kOptions, kOptionCount};
}

Config default_config() {
    Config c;
    for (const auto& o : kOptions) {
        if (!o.default_value) continue;
        Status st = o.set(c, o.default_value);
        (void)st;  // the table's own defaults; the unit tests check that each one parses
    }
    return c;
}

Result<Config> load_config(int argc, const char* const* argv,
                           const std::function<const char*(const char*)>& getenv_fn) {
    // 1. Read the command line first: --help and syntax errors win over everything else.
    std::vector<CliValue> cli;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help" || arg == "-V" || arg == "--version") {
            Config c = default_config();
            c.action =
                (arg == "-h" || arg == "--help") ? Config::Action::help : Config::Action::version;
            return c;
        }
        if (arg.size() <= 2 || arg.substr(0, 2) != "--") {
            if (arg.size() > 1 && arg[0] == '-') return bad("unknown option " + std::string(arg));
            return bad("unexpected argument " + quoted(arg));
        }
        std::string_view body = arg.substr(2);
        size_t eq = body.find('=');
        std::string_view name = body.substr(0, eq);
        const OptionDescriptor* o = find_by_name(name);
        if (!o) return bad("unknown option --" + std::string(name));
        std::string text;
        if (eq != std::string_view::npos) {
            text = std::string(body.substr(eq + 1));
        } else if (o->kind == K::boolean) {
            text = "true";  // a bare boolean flag; "--direct-io false" is not accepted
        } else {
            // "--bucket --port 1" is a forgotten value, not a bucket named "--port".
            if (i + 1 >= argc || std::string_view(argv[i + 1]).substr(0, 2) == "--")
                return bad(flag(*o) + " needs a value");
            text = argv[++i];
        }
        cli.push_back({o, std::move(text)});
    }

    Config c = default_config();
    std::vector<bool> provided(kOptionCount, false);

    // 2. The file named by --config (last one wins) or XS3_CONFIG.
    std::optional<std::string> file;
    for (const auto& v : cli)
        if (v.option->name == "config") file = v.text;
    if (!file) {
        const char* env = getenv_fn("XS3_CONFIG");
        if (env && *env) file = env;
    }
    if (file) {
        if (file->empty())
            return bad("invalid value for --config (XS3_CONFIG): an empty value is not allowed");
        Status st = apply_toml_file(*file, c, provided);
        if (!st) return st;
    }

    // 3. The environment.
    for (const auto& o : kOptions) {
        if (o.file_only || o.env.empty()) continue;
        std::string env(o.env);
        const char* v = getenv_fn(env.c_str());
        if (!v || !*v) continue;
        Status st = o.set(c, v);
        if (!st) return bad(invalid_value(o, st));
        provided[index_of(&o)] = true;
    }

    // 4. The command line.
    for (const auto& v : cli) {
        Status st = v.option->set(c, v.text);
        if (!st) return bad(invalid_value(*v.option, st));
        provided[index_of(v.option)] = true;
    }

    Status st = validate(c, provided);
    if (!st) return st;
    return c;
}

std::string version_text() {
    return std::string("xs3lerator ") + XS3_VERSION + "\n";
}

std::string help_text() {
    std::string out;
    out += "xs3lerator " XS3_VERSION " - an io_uring caching proxy in front of Amazon S3\n\n";
    out += "Usage: xs3lerator [OPTIONS]\n\n";
    out += "Each option can also be set by its environment variable or, under the name shown as\n";
    out += "[toml], in the file given by --config. Command line > environment > file > default.\n";
    out += "Sizes take B, KiB, MiB, GiB, TiB (1024) or KB, MB, GB, TB (1000); durations take\n";
    out += "ms, s, m, h (a bare number is seconds).\n\nOptions:\n";
    for (const auto& o : kOptions) {
        if (o.file_only) continue;
        out += "      --";
        out += o.name;
        if (o.kind == K::boolean) {
            out += "[=<BOOL>]";
        } else {
            out += ' ';
            out += o.value_name;
        }
        out += "\n          ";
        out += o.help;
        out += "\n          [env: ";
        out += o.env;
        out += ']';
        if (!o.toml_key.empty()) {
            out += " [toml: ";
            out += o.toml_key;
            out += ']';
        }
        if (o.default_value) {
            out += " [default: ";
            out += o.default_value;
            out += ']';
        } else if (o.required) {
            out += " [required]";
        }
        out += '\n';
    }
    out += "\nConfig-file-only options (secrets are never taken from the command line):\n";
    for (const auto& o : kOptions) {
        if (!o.file_only) continue;
        out += "      ";
        out += o.toml_key;
        out += " = ";
        out += o.value_name;
        out += "\n          ";
        out += o.help;
        out += '\n';
    }
    out += "\n  -h, --help\n          Print this help\n";
    out += "  -V, --version\n          Print the version\n";
    return out;
}

}  // namespace xs3::config
