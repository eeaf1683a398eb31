// The typed process configuration and its loader: command line > XS3_* environment > TOML file >
// defaults. Every option is described once, as a row of option_table() (option_table.cpp); --help,
// the environment, the TOML file and the command line are all driven from that table.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xs3/base/log.hpp"
#include "xs3/base/status.hpp"
#include "xs3/cache/eviction_policy.hpp"
#include "xs3/config/values.hpp"

namespace xs3::config {

// One entry of the TOML file's [[buckets]] list: a bucket clients may ask for as /<bucket>/<key>,
// with what it needs that differs from the global settings.
struct BucketConfig {
    std::string name;
    std::optional<std::string> endpoint;  // an http(s) URL; none: the global endpoint
    std::optional<std::string> region;    // none: the global region
    std::optional<bool> path_style;       // none: the global --s3-force-path-style
    // Static keys for this bucket (S3-compatible stores with their own accounts); none: the
    // global credentials. Never echoed in messages.
    std::optional<std::string> access_key_id;
    std::optional<std::string> secret_access_key;
    std::optional<std::string> session_token;
    bool anonymous = false;  // unsigned requests for this bucket
    bool immutable = false;  // never revalidate its objects
    int line = 0;            // where it was given, for messages
};

// One entry of the TOML file's [[clients]] list: a key pair clients sign their requests with
// (SigV4, as for S3), and the buckets it may read (empty: all served). Config-file only: the
// secret never comes from the command line or the environment, and no message echoes it.
struct ClientConfig {
    std::string access_key_id;
    std::string secret_access_key;
    std::vector<std::string> buckets;
    int line = 0;  // where it was given, for messages
};

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
    std::chrono::milliseconds send_timeout{0};
    uint16_t admin_port = 0;  // 0: no admin listener
    LogLevel log_level = LogLevel::info;

    // S3.
    std::string bucket;  // the bucket served at /<key>; may be empty when `buckets` is given
    // [[buckets]] in the TOML file: clients then name the bucket in the path, /<bucket>/<key>
    // (the path-style form SDKs use with a custom endpoint); --bucket, if set, is one of them.
    std::vector<BucketConfig> buckets;
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
    uint64_t write_size = 0;  // bytes per cache file write; two buffers of it per chunk in flight
    bool abandon_on_disconnect = false;

    // Serving.
    std::string send_mode;  // "copy" (read + send) or "splice" (file -> pipe -> socket)
    uint64_t copy_size = 0;
    uint64_t copy_depth = 0;
    uint64_t copy_memory = 0;
    uint64_t splice_size = 0;
    uint64_t pipe_size = 0;
    bool access_log = false;
    std::vector<std::string> virtual_host_suffixes;  // lowercase host names, no port
    unsigned open_files = 0;                         // hits' files kept open (LRU); 0: none
    uint64_t open_file_max_bytes = 0;                // only objects up to this size are kept open

    // Cache lifecycle.
    cache::FreeSpaceFloor min_free_space;         // bytes, or a percentage of the filesystem
    std::string admin_bind_ip;                    // a validated IPv4 or IPv6 literal
    bool immutable = false;                       // cached objects never change: never revalidate
    std::chrono::milliseconds stale_if_error{0};  // serve stale this long past the TTL if S3 fails
    bool preallocate = true;  // reserve a download's blocks when its file is made

    // Client access control. With clients, every request must be signed by one of
    // them; with allow_clients, connections from other addresses are refused at accept.
    std::vector<ClientConfig> clients;
    std::optional<std::string> allow_clients;  // a validated CIDR list (net::CidrSet::parse)
    // Bearer token the admin listener's mutating routes (purge, warm) require: the file's
    // admin_token, or the first line of admin_token_file (read by main).
    std::optional<std::string> admin_token;
    std::optional<std::string> admin_token_file;

    // HTTP/2. The header list limit is max_header_bytes, as for HTTP/1.1.
    uint32_t h2_max_concurrent_streams = 0;
    uint32_t h2_initial_window_size = 0;
    uint32_t h2_rapid_reset_window = 0;
    uint32_t h2_rapid_reset_limit = 0;

    // The Rust xs3lerator's --debug-trace: a JSON Lines trace file (base/trace.hpp).
    std::optional<std::string> debug_trace;
    uint64_t debug_trace_queue = 0;  // events queued for the trace writer

    // A Range with more parts (after coalescing) than this gets the whole object (200).
    unsigned max_ranges = 0;

    // S3 credentials and transport.
    // Static keys come only from the config file (never the command line, where `ps` shows
    // them); the AWS_* variables are the environment's way in. Messages never echo them.
    std::optional<std::string> access_key_id;
    std::optional<std::string> secret_access_key;
    std::optional<std::string> session_token;
    bool anonymous = false;           // unsigned requests; the credential chain is skipped
    bool anonymous_fallback = false;  // unsigned requests when the chain finds nothing
    std::optional<std::string> ca_bundle;
    bool s3_dualstack = false;
    bool s3_fips = false;
    std::optional<std::chrono::milliseconds> upstream_first_byte_timeout;  // none: upstream_timeout
    uint64_t upstream_low_speed_limit = 0;                                 // bytes per second
    std::optional<std::chrono::milliseconds> upstream_low_speed_time;      // none: upstream_timeout
    std::chrono::milliseconds upstream_request_timeout{0};                 // 0: none
    unsigned max_attempts = 0;  // S3 requests, first try included
    std::chrono::milliseconds retry_base_delay{0};
    std::chrono::milliseconds retry_max_delay{0};
    unsigned retry_budget = 0;                    // retry tokens; 0: no budget
    unsigned max_upstream_connections = 0;        // per worker
    unsigned max_upstream_connections_total = 0;  // all workers; 0: no total cap

    // Fleet: peer fill across cache nodes. One of peers / peers_dns makes a fleet.
    std::optional<std::string> peers;      // "host:port,host:port,..." (syntax checked)
    std::optional<std::string> peers_dns;  // "name:port" of a headless Service
    std::optional<std::string> peer_self;  // "ip[:port]" (port defaults to --port)
    std::chrono::milliseconds peers_dns_interval{0};
    std::chrono::milliseconds peer_probe_interval{0};
    std::chrono::milliseconds peer_backoff{0};
    std::chrono::milliseconds peer_timeout{0};
    std::optional<std::chrono::milliseconds> peer_probe_timeout;
    std::optional<std::string> fleet_token;       // config file only; never echoed
    std::optional<std::string> fleet_token_file;  // read at start-up (app/fleet_setup)
};

// One option: its name, the Config member it fills and how (a value type from values.hpp),
// its help, its default. The environment variable (XS3_<NAME>) and the TOML key (<name> with '_')
// are derived from the name, so a row is all an option needs; see option_table.cpp.
struct OptionDescriptor {
    std::string_view name;  // command-line flag without the leading "--"
    std::string env;        // XS3_<NAME>; empty for file-only options
    std::string toml_key;   // <name> with '_' for '-'; empty: not settable from the file
    ValueKind kind;
    std::string_view value_name;  // "<SIZE>" in --help
    const char* default_value;    // text fed to `set` before the other layers; nullptr: none
    bool required;
    std::string_view help;
    // Settable only in the config file (secrets): no flag, no environment variable; `name` is
    // then only the option's identity in the table, and messages name `toml_key`.
    bool file_only;

    // Parses `text` into the member this option fills. The error message names the value, not
    // the option; the loader adds which option and which source it came from.
    Status set(Config& config, std::string_view text) const { return assign(config, text); }

    Status (*assign)(Config& config, std::string_view text);
};

std::span<const OptionDescriptor> option_table();

// Loads the configuration. argv[0] is the program name. getenv_fn returns nullptr for an unset
// variable; an empty value counts as unset. On --help/-h or --version/-V the result has
// action == help/version and nothing else is validated.
Result<Config> load_config(int argc, const char* const* argv,
                           const std::function<const char*(const char*)>& getenv_fn);

// The defaults and a TOML document only (no command line, no environment), with the same checks
// as load_config; `name` stands for the file in messages. For tests and fuzzing.
Result<Config> load_config_text(std::string_view toml_text, std::string_view name);

// Only the table's defaults; required options stay empty. For tests and tools.
Config default_config();

std::string help_text();
std::string version_text();

}  // namespace xs3::config
