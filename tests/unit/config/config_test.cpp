// Tests of the option table and load_config: defaults, precedence, validation messages, TOML.
#include "xs3/config/config.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "xs3_build_config.h"

using namespace xs3;
using namespace xs3::config;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;

Result<Config> load(std::initializer_list<const char*> args, const Env& env = {}) {
    std::vector<const char*> argv{"xs3lerator"};
    argv.insert(argv.end(), args.begin(), args.end());
    return load_config(static_cast<int>(argv.size()), argv.data(), [&](const char* name) {
        auto it = env.find(name);
        return it == env.end() ? static_cast<const char*>(nullptr) : it->second.c_str();
    });
}

// The three required options, so a test only names what it is about.
const Env kRequired = {
    {"XS3_BUCKET", "b"}, {"XS3_CACHE_DIR", "/c"}, {"XS3_MAX_CACHE_SIZE", "1GiB"}};

Env with(Env env, std::initializer_list<std::pair<const std::string, std::string>> more) {
    for (const auto& [k, v] : more)
        env[k] = v;
    return env;
}

std::string error_of(const Result<Config>& r) {
    REQUIRE_FALSE(r.ok());
    return r.status().message();
}

struct TempFile {
    std::string path;
    explicit TempFile(const std::string& contents) {
        char tmpl[] = "/tmp/xs3-config-test-XXXXXX";
        int fd = mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
        std::ofstream(path) << contents;
    }
    ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("defaults match the Rust xs3lerator and the new options") {
    auto r = load({"--bucket", "b", "--cache-dir", "/var/cache/xs3", "--max-cache-size", "1GiB"});
    REQUIRE(r.ok());
    const Config& c = *r;
    CHECK(c.action == Config::Action::run);
    CHECK(c.bind_ip == "0.0.0.0");
    CHECK(c.port == 8080);
    CHECK(c.bucket == "b");
    CHECK_FALSE(c.region.has_value());
    CHECK_FALSE(c.s3_endpoint_url.has_value());
    CHECK(c.s3_force_path_style == false);
    CHECK(c.cache_dir == "/var/cache/xs3");
    CHECK(c.max_cache_size == (1ULL << 30));
    CHECK(c.cache_hierarchy_level == 4);
    CHECK(c.max_concurrency == 32);
    CHECK(c.min_chunk_size == (1ULL << 20));
    CHECK(c.max_chunk_size == (256ULL << 20));
    CHECK(c.gc_interval == 15s);
    CHECK(c.gc_watermark_percent == 95);
    CHECK(c.gc_target_percent == 90);
    CHECK_FALSE(c.debug_trace.has_value());
    CHECK_FALSE(c.config_file.has_value());
    CHECK(c.workers == static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN)));
    CHECK(c.log_level == LogLevel::info);
    CHECK(c.chunk_size == 8 * 1024 * 1024);
    CHECK(c.max_connections == 10000);
    CHECK(c.max_header_bytes == 16 * 1024);
    CHECK(c.idle_timeout == 60s);
    CHECK(c.header_timeout == 10s);
    CHECK(c.upstream_connect_timeout == 5s);
    CHECK(c.upstream_timeout == 30s);
    CHECK(c.direct_io == false);
    CHECK(c.splice_size == 64 * 1024);
    CHECK(c.pipe_size == 1024 * 1024);
    CHECK(c.admin_port == 0);
    CHECK(c.metadata_ttl == 0ms);
    CHECK(c.chunk_retries == 3);
    CHECK(c.abandon_on_disconnect == false);
    // S3 credentials and transport.
    CHECK_FALSE(c.access_key_id.has_value());
    CHECK_FALSE(c.secret_access_key.has_value());
    CHECK_FALSE(c.session_token.has_value());
    CHECK(c.anonymous == false);
    CHECK(c.anonymous_fallback == false);
    CHECK_FALSE(c.ca_bundle.has_value());
    CHECK(c.s3_dualstack == false);
    CHECK(c.s3_fips == false);
    CHECK_FALSE(c.upstream_first_byte_timeout.has_value());
    CHECK(c.upstream_low_speed_limit == 1);
    CHECK_FALSE(c.upstream_low_speed_time.has_value());
    CHECK(c.upstream_request_timeout == 0ms);
    CHECK(c.max_attempts == 3);
    CHECK(c.retry_base_delay == 100ms);
    CHECK(c.retry_max_delay == 20s);
    CHECK(c.retry_budget == 500);
    CHECK(c.max_upstream_connections == 64);
    CHECK(c.max_upstream_connections_total == 0);
}

TEST_CASE("every table default parses and the TOML key is the flag name with underscores") {
    std::set<std::string_view> names, envs;
    for (const auto& o : option_table()) {
        CAPTURE(o.name);
        CHECK(names.insert(o.name).second);
        if (o.file_only) {
            // Secrets: only the config file, never a flag or an XS3_* variable.
            CHECK(o.env.empty());
            CHECK_FALSE(o.toml_key.empty());
            CHECK(o.default_value == nullptr);
            continue;
        }
        CHECK(envs.insert(o.env).second);
        std::string env = "XS3_";
        for (char ch : o.name)
            env += ch == '-' ? '_' : static_cast<char>(std::toupper(ch));
        CHECK(o.env == env);
        if (o.name != "config") {
            std::string key(o.name);
            for (auto& ch : key)
                if (ch == '-') ch = '_';
            CHECK(o.toml_key == key);
        }
        if (o.default_value) {
            Config c;
            CHECK(o.set(c, o.default_value).ok());
        }
        CHECK_FALSE((o.required && o.default_value));
    }
    // --help lists every option of the table.
    std::string help = help_text();
    for (const auto& o : option_table()) {
        CAPTURE(o.name);
        // Secrets are file-only: --help names their TOML key, never a flag.
        std::string shown = o.file_only ? std::string(o.toml_key) : "--" + std::string(o.name);
        CHECK(help.find(shown) != std::string::npos);
    }
}

TEST_CASE("the Rust xs3lerator's flags and variables, spelled out, still set the same fields") {
    // Written literally (not derived from the table's rule), so renaming an option fails here.
    struct Case {
        const char* flag;
        const char* env;
        const char* value;
    };
    const Case cases[] = {
        {"--bind-ip", "XS3_BIND_IP", "127.0.0.1"},
        {"--port", "XS3_PORT", "9000"},
        {"--bucket", "XS3_BUCKET", "rb"},
        {"--region", "XS3_REGION", "eu-west-3"},
        {"--s3-endpoint-url", "XS3_S3_ENDPOINT_URL", "http://127.0.0.1:9000"},
        {"--s3-force-path-style", "XS3_S3_FORCE_PATH_STYLE", "true"},
        {"--cache-dir", "XS3_CACHE_DIR", "/rc"},
        {"--max-cache-size", "XS3_MAX_CACHE_SIZE", "2GiB"},
        {"--cache-hierarchy-level", "XS3_CACHE_HIERARCHY_LEVEL", "2"},
        {"--max-concurrency", "XS3_MAX_CONCURRENCY", "7"},
        {"--min-chunk-size", "XS3_MIN_CHUNK_SIZE", "2MiB"},
        {"--max-chunk-size", "XS3_MAX_CHUNK_SIZE", "64MiB"},
        {"--gc-interval-seconds", "XS3_GC_INTERVAL_SECONDS", "9"},
        {"--gc-watermark-percent", "XS3_GC_WATERMARK_PERCENT", "80"},
        {"--gc-target-percent", "XS3_GC_TARGET_PERCENT", "70"},
        {"--debug-trace", "XS3_DEBUG_TRACE", "/tmp/trace"},
    };
    auto check = [](const Config& c) {
        CHECK(c.bind_ip == "127.0.0.1");
        CHECK(c.port == 9000);
        CHECK(c.bucket == "rb");
        CHECK(c.region == "eu-west-3");
        CHECK(c.s3_endpoint_url == "http://127.0.0.1:9000");
        CHECK(c.s3_force_path_style);
        CHECK(c.cache_dir == "/rc");
        CHECK(c.max_cache_size == (2ULL << 30));
        CHECK(c.cache_hierarchy_level == 2);
        CHECK(c.max_concurrency == 7);
        CHECK(c.min_chunk_size == (2ULL << 20));
        CHECK(c.max_chunk_size == (64ULL << 20));
        CHECK(c.gc_interval == 9s);
        CHECK(c.gc_watermark_percent == 80);
        CHECK(c.gc_target_percent == 70);
        CHECK(c.debug_trace == "/tmp/trace");
    };
    std::vector<std::string> args;
    Env env;
    for (const auto& tc : cases) {
        args.push_back(std::string(tc.flag) + "=" + tc.value);
        env[tc.env] = tc.value;
    }
    std::vector<const char*> argv{"xs3lerator"};
    for (const auto& a : args)
        argv.push_back(a.c_str());
    auto by_flags = load_config(static_cast<int>(argv.size()), argv.data(),
                                [](const char*) { return static_cast<const char*>(nullptr); });
    REQUIRE_MESSAGE(by_flags.ok(), by_flags.status().message());
    check(*by_flags);
    auto by_env = load({}, env);
    REQUIRE_MESSAGE(by_env.ok(), by_env.status().message());
    check(*by_env);
}

TEST_CASE("a whole-number option cannot be given a value its member cannot hold") {
    // Port is 0..65535 into a uint16_t: the binder checks the range fits at compile time; here
    // the loader refuses the value instead of truncating it.
    CHECK(error_of(load({"--port", "65536"}, kRequired)) ==
          "invalid value for --port (XS3_PORT): '65536' is not a port number");
    CHECK(load({"--port", "65535"}, kRequired)->port == 65535);
}

TEST_CASE("send mode and copy size") {
    Config d = default_config();
    CHECK(d.send_mode == "copy");
    CHECK(d.copy_size == 1024 * 1024);
    auto r = load({"--send-mode", "SPLICE", "--copy-size", "256KiB"}, kRequired);
    REQUIRE(r.ok());
    CHECK(r->send_mode == "splice");
    CHECK(r->copy_size == 256 * 1024);
    CHECK(error_of(load({"--send-mode", "sendfile"}, kRequired)) ==
          "invalid value for --send-mode (XS3_SEND_MODE): 'sendfile' is not a send mode (use copy "
          "or splice)");
    CHECK(error_of(load({"--copy-size", "1KiB"}, kRequired)) ==
          "invalid value for --copy-size (XS3_COPY_SIZE): '1KiB' is out of range (4KiB..64MiB)");
}

TEST_CASE("files kept open for hits") {
    Config d = default_config();
    CHECK(d.open_files == 1024);
    CHECK(d.open_file_max_bytes == 256 * 1024);
    auto r = load({"--open-files", "0", "--open-file-max-size", "1MiB"}, kRequired);
    REQUIRE(r.ok());
    CHECK(r->open_files == 0);
    CHECK(r->open_file_max_bytes == 1024 * 1024);
    CHECK(error_of(load({"--open-file-max-size", "65MiB"}, kRequired)) ==
          "invalid value for --open-file-max-size (XS3_OPEN_FILE_MAX_SIZE): '65MiB' is out of "
          "range (0B..64MiB)");
    CHECK(error_of(load({"--open-files", "-1"}, kRequired)).find("--open-files") !=
          std::string::npos);
}

TEST_CASE("the old flags and variables all still work") {
    auto r = load({"--bind-ip",
                   "::1",
                   "--port=9000",
                   "--bucket",
                   "bk",
                   "--region",
                   "eu-west-1",
                   "--s3-endpoint-url",
                   "http://localhost:4566",
                   "--s3-force-path-style",
                   "--cache-dir",
                   "/cache",
                   "--max-cache-size",
                   "500GB",
                   "--cache-hierarchy-level",
                   "2",
                   "--max-concurrency",
                   "8",
                   "--min-chunk-size",
                   "64KiB",
                   "--max-chunk-size",
                   "1GiB",
                   "--gc-interval-seconds",
                   "30",
                   "--gc-watermark-percent",
                   "80",
                   "--gc-target-percent",
                   "70",
                   "--debug-trace",
                   "/tmp/t.jsonl"});
    REQUIRE(r.ok());
    CHECK(r->bind_ip == "::1");
    CHECK(r->port == 9000);
    CHECK(r->bucket == "bk");
    CHECK(r->region.value() == "eu-west-1");
    CHECK(r->s3_endpoint_url.value() == "http://localhost:4566");
    CHECK(r->s3_force_path_style);
    CHECK(r->max_cache_size == 500000000000ULL);
    CHECK(r->cache_hierarchy_level == 2);
    CHECK(r->max_concurrency == 8);
    CHECK(r->min_chunk_size == 64 * 1024);
    CHECK(r->max_chunk_size == (1ULL << 30));
    CHECK(r->gc_interval == 30s);
    CHECK(r->gc_watermark_percent == 80);
    CHECK(r->gc_target_percent == 70);
    CHECK(r->debug_trace.value() == "/tmp/t.jsonl");

    Env env = {{"XS3_BIND_IP", "127.0.0.1"},
               {"XS3_PORT", "81"},
               {"XS3_BUCKET", "eb"},
               {"XS3_REGION", "us-west-2"},
               {"XS3_S3_ENDPOINT_URL", "https://s3.example"},
               {"XS3_S3_FORCE_PATH_STYLE", "yes"},
               {"XS3_CACHE_DIR", "/ec"},
               {"XS3_MAX_CACHE_SIZE", "64KiB"},
               {"XS3_CACHE_HIERARCHY_LEVEL", "12"},
               {"XS3_MAX_CONCURRENCY", "1"},
               {"XS3_MIN_CHUNK_SIZE", "2MiB"},
               {"XS3_MAX_CHUNK_SIZE", "2MiB"},
               {"XS3_GC_INTERVAL_SECONDS", "1"},
               {"XS3_GC_WATERMARK_PERCENT", "100"},
               {"XS3_GC_TARGET_PERCENT", "1"},
               {"XS3_DEBUG_TRACE", "/x"}};
    auto e = load({}, env);
    REQUIRE(e.ok());
    CHECK(e->bind_ip == "127.0.0.1");
    CHECK(e->port == 81);
    CHECK(e->bucket == "eb");
    CHECK(e->region.value() == "us-west-2");
    CHECK(e->s3_endpoint_url.value() == "https://s3.example");
    CHECK(e->s3_force_path_style);
    CHECK(e->cache_dir == "/ec");
    CHECK(e->max_cache_size == 65536);
    CHECK(e->cache_hierarchy_level == 12);
    CHECK(e->max_concurrency == 1);
    CHECK(e->min_chunk_size == (2ULL << 20));
    CHECK(e->max_chunk_size == (2ULL << 20));
    CHECK(e->chunk_size == (2ULL << 20));  // 8MiB clamped down to the max
    CHECK(e->gc_interval == 1s);
    CHECK(e->gc_watermark_percent == 100);
    CHECK(e->gc_target_percent == 1);
    CHECK(e->debug_trace.value() == "/x");
}

TEST_CASE("boolean flags on the command line and in the environment") {
    CHECK(load({"--direct-io"}, kRequired)->direct_io);
    CHECK_FALSE(load({"--direct-io=false"}, kRequired)->direct_io);
    CHECK(load({"--direct-io=TRUE"}, kRequired)->direct_io);
    CHECK_FALSE(load({"--direct-io", "--direct-io=0"}, kRequired)->direct_io);
    for (const char* t : {"true", "1", "yes", "True", "YES", "on"})
        CHECK(load({}, with(kRequired, {{"XS3_S3_FORCE_PATH_STYLE", t}}))->s3_force_path_style);
    for (const char* f : {"false", "0", "no", "FALSE", "off"})
        CHECK_FALSE(
            load({}, with(kRequired, {{"XS3_S3_FORCE_PATH_STYLE", f}}))->s3_force_path_style);
    CHECK(error_of(load({}, with(kRequired, {{"XS3_DIRECT_IO", "maybe"}}))) ==
          "invalid value for --direct-io (XS3_DIRECT_IO): 'maybe' is not a boolean (use "
          "true/false, yes/no or 1/0)");
    // A bare flag takes no separate value: "false" is a stray argument.
    CHECK(error_of(load({"--direct-io", "false"}, kRequired)) == "unexpected argument 'false'");
}

TEST_CASE("new options from the command line") {
    auto r = load({"--workers",
                   "3",
                   "--log-level",
                   "debug",
                   "--chunk-size",
                   "4MiB",
                   "--max-connections",
                   "50",
                   "--max-header-bytes",
                   "32KiB",
                   "--idle-timeout",
                   "90s",
                   "--header-timeout",
                   "2500ms",
                   "--upstream-connect-timeout",
                   "1",
                   "--upstream-timeout",
                   "2m",
                   "--splice-size",
                   "256KiB",
                   "--pipe-size",
                   "512KiB",
                   "--admin-port",
                   "9100",
                   "--metadata-ttl",
                   "1h",
                   "--chunk-retries",
                   "0",
                   "--abandon-on-disconnect"},
                  kRequired);
    REQUIRE(r.ok());
    CHECK(r->workers == 3);
    CHECK(r->log_level == LogLevel::debug);
    CHECK(r->chunk_size == 4 * 1024 * 1024);
    CHECK(r->max_connections == 50);
    CHECK(r->max_header_bytes == 32 * 1024);
    CHECK(r->idle_timeout == 90s);
    CHECK(r->header_timeout == 2500ms);
    CHECK(r->upstream_connect_timeout == 1s);
    CHECK(r->upstream_timeout == 120s);
    CHECK(r->splice_size == 256 * 1024);
    CHECK(r->pipe_size == 512 * 1024);
    CHECK(r->admin_port == 9100);
    CHECK(r->metadata_ttl == 3600s);
    CHECK(r->chunk_retries == 0);
    CHECK(r->abandon_on_disconnect);
}

TEST_CASE("chunk size is clamped into [min, max]") {
    CHECK(load({"--chunk-size", "1KiB"}, kRequired)->chunk_size == 1024 * 1024);
    CHECK(load({"--chunk-size", "1GiB"}, kRequired)->chunk_size == 256ULL * 1024 * 1024);
    CHECK(load({"--chunk-size", "3MiB"}, kRequired)->chunk_size == 3ULL * 1024 * 1024);
}

TEST_CASE("precedence: command line > environment > file > default") {
    TempFile file("port = 1111\nregion = \"file-region\"\nworkers = 5\nlog_level = \"warn\"\n");
    Env env = with(kRequired,
                   {{"XS3_CONFIG", file.path}, {"XS3_PORT", "2222"}, {"XS3_REGION", "env-region"}});
    auto r = load({"--port", "3333"}, env);
    REQUIRE(r.ok());
    CHECK(r->port == 3333);                      // CLI over env and file
    CHECK(r->region.value() == "env-region");    // env over file
    CHECK(r->workers == 5);                      // file over default
    CHECK(r->log_level == LogLevel::warn);       // file over default
    CHECK(r->idle_timeout == 60s);               // default
    CHECK(r->config_file.value() == file.path);  // XS3_CONFIG names the file

    auto no_cli = load({}, env);
    CHECK(no_cli->port == 2222);
    env.erase("XS3_PORT");
    CHECK(load({}, env)->port == 1111);
}

TEST_CASE("--config beats XS3_CONFIG and the file can supply required options") {
    TempFile a("port = 1\nbucket = \"from-a\"\ncache_dir = \"/a\"\nmax_cache_size = \"2GiB\"\n");
    TempFile b("port = 2\nbucket = \"from-b\"\ncache_dir = \"/b\"\nmax_cache_size = 4096\n");
    auto r = load({"--config", b.path.c_str()}, {{"XS3_CONFIG", a.path}});
    REQUIRE(r.ok());
    CHECK(r->port == 2);
    CHECK(r->bucket == "from-b");
    CHECK(r->max_cache_size == 4096);
    CHECK(r->config_file.value() == b.path);
    std::string eq = "--config=" + a.path;
    auto s = load({eq.c_str()});
    REQUIRE(s.ok());
    CHECK(s->max_cache_size == (2ULL << 30));
}

TEST_CASE("TOML value types") {
    TempFile ok_file(
        "direct_io = true\n"
        "idle_timeout = 45\n"
        "header_timeout = \"1500ms\"\n"
        "min_chunk_size = 65536\n"
        "max_chunk_size = \"16MiB\"\n"
        "bind_ip = \"::\"\n"
        "s3_force_path_style = false\n");
    auto r = load({}, with(kRequired, {{"XS3_CONFIG", ok_file.path}}));
    REQUIRE(r.ok());
    CHECK(r->direct_io);
    CHECK(r->idle_timeout == 45s);
    CHECK(r->header_timeout == 1500ms);
    CHECK(r->min_chunk_size == 65536);
    CHECK(r->max_chunk_size == 16ULL * 1024 * 1024);
    CHECK(r->bind_ip == "::");

    TempFile port_string("# comment\nport = \"8080\"\n");
    CHECK(error_of(load({"--config", port_string.path.c_str()}, kRequired)) ==
          "config file " + port_string.path + ": --port expects an integer, got string at line 2");
    TempFile bool_string("direct_io = \"yes\"\n");
    CHECK(error_of(load({"--config", bool_string.path.c_str()}, kRequired)) ==
          "config file " + bool_string.path +
              ": --direct-io expects a boolean, got string at line 1");
    TempFile float_size("\n\nmax_cache_size = 1.5\n");
    CHECK(error_of(load({"--config", float_size.path.c_str()}, kRequired)) ==
          "config file " + float_size.path +
              ": --max-cache-size expects a size (integer bytes or a string like \"1GiB\"), got "
              "float at line 3");
    TempFile table("[cache]\ndir = \"/x\"\n");
    CHECK(error_of(load({"--config", table.path.c_str()}, kRequired)) ==
          "config file " + table.path + ": unknown key 'cache' at line 1");
    TempFile negative("port = -1\n");
    CHECK(error_of(load({"--config", negative.path.c_str()}, kRequired)) ==
          "config file " + negative.path +
              ": invalid value for --port at line 1: '-1' is not a port number");
}

TEST_CASE("TOML unknown keys, syntax errors and missing files") {
    TempFile unknown("port = 1\nbucket = \"b\"\nprot = 3\n");
    CHECK(error_of(load({"--config", unknown.path.c_str()}, kRequired)) ==
          "config file " + unknown.path + ": unknown key 'prot' at line 3");
    TempFile config_key("config = \"/other.toml\"\n");
    CHECK(error_of(load({"--config", config_key.path.c_str()}, kRequired)) ==
          "config file " + config_key.path + ": unknown key 'config' at line 1");
    TempFile syntax("port = 1\nport = = 2\n");
    std::string msg = error_of(load({"--config", syntax.path.c_str()}, kRequired));
    CHECK(msg.rfind("config file " + syntax.path + ": ", 0) == 0);
    CHECK(msg.find(" at line 2, column ") != std::string::npos);
    CHECK(error_of(load({"--config", "/nonexistent/x.toml"}, kRequired)) ==
          "config file /nonexistent/x.toml: cannot open: No such file or directory");
}

TEST_CASE("command-line syntax errors") {
    CHECK(error_of(load({"--prot", "1"}, kRequired)) == "unknown option --prot");
    CHECK(error_of(load({"--prot=1"}, kRequired)) == "unknown option --prot");
    CHECK(error_of(load({"-p", "1"}, kRequired)) == "unknown option -p");
    CHECK(error_of(load({"serve"}, kRequired)) == "unexpected argument 'serve'");
    CHECK(error_of(load({"--port"}, kRequired)) == "--port needs a value");
    CHECK(error_of(load({"--bucket", "--port", "1"}, kRequired)) == "--bucket needs a value");
    CHECK(error_of(load({"--port", "-1"}, kRequired)) ==
          "invalid value for --port (XS3_PORT): '-1' is not a port number");
    // "--flag=" is an empty value, which no option accepts.
    CHECK(error_of(load({"--bucket="}, kRequired)) ==
          "invalid value for --bucket (XS3_BUCKET): an empty value is not allowed");
    CHECK(load({"--port", "1", "--port", "2"}, kRequired)->port == 2);
}

TEST_CASE("required options") {
    CHECK(error_of(load({"--cache-dir", "/c", "--max-cache-size", "1GiB"})) ==
          "--bucket is required (or set XS3_BUCKET), unless the --config file lists [[buckets]]");
    CHECK(error_of(load({"--bucket", "b", "--max-cache-size", "1GiB"})) ==
          "--cache-dir is required (or set XS3_CACHE_DIR)");
    CHECK(error_of(load({"--bucket", "b", "--cache-dir", "/c"})) ==
          "--max-cache-size is required (or set XS3_MAX_CACHE_SIZE)");
    // An empty variable counts as unset, as Kubernetes manifests often leave them.
    CHECK(error_of(load({}, with(kRequired, {{"XS3_BUCKET", ""}}))) ==
          "--bucket is required (or set XS3_BUCKET), unless the --config file lists [[buckets]]");
    CHECK_FALSE(load({}, with(kRequired, {{"XS3_REGION", ""}}))->region.has_value());
}

TEST_CASE("value errors name the option, its variable and the value") {
    struct Case {
        const char* flag;
        const char* value;
        const char* message;
    };
    const Case cases[] = {
        {"--port", "abc", "invalid value for --port (XS3_PORT): 'abc' is not a port number"},
        {"--port", "65536", "invalid value for --port (XS3_PORT): '65536' is not a port number"},
        {"--bind-ip", "1.2.3",
         "invalid value for --bind-ip (XS3_BIND_IP): '1.2.3' is not an IPv4 or IPv6 address"},
        {"--bind-ip", "localhost",
         "invalid value for --bind-ip (XS3_BIND_IP): 'localhost' is not an IPv4 or IPv6 address"},
        {"--max-cache-size", "lots",
         "invalid value for --max-cache-size (XS3_MAX_CACHE_SIZE): not a size: 'lots'"},
        {"--cache-hierarchy-level", "0",
         "invalid value for --cache-hierarchy-level (XS3_CACHE_HIERARCHY_LEVEL): '0' is out of "
         "range (1..12)"},
        {"--cache-hierarchy-level", "13",
         "invalid value for --cache-hierarchy-level (XS3_CACHE_HIERARCHY_LEVEL): '13' is out of "
         "range (1..12)"},
        {"--max-concurrency", "0",
         "invalid value for --max-concurrency (XS3_MAX_CONCURRENCY): '0' is out of range "
         "(1..65536)"},
        {"--min-chunk-size", "0",
         "invalid value for --min-chunk-size (XS3_MIN_CHUNK_SIZE): '0' must be greater than zero"},
        {"--max-chunk-size", "0B",
         "invalid value for --max-chunk-size (XS3_MAX_CHUNK_SIZE): '0B' must be greater than "
         "zero"},
        {"--gc-watermark-percent", "101",
         "invalid value for --gc-watermark-percent (XS3_GC_WATERMARK_PERCENT): '101' is out of "
         "range (1..100)"},
        {"--gc-target-percent", "0",
         "invalid value for --gc-target-percent (XS3_GC_TARGET_PERCENT): '0' is out of range "
         "(1..99)"},
        {"--gc-interval-seconds", "-5",
         "invalid value for --gc-interval-seconds (XS3_GC_INTERVAL_SECONDS): '-5' is not a whole "
         "number"},
        {"--s3-endpoint-url", "localhost:4566",
         "invalid value for --s3-endpoint-url (XS3_S3_ENDPOINT_URL): 'localhost:4566' is not an "
         "http:// or https:// URL"},
        {"--log-level", "verbose",
         "invalid value for --log-level (XS3_LOG_LEVEL): 'verbose' is not a log level (use debug, "
         "info, warn, error or off)"},
        {"--idle-timeout", "0",
         "invalid value for --idle-timeout (XS3_IDLE_TIMEOUT): '0' must be greater than zero"},
        {"--header-timeout", "soon",
         "invalid value for --header-timeout (XS3_HEADER_TIMEOUT): not a duration: 'soon'"},
        {"--max-header-bytes", "100",
         "invalid value for --max-header-bytes (XS3_MAX_HEADER_BYTES): '100' must be at least "
         "1KiB"},
        {"--max-connections", "0",
         "invalid value for --max-connections (XS3_MAX_CONNECTIONS): '0' must be at least 1"},
        {"--workers", "5000",
         "invalid value for --workers (XS3_WORKERS): '5000' is out of range (0..1024)"},
        {"--chunk-retries", "101",
         "invalid value for --chunk-retries (XS3_CHUNK_RETRIES): '101' is out of range (0..100)"},
        {"--admin-port", "x",
         "invalid value for --admin-port (XS3_ADMIN_PORT): 'x' is not a port number"},
        {"--pipe-size", "1KiB",
         "invalid value for --pipe-size (XS3_PIPE_SIZE): '1KiB' must be at least 4KiB"},
    };
    for (const auto& tc : cases) {
        CAPTURE(tc.flag);
        CAPTURE(tc.value);
        CHECK(error_of(load({tc.flag, tc.value}, kRequired)) == tc.message);
        // The same value through the environment gives the same message.
        std::string env = "XS3_";
        for (const char* p = tc.flag + 2; *p; ++p)
            env += *p == '-' ? '_' : static_cast<char>(std::toupper(*p));
        CHECK(error_of(load({}, with(kRequired, {{env, tc.value}}))) == tc.message);
    }
}

TEST_CASE("cross-option checks") {
    CHECK(error_of(load({"--gc-watermark-percent", "80"}, kRequired)) ==
          "--gc-target-percent (90) must be below --gc-watermark-percent (80)");
    CHECK(error_of(load({"--gc-watermark-percent", "90"}, kRequired)) ==
          "--gc-target-percent (90) must be below --gc-watermark-percent (90)");
    CHECK(error_of(load({"--min-chunk-size", "2MiB", "--max-chunk-size", "1MiB"}, kRequired)) ==
          "--min-chunk-size (2MiB) must not exceed --max-chunk-size (1MiB)");
    CHECK(error_of(load({"--splice-size", "2MiB"}, kRequired)) ==
          "--splice-size (2MiB) must not exceed --pipe-size (1MiB)");
    CHECK(error_of(load({"--admin-port", "8080"}, kRequired)) ==
          "--admin-port (8080) must differ from --port");
    CHECK(load({"--gc-watermark-percent", "100", "--gc-target-percent", "99"}, kRequired).ok());
}

TEST_CASE("sizes use binary and decimal units") {
    CHECK(load({"--max-cache-size", "64KiB"}, kRequired)->max_cache_size == 65536);
    CHECK(load({"--max-cache-size", "1GiB"}, kRequired)->max_cache_size == 1073741824ULL);
    CHECK(load({"--max-cache-size", "500GB"}, kRequired)->max_cache_size == 500000000000ULL);
    CHECK(load({"--max-cache-size", "100GiB"}, kRequired)->max_cache_size == 107374182400ULL);
    CHECK(load({"--max-cache-size=4096"}, kRequired)->max_cache_size == 4096);
}

TEST_CASE("--help and --version stop before validation") {
    for (const char* h : {"--help", "-h"}) {
        auto r = load({"--port", "1", h});
        REQUIRE(r.ok());
        CHECK(r->action == Config::Action::help);
    }
    for (const char* v : {"--version", "-V"}) {
        auto r = load({v}, {{"XS3_PORT", "junk"}});
        REQUIRE(r.ok());
        CHECK(r->action == Config::Action::version);
    }
    // Two lines: the version, then how this very binary was built (the e2e tests read it).
    CHECK(version_text() == std::string("xs3lerator ") + XS3_VERSION + "\nbuild: buildtype=" +
                                XS3_BUILD_TYPE + " sanitize=" + XS3_BUILD_SANITIZE + "\n");
}

TEST_CASE("--help lists every option with its variable, TOML key and default") {
    std::string help = help_text();
    for (const auto& o : option_table()) {
        CAPTURE(o.name);
        if (o.file_only) {
            // Not as a flag ("--admin-token-file" is another option, not this one).
            for (const char* after : {" ", "[", "=", "\n"})
                CHECK(help.find("--" + std::string(o.name) + after) == std::string::npos);
            CHECK(help.find("      " + std::string(o.toml_key) + " = " + std::string(o.value_name) +
                            "\n") != std::string::npos);
            continue;
        }
        std::string head = "      --" + std::string(o.name);
        auto at = help.find(head + (o.kind == ValueKind::boolean
                                        ? "[=<BOOL>]\n"
                                        : " " + std::string(o.value_name) + "\n"));
        REQUIRE(at != std::string::npos);
        auto end = help.find("\n      --", at + 1);
        std::string entry = help.substr(at, end - at);
        CHECK(entry.find("[env: " + std::string(o.env) + "]") != std::string::npos);
        if (!o.toml_key.empty())
            CHECK(entry.find("[toml: " + std::string(o.toml_key) + "]") != std::string::npos);
        if (o.default_value)
            CHECK(entry.find("[default: " + std::string(o.default_value) + "]") !=
                  std::string::npos);
        if (o.required) CHECK(entry.find("[required]") != std::string::npos);
    }
    CHECK(help.find("      --port <PORT>\n          TCP port to listen on (0: a free port, the "
                    "same for every "
                    "worker; the log says which)\n          [env: "
                    "XS3_PORT] [toml: port] [default: 8080]\n") != std::string::npos);
    CHECK(help.find("      --bucket <BUCKET>\n          S3 bucket name (served at /<key>; optional "
                    "when the "
                    "config file lists [[buckets]])\n          [env: "
                    "XS3_BUCKET] [toml: bucket] [required]\n") != std::string::npos);
}

TEST_CASE("static keys come from the config file only, and messages never show them") {
    TempFile f(
        "access_key_id = \"AKIAFILEKEY\"\nsecret_access_key = \"s3cr3t/Value+1\"\n"
        "session_token = \"tok\"\n");
    auto r = load({"--config", f.path.c_str()}, kRequired);
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->access_key_id == "AKIAFILEKEY");
    CHECK(r->secret_access_key == "s3cr3t/Value+1");
    CHECK(r->session_token == "tok");

    // Not on the command line (where ps shows them), not in XS3_* variables.
    CHECK(error_of(load({"--secret-access-key", "s3cr3t"}, kRequired)) ==
          "unknown option --secret-access-key");
    CHECK(error_of(load({"--access-key-id=AKIA"}, kRequired)) == "unknown option --access-key-id");
    auto env = load(
        {}, with(kRequired, {{"XS3_SECRET_ACCESS_KEY", "s3cr3t"}, {"XS3_ACCESS_KEY_ID", "AKIA"}}));
    REQUIRE(env.ok());
    CHECK_FALSE(env->secret_access_key.has_value());
    CHECK_FALSE(env->access_key_id.has_value());

    // Bad values: the message names the key and the line, not the value.
    TempFile spaced("access_key_id = \"AKIA\"\nsecret_access_key = \"has space s3cr3t\"\n");
    std::string msg = error_of(load({"--config", spaced.path.c_str()}, kRequired));
    CHECK(msg.find("invalid value for secret_access_key at line 2: the value contains "
                   "whitespace or control characters") != std::string::npos);
    CHECK(msg.find("s3cr3t") == std::string::npos);
    TempFile typed("secret_access_key = 12345\n");
    msg = error_of(load({"--config", typed.path.c_str()}, kRequired));
    CHECK(msg.find("secret_access_key expects a string, got integer at line 1") !=
          std::string::npos);
    CHECK(msg.find("12345") == std::string::npos);
    TempFile empty("secret_access_key = \"\"\n");
    CHECK(error_of(load({"--config", empty.path.c_str()}, kRequired))
              .find("an empty value is not allowed") != std::string::npos);

    // Both or neither; a token needs both.
    TempFile half("secret_access_key = \"s3cr3t\"\n");
    msg = error_of(load({"--config", half.path.c_str()}, kRequired));
    CHECK(msg == "secret_access_key is set in the config file but access_key_id is not");
    TempFile other_half("access_key_id = \"AKIA\"\n");
    CHECK(error_of(load({"--config", other_half.path.c_str()}, kRequired)) ==
          "access_key_id is set in the config file but secret_access_key is not");
    TempFile token_only("session_token = \"t\"\n");
    CHECK(error_of(load({"--config", token_only.path.c_str()}, kRequired))
              .find("session_token is set in the config file without") == 0);
    CHECK(error_of(load({"--config", f.path.c_str(), "--anonymous"}, kRequired)) ==
          "--anonymous cannot be combined with access_key_id/secret_access_key");
}

TEST_CASE("S3 transport options: flags, variables and checks") {
    auto r = load({"--anonymous-fallback",
                   "--ca-bundle",
                   "/etc/ssl/private-ca.pem",
                   "--s3-fips",
                   "--s3-dualstack",
                   "--upstream-first-byte-timeout",
                   "2s",
                   "--upstream-low-speed-limit",
                   "64KiB",
                   "--upstream-low-speed-time",
                   "15s",
                   "--upstream-request-timeout",
                   "5m",
                   "--max-attempts",
                   "5",
                   "--retry-base-delay",
                   "50ms",
                   "--retry-max-delay",
                   "2s",
                   "--retry-budget",
                   "0",
                   "--max-upstream-connections",
                   "16",
                   "--max-upstream-connections-total",
                   "100",
                   "--workers",
                   "4"},
                  kRequired);
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->anonymous_fallback);
    CHECK_FALSE(r->anonymous);
    CHECK(r->ca_bundle == "/etc/ssl/private-ca.pem");
    CHECK(r->s3_fips);
    CHECK(r->s3_dualstack);
    CHECK(r->upstream_first_byte_timeout == 2s);
    CHECK(r->upstream_low_speed_limit == 64 * 1024);
    CHECK(r->upstream_low_speed_time == 15s);
    CHECK(r->upstream_request_timeout == 5min);
    CHECK(r->max_attempts == 5);
    CHECK(r->retry_base_delay == 50ms);
    CHECK(r->retry_max_delay == 2s);
    CHECK(r->retry_budget == 0);
    CHECK(r->max_upstream_connections == 16);
    CHECK(r->max_upstream_connections_total == 100);

    auto e = load({}, with(kRequired, {{"XS3_ANONYMOUS", "true"}, {"XS3_MAX_ATTEMPTS", "1"}}));
    REQUIRE(e.ok());
    CHECK(e->anonymous);
    CHECK(e->max_attempts == 1);

    CHECK(error_of(load({"--max-attempts", "0"}, kRequired)).find("out of range (1..20)") !=
          std::string::npos);
    CHECK(
        error_of(load({"--upstream-low-speed-limit", "0"}, kRequired)).find("greater than zero") !=
        std::string::npos);
    CHECK(error_of(load({"--s3-fips", "--s3-endpoint-url", "http://minio:9000"}, kRequired)) ==
          "--s3-fips selects an AWS endpoint and cannot be combined with --s3-endpoint-url");
    CHECK(error_of(load({"--s3-dualstack", "--s3-endpoint-url", "http://minio:9000"}, kRequired))
              .find("--s3-dualstack selects an AWS endpoint") == 0);
    CHECK(error_of(load({"--retry-base-delay", "5s", "--retry-max-delay", "1s"}, kRequired)) ==
          "--retry-base-delay (5000ms) must not exceed --retry-max-delay (1000ms)");
    CHECK(error_of(load({"--max-upstream-connections-total", "3", "--workers", "4"}, kRequired)) ==
          "--max-upstream-connections-total (3) must be at least the number of workers (4) or 0");
}

TEST_CASE("[[buckets]] lists the buckets served at /<bucket>/<key>, each with its own settings") {
    TempFile file(
        "cache_dir = \"/c\"\nmax_cache_size = \"1GiB\"\n"
        "[[buckets]]\nname = \"alpha\"\n"
        "[[buckets]]\nname = \"beta\"\nendpoint = \"http://127.0.0.1:9000\"\nregion = "
        "\"eu-west-1\"\n"
        "path_style = true\naccess_key_id = \"AKID\"\nsecret_access_key = \"SECRET\"\n"
        "immutable = true\n"
        "[[buckets]]\nname = \"gamma\"\nanonymous = true\n");
    auto r = load({"--config", file.path.c_str()});
    REQUIRE_MESSAGE(r.ok(), error_of(r));
    CHECK(r->bucket.empty());  // --bucket is optional with a list
    REQUIRE(r->buckets.size() == 3);
    CHECK(r->buckets[0].name == "alpha");
    CHECK_FALSE(r->buckets[0].endpoint.has_value());
    const BucketConfig& b = r->buckets[1];
    CHECK(b.name == "beta");
    CHECK(b.endpoint == "http://127.0.0.1:9000");
    CHECK(b.region == "eu-west-1");
    CHECK(b.path_style == true);
    CHECK(b.access_key_id == "AKID");
    CHECK(b.secret_access_key == "SECRET");
    CHECK(b.immutable);
    CHECK(b.line == 5);
    CHECK(r->buckets[2].anonymous);
}

TEST_CASE("[[buckets]] mistakes name the field and the line, never a secret") {
    auto err = [](const std::string& body) {
        TempFile file("cache_dir = \"/c\"\nmax_cache_size = \"1GiB\"\n" + body);
        return error_of(load({"--config", file.path.c_str()}));
    };
    CHECK(err("[[buckets]]\nregion = \"x\"\n")
              .find("a bucket needs a 'name' in [[buckets]] at "
                    "line 3") != std::string::npos);
    CHECK(err("[[buckets]]\nname = \"a\"\ncolour = \"blue\"\n")
              .find("unknown key 'colour' in [[buckets]] at line 3") != std::string::npos);
    CHECK(err("[[buckets]]\nname = \"a\"\nendpoint = \"ftp://x\"\n")
              .find("'endpoint' 'ftp://x' is not an http:// or https:// URL") != std::string::npos);
    CHECK(err("[[buckets]]\nname = \"a\"\nimmutable = \"yes\"\n")
              .find("'immutable' must be true or false") != std::string::npos);
    CHECK(err("[[buckets]]\nname = \"a\"\n[[buckets]]\nname = \"a\"\n")
              .find("bucket 'a' is listed twice") != std::string::npos);
    std::string half = err("[[buckets]]\nname = \"a\"\nsecret_access_key = \"TOPSECRET\"\n");
    CHECK(half.find("needs both access_key_id and secret_access_key") != std::string::npos);
    CHECK(half.find("TOPSECRET") == std::string::npos);
    std::string spaced =
        err("[[buckets]]\nname = \"a\"\naccess_key_id = \"A\"\n"
            "secret_access_key = \"TOP SECRET\"\n");
    CHECK(spaced.find("contains whitespace") != std::string::npos);
    CHECK(spaced.find("TOP SECRET") == std::string::npos);
    CHECK(err("buckets = [1, 2]\n").find("each bucket must be a table") != std::string::npos);
    CHECK(err("buckets = \"a\"\n").find("'buckets' must be an array of tables") !=
          std::string::npos);
    // Without a list, --bucket is still required.
    CHECK(err("").find("--bucket is required") != std::string::npos);
}

TEST_CASE("HTTP/2 options: defaults, sources and errors") {
    auto d = load({}, kRequired);
    REQUIRE(d.ok());
    CHECK(d->h2_max_concurrent_streams == 100);
    CHECK(d->h2_initial_window_size == 65535);
    CHECK(d->h2_rapid_reset_window == 128);
    CHECK(d->h2_rapid_reset_limit == 96);

    auto c = load({"--h2-max-concurrent-streams", "8", "--h2-initial-window-size", "1MiB",
                   "--h2-rapid-reset-window", "64", "--h2-rapid-reset-limit", "10"},
                  kRequired);
    REQUIRE(c.ok());
    CHECK(c->h2_max_concurrent_streams == 8);
    CHECK(c->h2_initial_window_size == 1024 * 1024);
    CHECK(c->h2_rapid_reset_window == 64);
    CHECK(c->h2_rapid_reset_limit == 10);
    auto e = load({}, with(kRequired, {{"XS3_H2_MAX_CONCURRENT_STREAMS", "250"}}));
    REQUIRE(e.ok());
    CHECK(e->h2_max_concurrent_streams == 250);
    TempFile f("h2_initial_window_size = \"2GiB\"\n");
    CHECK(
        error_of(load({"--config", f.path.c_str()}, kRequired)).find("--h2-initial-window-size") !=
        std::string::npos);

    CHECK(error_of(load({"--h2-max-concurrent-streams", "0"}, kRequired)) ==
          "invalid value for --h2-max-concurrent-streams (XS3_H2_MAX_CONCURRENT_STREAMS): '0' is "
          "out of range (1..10000)");
    CHECK(error_of(load({"--h2-initial-window-size", "2GiB"}, kRequired)) ==
          "invalid value for --h2-initial-window-size (XS3_H2_INITIAL_WINDOW_SIZE): '2GiB' is out "
          "of range (1B..2GiB-1)");
    CHECK(error_of(load({"--h2-rapid-reset-limit", "128"}, kRequired)) ==
          "--h2-rapid-reset-limit (128) must be below --h2-rapid-reset-window (128)");
    CHECK(error_of(load({"--h2-rapid-reset-window", "50"}, kRequired)) ==
          "--h2-rapid-reset-limit (96) must be below --h2-rapid-reset-window (50)");
}

TEST_CASE("--write-size") {
    CHECK(default_config().write_size == 512 * 1024);
    auto r = load({"--write-size", "1MiB"}, kRequired);
    REQUIRE(r.ok());
    CHECK(r->write_size == 1024 * 1024);
    CHECK(error_of(load({"--write-size", "100000"}, kRequired)) ==
          "invalid value for --write-size (XS3_WRITE_SIZE): '100000' must be a multiple of 4KiB "
          "from 64KiB to 16MiB");
}

TEST_CASE("[[clients]]: keys clients sign with, each with the buckets it may read") {
    TempFile file(
        "cache_dir = \"/c\"\nmax_cache_size = \"1GiB\"\nbucket = \"alpha\"\n"
        "[[buckets]]\nname = \"beta\"\n"
        "[[clients]]\naccess_key_id = \"CLIENTONE\"\nsecret_access_key = \"s3cr3t/One+1\"\n"
        "[[clients]]\naccess_key_id = \"CLIENTTWO\"\nsecret_access_key = \"s3cr3t-two\"\n"
        "buckets = [\"beta\"]\n");
    auto r = load({"--config", file.path.c_str()});
    REQUIRE_MESSAGE(r.ok(), error_of(r));
    REQUIRE(r->clients.size() == 2);
    CHECK(r->clients[0].access_key_id == "CLIENTONE");
    CHECK(r->clients[0].secret_access_key == "s3cr3t/One+1");
    CHECK(r->clients[0].buckets.empty());
    CHECK(r->clients[0].line == 6);
    CHECK(r->clients[1].buckets == std::vector<std::string>{"beta"});
    CHECK(r->clients[1].line == 9);
}

TEST_CASE("[[clients]] mistakes name the field and the line, never a secret") {
    auto err = [](const std::string& body) {
        TempFile file("cache_dir = \"/c\"\nmax_cache_size = \"1GiB\"\nbucket = \"alpha\"\n" + body);
        return error_of(load({"--config", file.path.c_str()}));
    };
    std::string half = err("[[clients]]\nsecret_access_key = \"TOPSECRET\"\n");
    CHECK(half.find("a client needs both access_key_id and secret_access_key in [[clients]] at "
                    "line 4") != std::string::npos);
    CHECK(half.find("TOPSECRET") == std::string::npos);
    std::string spaced =
        err("[[clients]]\naccess_key_id = \"K\"\nsecret_access_key = \"TOP SECRET\"\n");
    CHECK(spaced.find("'secret_access_key': the value contains whitespace or control characters "
                      "in [[clients]] at line 4") != std::string::npos);
    CHECK(spaced.find("TOP SECRET") == std::string::npos);
    CHECK(err("[[clients]]\naccess_key_id = \"A/B\"\nsecret_access_key = \"S\"\n")
              .find("'access_key_id' must not contain '/'") != std::string::npos);
    CHECK(err("[[clients]]\naccess_key_id = 7\nsecret_access_key = \"S\"\n")
              .find("'access_key_id' must be a string in [[clients]] at line 4") !=
          std::string::npos);
    std::string twice =
        err("[[clients]]\naccess_key_id = \"K\"\nsecret_access_key = \"S1\"\n"
            "[[clients]]\naccess_key_id = \"K\"\nsecret_access_key = \"S2\"\n");
    CHECK(twice.find("the access_key_id in [[clients]] at line 7 is already given to the client "
                     "at line 4") != std::string::npos);
    CHECK(err("[[clients]]\naccess_key_id = \"K\"\nsecret_access_key = \"S\"\nbuckets = []\n")
              .find("'buckets' is empty") != std::string::npos);
    CHECK(err("[[clients]]\naccess_key_id = \"K\"\nsecret_access_key = \"S\"\nbuckets = \"a\"\n")
              .find("'buckets' must be an array of bucket names") != std::string::npos);
    CHECK(err("[[clients]]\naccess_key_id = \"K\"\nsecret_access_key = \"S\"\n"
              "buckets = [\"alpha\", \"gamma\"]\n") ==
          "[[clients]] at line 4: bucket 'gamma' is not served (neither --bucket nor in "
          "[[buckets]])");
    CHECK(err("[[clients]]\naccess_key_id = \"K\"\nsecret_access_key = \"S\"\nregion = \"x\"\n")
              .find("unknown key 'region' in [[clients]] at line 4") != std::string::npos);
    CHECK(err("clients = \"K\"\n").find("'clients' must be an array of tables") !=
          std::string::npos);
    // The secret never comes from the command line or the environment.
    CHECK(error_of(load({"--clients", "x"}, kRequired)) == "unknown option --clients");
}

TEST_CASE("--allow-clients: CIDR lists from the command line, the environment and the file") {
    auto r = load({"--allow-clients", "10.0.0.0/8, ::1"}, kRequired);
    REQUIRE_MESSAGE(r.ok(), error_of(r));
    CHECK(r->allow_clients == "10.0.0.0/8,::1/128");
    auto e = load({}, with(kRequired, {{"XS3_ALLOW_CLIENTS", "192.168.0.0/16"}}));
    REQUIRE(e.ok());
    CHECK(e->allow_clients == "192.168.0.0/16");
    TempFile list("allow_clients = [\"10.1.0.0/16\", \"2001:db8::/32\"]\n");
    auto f = load({"--config", list.path.c_str()}, kRequired);
    REQUIRE_MESSAGE(f.ok(), error_of(f));
    CHECK(f->allow_clients == "10.1.0.0/16,2001:db8::/32");
    TempFile text("allow_clients = \"127.0.0.1\"\n");
    auto t = load({"--config", text.path.c_str()}, kRequired);
    REQUIRE(t.ok());
    CHECK(t->allow_clients == "127.0.0.1/32");
    CHECK_FALSE(load({}, kRequired)->allow_clients.has_value());

    CHECK(error_of(load({"--allow-clients", "10.0.0.1/8"}, kRequired)) ==
          "invalid value for --allow-clients (XS3_ALLOW_CLIENTS): '10.0.0.1/8' has bits set past "
          "its prefix; did you mean 10.0.0.0/8?");
    CHECK(error_of(load({"--allow-clients", "10.0.0.0/8,"}, kRequired))
              .find("an empty entry in the list") != std::string::npos);
    TempFile numbers("allow_clients = [1, 2]\n");
    CHECK(error_of(load({"--config", numbers.path.c_str()}, kRequired))
              .find("--allow-clients expects a string, got array at line 1") != std::string::npos);
}

TEST_CASE("the admin token: config file only, or a token file") {
    TempFile file("admin_token = \"0123456789abcdef-token\"\n");
    auto r = load({"--config", file.path.c_str()}, kRequired);
    REQUIRE_MESSAGE(r.ok(), error_of(r));
    CHECK(r->admin_token == "0123456789abcdef-token");
    CHECK(error_of(load({"--admin-token", "0123456789abcdef-token"}, kRequired)) ==
          "unknown option --admin-token");
    auto env = load({}, with(kRequired, {{"XS3_ADMIN_TOKEN", "0123456789abcdef-token"}}));
    REQUIRE(env.ok());
    CHECK_FALSE(env->admin_token.has_value());
    TempFile shorter("admin_token = \"short\"\n");
    std::string msg = error_of(load({"--config", shorter.path.c_str()}, kRequired));
    CHECK(msg.find("invalid value for admin_token at line 1: the value must be at least 16 "
                   "characters") != std::string::npos);
    CHECK(msg.find("short\"") == std::string::npos);

    auto tf = load({"--admin-token-file", "/run/secrets/admin"}, kRequired);
    REQUIRE(tf.ok());
    CHECK(tf->admin_token_file == "/run/secrets/admin");
    CHECK(error_of(load({"--config", file.path.c_str(), "--admin-token-file", "/x"}, kRequired)) ==
          "admin_token and --admin-token-file are both set; give one");
}

TEST_CASE("load_config_text: a TOML document alone, with the file's checks") {
    auto r = load_config_text("cache_dir = \"/c\"\nmax_cache_size = \"1GiB\"\nbucket = \"b\"\n",
                              "mem.toml");
    REQUIRE_MESSAGE(r.ok(), error_of(r));
    CHECK(r->bucket == "b");
    CHECK(r->port == 8080);  // defaults applied
    CHECK(error_of(load_config_text("bucket = \"b\"\n", "mem.toml")) ==
          "--cache-dir is required (or set XS3_CACHE_DIR)");
    CHECK(error_of(load_config_text("port = [\n", "mem.toml")).rfind("config file mem.toml: ", 0) ==
          0);
}
