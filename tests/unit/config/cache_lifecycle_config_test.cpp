// Tests of the cache lifecycle options: --min-free-space and --admin-bind-ip.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "xs3/config/config.hpp"

using namespace xs3;
using namespace xs3::config;

namespace {

using Env = std::map<std::string, std::string>;

const Env kRequired = {
    {"XS3_BUCKET", "b"}, {"XS3_CACHE_DIR", "/c"}, {"XS3_MAX_CACHE_SIZE", "1GiB"}};

Result<Config> load(std::vector<const char*> args, Env env = kRequired) {
    args.insert(args.begin(), "xs3lerator");
    return load_config(static_cast<int>(args.size()), args.data(), [&](const char* name) {
        auto it = env.find(name);
        return it == env.end() ? static_cast<const char*>(nullptr) : it->second.c_str();
    });
}

}  // namespace

TEST_CASE("defaults: a 2% free-space floor and the admin listener on loopback") {
    auto r = load({});
    REQUIRE(r.ok());
    CHECK(r->min_free_space.percent == 2);
    CHECK(r->min_free_space.bytes == 0);
    CHECK(r->admin_bind_ip == "127.0.0.1");
}

TEST_CASE("--min-free-space takes bytes or a percentage") {
    auto bytes = load({"--min-free-space", "10GiB"});
    REQUIRE(bytes.ok());
    CHECK(bytes->min_free_space.bytes == 10ULL << 30);
    CHECK(bytes->min_free_space.percent == 0);

    auto percent = load({"--min-free-space=5%"});
    REQUIRE(percent.ok());
    CHECK(percent->min_free_space.percent == 5);
    CHECK(percent->min_free_space.bytes == 0);

    auto off = load({"--min-free-space", "0"});
    REQUIRE(off.ok());
    CHECK(off->min_free_space.percent == 0);
    CHECK(off->min_free_space.bytes == 0);

    // The later source wins outright: a percentage in the environment, bytes on the command line.
    Env env = kRequired;
    env["XS3_MIN_FREE_SPACE"] = "7%";
    auto mixed = load({"--min-free-space", "1MiB"}, env);
    REQUIRE(mixed.ok());
    CHECK(mixed->min_free_space.bytes == 1 << 20);
    CHECK(mixed->min_free_space.percent == 0);
}

TEST_CASE("bad --min-free-space and --admin-bind-ip values are named in the error") {
    auto error_of = [](Result<Config> r) {
        REQUIRE_FALSE(r.ok());
        return r.status().message();
    };
    CHECK(error_of(load({"--min-free-space", "100%"})) ==
          "invalid value for --min-free-space (XS3_MIN_FREE_SPACE): '100%' is not a whole "
          "percentage below 100%");
    CHECK(error_of(load({"--min-free-space", "x%"})) ==
          "invalid value for --min-free-space (XS3_MIN_FREE_SPACE): 'x%' is not a whole "
          "percentage below 100%");
    CHECK(error_of(load({"--min-free-space", "lots"})) ==
          "invalid value for --min-free-space (XS3_MIN_FREE_SPACE): not a size: 'lots' (or give a "
          "percentage like 5%)");
    CHECK(error_of(load({"--admin-bind-ip", "localhost"})) ==
          "invalid value for --admin-bind-ip (XS3_ADMIN_BIND_IP): 'localhost' is not an IPv4 or "
          "IPv6 address");
}

TEST_CASE("the new options in a TOML file, and in --help") {
    char tmpl[] = "/tmp/xs3-config-lifecycle-XXXXXX";
    int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::ofstream(tmpl) << "min_free_space = \"3%\"\nadmin_bind_ip = \"::1\"\n";
    auto r = load({"--config", tmpl});
    std::remove(tmpl);
    REQUIRE(r.ok());
    CHECK(r->min_free_space.percent == 3);
    CHECK(r->admin_bind_ip == "::1");

    std::string help = help_text();
    CHECK(help.find("--min-free-space <SIZE|PERCENT>") != std::string::npos);
    CHECK(help.find("[env: XS3_MIN_FREE_SPACE] [toml: min_free_space] [default: 2%]") !=
          std::string::npos);
    CHECK(help.find("--admin-bind-ip <IP>") != std::string::npos);
    CHECK(help.find("[default: 127.0.0.1]") != std::string::npos);
}
