// Tests of the option table and load_config: defaults, the old and new flags, booleans, sizes,
// --help and --version. (Sources and errors: config_sources_test.cpp; secrets, transport and the
// file's sections: config_sections_test.cpp.)
#include "xs3/config/config.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <string_view>

#include "config_test_util.hpp"
#include "xs3_build_config.h"

using namespace xs3;
using namespace xs3::config;
using namespace std::chrono_literals;
using namespace config_test;

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
    CHECK(c.splice_size == 1024 * 1024);
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

TEST_CASE("--write-size") {
    CHECK(default_config().write_size == 512 * 1024);
    auto r = load({"--write-size", "1MiB"}, kRequired);
    REQUIRE(r.ok());
    CHECK(r->write_size == 1024 * 1024);
    CHECK(error_of(load({"--write-size", "100000"}, kRequired)) ==
          "invalid value for --write-size (XS3_WRITE_SIZE): '100000' must be a multiple of 4KiB "
          "from 64KiB to 16MiB");
}
