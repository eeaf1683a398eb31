// Tests of load_config: precedence of command line, environment and file, TOML value types and
// syntax, and the messages of every kind of mistake.
#include "xs3/config/config.hpp"

#include <doctest/doctest.h>

#include <string>

#include "config_test_util.hpp"

using namespace xs3;
using namespace xs3::config;
using namespace std::chrono_literals;
using namespace config_test;

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
    // A smaller pipe alone: the default splice shrinks to it instead of refusing.
    auto small_pipe = load({"--pipe-size", "256KiB"}, kRequired);
    REQUIRE(small_pipe.ok());
    CHECK(small_pipe->splice_size == 256 * 1024);
    CHECK(small_pipe->pipe_size == 256 * 1024);
    CHECK(error_of(load({"--pipe-size", "256KiB", "--splice-size", "512KiB"}, kRequired)) ==
          "--splice-size (512KiB) must not exceed --pipe-size (256KiB)");
    CHECK(error_of(load({"--admin-port", "8080"}, kRequired)) ==
          "--admin-port (8080) must differ from --port");
    CHECK(load({"--gc-watermark-percent", "100", "--gc-target-percent", "99"}, kRequired).ok());
}
