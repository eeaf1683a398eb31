// The option table: every option of xs3lerator, declared once. A row names the option, the Config
// member it fills and the value type that parses it (values.hpp), its <VALUE> in --help, its
// default and its help text; the environment variable (XS3_<NAME>) and the TOML key (<name> with
// '_') follow from the name. The command line, the environment, the TOML file, --help and the
// required-option check all read this table; there is no setter per option.
//
// Adding an option: a Config member (config.hpp), a row here, and a check in validate()
// (config.cpp) if it depends on another option. See the notes in docs/design.md.
#include "xs3/config/option_table.hpp"

#include <type_traits>
#include <vector>

#include "xs3/base/units.hpp"

namespace xs3::config {
namespace {

// Stores a parsed value into a member of type Field. Whole numbers are narrowed only after the
// value type's range was checked against the member at compile time (see bind).
template <class Field, class V>
void store(Field& field, V&& value) {
    if constexpr (std::is_integral_v<Field> && std::is_integral_v<std::decay_t<V>>)
        field = static_cast<Field>(value);
    else
        field = std::forward<V>(value);
}

template <class T>
struct member_of;
template <class M>
struct member_of<M Config::*> {
    using type = M;
};

template <auto Member, class Value>
Status assign(Config& config, std::string_view text) {
    auto v = Value::parse(text);
    if (!v) return v.status();
    store(config.*Member, std::move(*v));
    return {};
}

// The typed binder: a Config member and the value type that fills it. A whole-number value type
// must fit the member (a 0..65535 port in a uint16_t), checked here, so a row cannot truncate.
template <auto Member, class Value>
constexpr Binding bind() {
    using Field = typename member_of<decltype(Member)>::type;
    if constexpr (std::is_integral_v<Field> && !std::is_same_v<Field, bool>)
        static_assert(Value::max <= std::numeric_limits<Field>::max(),
                      "the value type's range does not fit the Config member");
    return Binding{Value::kind, &assign<Member, Value>};
}

constexpr bool kPositive = true;
constexpr bool kZeroAllowed = false;

// clang-format off
const OptionRow kRows[] = {
    {"config", bind<&Config::config_file, Text>(), "<FILE>", nullptr,
     "TOML file with further options (keys are the option names with '_' for '-')", kNotInFile},
    // Options of the Rust xs3lerator: names, variables and defaults unchanged.
    {"bind-ip", bind<&Config::bind_ip, Address>(), "<IP>", "0.0.0.0",
     "IP address to listen on"},
    {"port", bind<&Config::port, Port>(), "<PORT>", "8080",
     "TCP port to listen on (0: a free port, the same for every worker; the log says which)"},
    {"bucket", bind<&Config::bucket, Text>(), "<BUCKET>", nullptr,
     "S3 bucket name (served at /<key>; optional when the config file lists [[buckets]])", kRequired},
    {"region", bind<&Config::region, Text>(), "<REGION>", nullptr,
     "AWS region; unset: taken from the AWS environment/profile, else us-east-1"},
    {"s3-endpoint-url", bind<&Config::s3_endpoint_url, Url>(), "<URL>", nullptr,
     "S3 endpoint URL override (S3-compatible stores, emulators)"},
    {"s3-force-path-style", bind<&Config::s3_force_path_style, Flag>(), "", "false",
     "Use path-style S3 addressing (bucket in the path, not the host name)"},
    {"cache-dir", bind<&Config::cache_dir, Text>(), "<PATH>", nullptr,
     "Local cache directory", kRequired},
    {"max-cache-size", bind<&Config::max_cache_size, Size<>>(), "<SIZE>", nullptr,
     "Maximum total cache size, e.g. 100GiB or 500GB", kRequired},
    {"cache-hierarchy-level", bind<&Config::cache_hierarchy_level, Whole<1, 12>>(), "<N>", "4",
     "Cache directory depth, one hex digit per level (1..12; 4 -> e/8/b/0/<hash>)"},
    {"max-concurrency", bind<&Config::max_concurrency, Whole<1, 65536>>(), "<N>", "32",
     "Maximum parallel ranged GETs per object download"},
    {"min-chunk-size", bind<&Config::min_chunk_size, Size<1>>(), "<SIZE>", "1MiB",
     "Smallest upstream chunk"},
    {"max-chunk-size", bind<&Config::max_chunk_size, Size<1>>(), "<SIZE>", "256MiB",
     "Largest upstream chunk"},
    {"gc-interval-seconds", bind<&Config::gc_interval, Seconds<1, 366 * 24 * 3600>>(), "<S>", "15",
     "Seconds between cache eviction scans"},
    {"gc-watermark-percent", bind<&Config::gc_watermark_percent, Whole<1, 100>>(), "<P>", "95",
     "Eviction starts when the cache reaches this percentage of --max-cache-size"},
    {"gc-target-percent", bind<&Config::gc_target_percent, Whole<1, 99>>(), "<P>", "90",
     "Eviction stops when the cache is down to this percentage of --max-cache-size"},
    {"debug-trace", bind<&Config::debug_trace, Text>(), "<PATH>", nullptr,
     "Append a JSON Lines trace of requests, downloads and chunks to PATH (reopened on SIGHUP)"},
    // Options new in this implementation.
    {"workers", bind<&Config::workers, Whole<0, 1024>>(), "<N>", "0",
     "Worker threads, one io_uring each (0: one per online CPU)"},
    {"log-level", bind<&Config::log_level, LogLevelName>(), "<LEVEL>", "info",
     "Log level: debug, info, warn, error or off"},
    {"chunk-size", bind<&Config::chunk_size, Size<1>>(), "<SIZE>", "8MiB",
     "Preferred upstream chunk, clamped into [--min-chunk-size, --max-chunk-size]"},
    {"max-connections", bind<&Config::max_connections, Whole<1>>(), "<N>", "10000",
     "Maximum open client connections"},
    {"max-header-bytes", bind<&Config::max_header_bytes, Size<1024>>(), "<SIZE>", "16KiB",
     "Largest accepted request header block (HTTP/1.1), and header list (HTTP/2)"},
    {"idle-timeout", bind<&Config::idle_timeout, Duration<kPositive>>(), "<DURATION>", "60s",
     "Close client connections idle for this long"},
    {"header-timeout", bind<&Config::header_timeout, Duration<kPositive>>(), "<DURATION>", "10s",
     "Time a client has to send a complete request header, from its first byte"},
    {"send-timeout", bind<&Config::send_timeout, Duration<kZeroAllowed>>(), "<DURATION>", "60s",
     "Close a connection (reset an HTTP/2 stream) whose answer makes no progress for this long: "
     "the client stopped reading (0: never)"},
    {"upstream-connect-timeout", bind<&Config::upstream_connect_timeout, Duration<kPositive>>(), "<DURATION>", "5s",
     "Connect timeout towards S3"},
    {"upstream-timeout", bind<&Config::upstream_timeout, Duration<kPositive>>(), "<DURATION>", "30s",
     "Limit for S3's first byte and for stalled transfers"},
    {"direct-io", bind<&Config::direct_io, Flag>(), "", "false",
     "Write cache files with O_DIRECT"},
    {"send-mode", bind<&Config::send_mode, SendMode>(), "<MODE>", "copy",
     "How file bytes reach clients: copy (read + send through a pooled buffer) or splice "
     "(file -> pipe -> socket)"},
    {"copy-size", bind<&Config::copy_size, Size<4 * KiB, 64 * MiB>>(), "<SIZE>", "1MiB",
     "Bytes per read + send in copy mode"},
    {"copy-depth", bind<&Config::copy_depth, Whole<1, 16>>(), "<N>", "2",
     "Copy-mode buffers per connection: reads of the next ones overlap the send"},
    {"copy-memory", bind<&Config::copy_memory, Size<1 * MiB, 1024 * GiB>>(), "<SIZE>", "64MiB",
     "Copy-mode buffers of all connections together (beyond it, one of at most 256KiB per connection)"},
    {"virtual-host-suffix", bind<&Config::virtual_host_suffixes, HostSuffixes>(), "<HOSTS>", nullptr,
     "The proxy's host name(s), comma-separated: a request for Host <bucket>.<name> is a "
     "virtual-hosted request for that bucket (the default of the JS and Go SDKs)"},
    {"access-log", bind<&Config::access_log, Flag>(), "", "false",
     "Log a line per request (client, method, target, status, x-cache, bytes, time, outcome)"},
    {"debug-trace-queue", bind<&Config::debug_trace_queue, Whole<2, 1 << 24>>(), "<N>", "65536",
     "Trace events queued for the trace writer; more are dropped and counted"},
    {"max-ranges", bind<&Config::max_ranges, Whole<1, 1000>>(), "<N>", "64",
     "Most parts of a multipart/byteranges answer; a Range with more gets the whole object"},
    {"open-files", bind<&Config::open_files, Whole<0, 1000000>>(), "<N>", "1024",
     "Cache files of small objects kept open for the next hit (0: none)"},
    {"open-file-max-size", bind<&Config::open_file_max_bytes, Size<0, 64 * MiB>>(), "<SIZE>", "256KiB",
     "Largest object whose file is kept open after a hit"},
    {"splice-size", bind<&Config::splice_size, Size<4 * KiB>>(), "<SIZE>", "1MiB",
     "Bytes per file->pipe->socket splice in splice mode (if not given, at most --pipe-size)"},
    {"pipe-size", bind<&Config::pipe_size, Size<4 * KiB>>(), "<SIZE>", "1MiB",
     "Pipe buffer size for splicing (at least --splice-size)"},
    {"admin-port", bind<&Config::admin_port, Port>(), "<PORT>", "0",
     "Port for /metrics, /healthz and /readyz (0: off)"},
    {"metadata-ttl", bind<&Config::metadata_ttl, Duration<kZeroAllowed>>(), "<DURATION>", "0s",
     "Serve cached objects without asking S3 for this long (0: always revalidate)"},
    {"chunk-retries", bind<&Config::chunk_retries, Whole<0, 100>>(), "<N>", "3",
     "Retries of a failed chunk GET"},
    {"write-size", bind<&Config::write_size, Size<64 * KiB, 16 * MiB, 4 * KiB>>(), "<SIZE>", "512KiB",
     "Bytes per cache file write; each chunk in flight holds two such buffers"},
    {"abandon-on-disconnect", bind<&Config::abandon_on_disconnect, Flag>(), "", "false",
     "Stop a download when its last client disconnects"},
    {"min-free-space", bind<&Config::min_free_space, FreeSpace>(), "<SIZE|PERCENT>", "2%",
     "Free space eviction keeps on the cache filesystem: bytes (10GiB) or a percentage of "
     "the filesystem (5%)"},
    {"admin-bind-ip", bind<&Config::admin_bind_ip, Address>(), "<IP>", "127.0.0.1",
     "IP address of the admin listener (--admin-port)"},
    {"immutable", bind<&Config::immutable, Flag>(), "", "false",
     "Objects never change once written: serve cached copies without asking S3"},
    {"stale-if-error", bind<&Config::stale_if_error, Duration<kZeroAllowed>>(), "<DURATION>", "0s",
     "When S3 cannot be reached, serve a cached copy up to this long past --metadata-ttl "
     "(marked x-cache: STALE; 0: never)"},
    {"preallocate", bind<&Config::preallocate, Flag>(), "", "true",
     "Reserve a download's disk blocks when its file is created (fallocate)"},
    {"access-key-id", bind<&Config::access_key_id, Secret>(), "<ID>", nullptr,
     "Static access key id (S3-compatible stores)", kFileOnly},
    {"secret-access-key", bind<&Config::secret_access_key, Secret>(), "<SECRET>", nullptr,
     "Static secret key for access_key_id", kFileOnly},
    {"session-token", bind<&Config::session_token, Secret>(), "<TOKEN>", nullptr,
     "Session token for temporary static keys", kFileOnly},
    {"anonymous", bind<&Config::anonymous, Flag>(), "", "false",
     "Send S3 requests unsigned (public buckets); no credentials are looked up"},
    {"anonymous-fallback", bind<&Config::anonymous_fallback, Flag>(), "", "false",
     "Send unsigned requests when no credentials are found (else start-up fails)"},
    {"ca-bundle", bind<&Config::ca_bundle, Text>(), "<FILE>", nullptr,
     "CA certificates (PEM) for TLS to S3 and STS; unset: AWS_CA_BUNDLE, else the system's"},
    {"s3-dualstack", bind<&Config::s3_dualstack, Flag>(), "", "false",
     "Use the dual-stack (IPv4+IPv6) AWS S3 endpoint"},
    {"s3-fips", bind<&Config::s3_fips, Flag>(), "", "false",
     "Use the FIPS AWS S3 endpoint"},
    {"upstream-first-byte-timeout", bind<&Config::upstream_first_byte_timeout, Duration<kPositive>>(), "<DURATION>", nullptr,
     "Time S3 has to send a response head (unset: --upstream-timeout)"},
    {"upstream-low-speed-limit", bind<&Config::upstream_low_speed_limit, Size<1>>(), "<SIZE>", "1",
     "Bytes per second below which a transfer counts as stalled"},
    {"upstream-low-speed-time", bind<&Config::upstream_low_speed_time, Duration<kPositive>>(), "<DURATION>", nullptr,
     "How long a transfer may stay below the low-speed limit (unset: --upstream-timeout)"},
    {"upstream-request-timeout", bind<&Config::upstream_request_timeout, Duration<kZeroAllowed>>(), "<DURATION>", "0s",
     "Limit for a whole S3 request (0: none)"},
    {"max-attempts", bind<&Config::max_attempts, Whole<1, 20>>(), "<N>", "3",
     "Attempts per S3 request, first try included (1..20)"},
    {"retry-base-delay", bind<&Config::retry_base_delay, Duration<kPositive>>(), "<DURATION>", "100ms",
     "Backoff base before the first retry (doubled per retry, full jitter)"},
    {"retry-max-delay", bind<&Config::retry_max_delay, Duration<kPositive>>(), "<DURATION>", "20s",
     "Longest backoff between two attempts"},
    {"retry-budget", bind<&Config::retry_budget, Whole<0, 1000000>>(), "<TOKENS>", "500",
     "Retry token bucket (retry 5, timeout 10, success +1; 0: no budget)"},
    {"max-upstream-connections", bind<&Config::max_upstream_connections, Whole<1, 100000>>(), "<N>", "64",
     "Connections to S3 per worker"},
    {"max-upstream-connections-total", bind<&Config::max_upstream_connections_total, Whole<0, 10000000>>(), "<N>", "0",
     "Connections to S3 of all workers together, shared evenly (0: no total cap)"},
    {"allow-clients", bind<&Config::allow_clients, CidrList>(), "<CIDR>[,<CIDR>...]", nullptr,
     "Accept connections only from these addresses (IPv4/IPv6 CIDR blocks or single addresses); "
     "others are closed at accept"},
    {"admin-token", bind<&Config::admin_token, Token>(), "<TOKEN>", nullptr,
     "Bearer token the admin listener's purge and warm routes require (at least 16 characters)",
     kFileOnly},
    {"admin-token-file", bind<&Config::admin_token_file, Text>(), "<FILE>", nullptr,
     "File whose first line is the admin bearer token (instead of admin_token)"},
    {"h2-max-concurrent-streams", bind<&Config::h2_max_concurrent_streams, Whole<1, 10000>>(), "<N>", "100",
     "HTTP/2 streams a client may have open on one connection; more are refused"},
    {"h2-initial-window-size", bind<&Config::h2_initial_window_size, WindowSize>(), "<SIZE>", "65535",
     "HTTP/2 receive window per stream (request bodies are read and discarded)"},
    {"h2-rapid-reset-window", bind<&Config::h2_rapid_reset_window, Whole<1, 65536>>(), "<N>", "128",
     "Recently closed HTTP/2 streams of a connection the rapid-reset guard looks at"},
    {"h2-rapid-reset-limit", bind<&Config::h2_rapid_reset_limit, Whole<0, 65535>>(), "<N>", "96",
     "Client resets (before the answer completed) among them that close the connection with "
     "GOAWAY ENHANCE_YOUR_CALM"},
    // Fleet: peer fill across cache nodes
    {"peers", bind<&Config::peers, PeerList>(), "<HOST:PORT,...>", nullptr,
     "Fleet members (this node included) as a static list; each object's owner among them is "
     "shown by the admin listener's /fleet"},
    {"peers-dns", bind<&Config::peers_dns, HostAndPort>(), "<NAME:PORT>", nullptr,
     "Fleet members as the A/AAAA records of a DNS name (a Kubernetes headless Service), looked "
     "up every --peers-dns-interval"},
    {"peer-self", bind<&Config::peer_self, HostMaybePort>(), "<IP[:PORT]>", nullptr,
     "This node's address as the other members know it (e.g. the pod IP; port: --port); "
     "required with --peers-dns"},
    {"peers-dns-interval", bind<&Config::peers_dns_interval, Duration<kPositive>>(), "<DURATION>",
     "5s", "How often --peers-dns is looked up"},
    {"peer-probe-interval", bind<&Config::peer_probe_interval, Duration<kPositive>>(),
     "<DURATION>", "2s", "How often each member's /healthz is probed"},
    {"peer-probe-timeout", bind<&Config::peer_probe_timeout, Duration<kPositive>>(), "<DURATION>",
     nullptr,
     "How long a /healthz probe may take before the member is suspected (unset: "
     "--peer-probe-interval, at most 1s)"},
    {"peer-timeout", bind<&Config::peer_timeout, Duration<kPositive>>(), "<DURATION>", "5s",
     "A chunk GET to the object's owning peer fails (and goes to S3) without a response head or "
     "a byte for this long; connecting gets at most 1s of it"},
    {"peer-backoff", bind<&Config::peer_backoff, Duration<kPositive>>(), "<DURATION>", "10s",
     "How long a member that failed is skipped (doubled while it keeps failing, up to 12x)"},
    {"fleet-token", bind<&Config::fleet_token, Token>(), "<SECRET>", nullptr,
     "Shared secret (16+ characters) that signs peer requests (then required on every one)",
     kFileOnly},
    {"fleet-token-file", bind<&Config::fleet_token_file, Text>(), "<PATH>", nullptr,
     "A file holding the fleet token (e.g. a mounted Kubernetes Secret), instead of fleet_token"},
};
// clang-format on

std::string env_name(std::string_view name) {
    std::string env = "XS3_";
    for (char ch : name)
        env += ch == '-' ? '_' : static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
    return env;
}

std::string toml_name(std::string_view name) {
    std::string key(name);
    for (auto& ch : key)
        if (ch == '-') ch = '_';
    return key;
}

std::vector<OptionDescriptor> build_table() {
    std::vector<OptionDescriptor> table;
    table.reserve(std::size(kRows));
    for (const auto& r : kRows) {
        bool file_only = (r.flags & kFileOnly) != 0;
        table.push_back(OptionDescriptor{
            .name = r.name,
            .env = file_only ? std::string() : env_name(r.name),
            .toml_key = (r.flags & kNotInFile) ? std::string() : toml_name(r.name),
            .kind = r.binding.kind,
            .value_name = r.value_name,
            .default_value = r.default_value,
            .required = (r.flags & kRequired) != 0,
            .help = r.help,
            .file_only = file_only,
            .assign = r.binding.assign,
        });
    }
    return table;
}

}  // namespace

std::span<const OptionDescriptor> option_table() {
    static const std::vector<OptionDescriptor> table = build_table();
    return table;
}

const OptionDescriptor* find_option(std::string_view name) {
    for (const auto& o : option_table())
        if (o.name == name && !o.file_only) return &o;
    return nullptr;
}

const OptionDescriptor* find_option_by_toml_key(std::string_view key) {
    for (const auto& o : option_table())
        if (!o.toml_key.empty() && o.toml_key == key) return &o;
    return nullptr;
}

size_t option_index(const OptionDescriptor& o) {
    return static_cast<size_t>(&o - option_table().data());
}

std::string option_flag(const OptionDescriptor& o) {
    if (o.file_only) return o.toml_key;
    return "--" + std::string(o.name);
}

}  // namespace xs3::config
