// Tests of load_config: static keys (file only, never echoed), the S3 transport and HTTP/2
// options, [[buckets]], [[clients]], --allow-clients, the admin token and load_config_text.
#include "xs3/config/config.hpp"

#include <doctest/doctest.h>

#include <string>

#include "config_test_util.hpp"

using namespace xs3;
using namespace xs3::config;
using namespace std::chrono_literals;
using namespace config_test;

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
