// The typed process configuration and its loader: command line > XS3_* environment > TOML file >
// defaults. Every option is described once, in option_table(); --help, the environment, the TOML
// file and the command line are all driven from that table.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "xs3/base/log.hpp"
#include "xs3/base/status.hpp"

namespace xs3::config {

struct Config {
    // What main should do: run the proxy, or print help_text()/version_text() and exit 0.
    enum class Action { run, help, version };
    Action action = Action::run;

    // Plain member initialisers are zero values; the real defaults live in option_table() and are
    // applied by load_config() and default_config().
    std::optional<std::string> config_file;

    // Listener and HTTP.
    std::string bind_ip;  // a validated IPv4 or IPv6 literal
    uint16_t port = 0;
    unsigned workers = 0;  // load_config resolves 0 to the number of online CPUs
    uint64_t max_connections = 0;
    uint64_t max_header_bytes = 0;
    std::chrono::milliseconds idle_timeout{0};
    std::chrono::milliseconds header_timeout{0};
    uint16_t admin_port = 0;  // 0: no admin listener
    LogLevel log_level = LogLevel::info;

    // S3.
    std::string bucket;
    std::optional<std::string> region;  // none: resolved later, us-east-1 as the last resort
    std::optional<std::string> s3_endpoint_url;
    bool s3_force_path_style = false;
    std::chrono::milliseconds upstream_connect_timeout{0};
    std::chrono::milliseconds upstream_timeout{0};  // first byte / low-speed limit
    std::chrono::milliseconds metadata_ttl{0};

    // Cache.
    std::string cache_dir;
    uint64_t max_cache_size = 0;
    unsigned cache_hierarchy_level = 0;
    bool direct_io = false;
    std::chrono::seconds gc_interval{0};
    unsigned gc_watermark_percent = 0;
    unsigned gc_target_percent = 0;

    // Fetching.
    unsigned max_concurrency = 0;
    uint64_t min_chunk_size = 0;
    uint64_t max_chunk_size = 0;
    uint64_t chunk_size = 0;  // load_config clamps it into [min_chunk_size, max_chunk_size]
    unsigned chunk_retries = 0;
    bool abandon_on_disconnect = false;

    // Serving.
    std::string send_mode;  // "copy" (read + send) or "splice" (file -> pipe -> socket)
    uint64_t copy_size = 0;
    uint64_t splice_size = 0;
    uint64_t pipe_size = 0;

    // HTTP/2 (issue 7). The header list limit is max_header_bytes, as for HTTP/1.1.
    uint32_t h2_max_concurrent_streams = 0;
    uint32_t h2_initial_window_size = 0;
    uint32_t h2_rapid_reset_window = 0;
    uint32_t h2_rapid_reset_limit = 0;

    // Accepted for compatibility with the Rust xs3lerator; not used.
    std::optional<std::string> debug_trace;
};

// How an option's value is written; decides bare-flag handling on the command line, which TOML
// types are accepted, and the <VALUE> shown in --help.
enum class ValueKind { string, ip, uint, size, duration, boolean, log_level };

struct OptionDescriptor {
    std::string_view name;      // command-line flag without the leading "--"
    std::string_view env;       // environment variable
    std::string_view toml_key;  // key in the config file; empty: not settable from the file
    ValueKind kind;
    std::string_view value_name;  // "<SIZE>" in --help
    const char* default_value;    // text fed to `set` before the other layers; nullptr: none
    bool required;
    std::string_view help;
    // Parses `text` into the config. The error message names the value, not the option; the
    // loader adds which option and which source it came from.
    Status (*set)(Config& config, std::string_view text);
};

std::span<const OptionDescriptor> option_table();

// Loads the configuration. argv[0] is the program name. getenv_fn returns nullptr for an unset
// variable; an empty value counts as unset. On --help/-h or --version/-V the result has
// action == help/version and nothing else is validated.
Result<Config> load_config(int argc, const char* const* argv,
                           const std::function<const char*(const char*)>& getenv_fn);

// Only the table's defaults; required options stay empty. For tests and tools.
Config default_config();

std::string help_text();
std::string version_text();

}  // namespace xs3::config
