// Tests of the fleet options: syntax checked at load, cross-option rules, the file-only token.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "xs3/config/config.hpp"

using namespace xs3;
using namespace xs3::config;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;

Result<Config> load(std::vector<const char*> args, Env env = {}) {
    env.emplace("XS3_BUCKET", "bkt");
    env.emplace("XS3_CACHE_DIR", "/c");
    env.emplace("XS3_MAX_CACHE_SIZE", "1GiB");
    std::vector<const char*> argv{"xs3lerator"};
    argv.insert(argv.end(), args.begin(), args.end());
    return load_config(static_cast<int>(argv.size()), argv.data(), [&](const char* name) {
        auto it = env.find(name);
        return it == env.end() ? static_cast<const char*>(nullptr) : it->second.c_str();
    });
}

std::string error_of(std::vector<const char*> args, Env env = {}) {
    auto r = load(std::move(args), std::move(env));
    REQUIRE_FALSE(r.ok());
    return r.status().message();
}

struct TomlFile {
    std::string path;
    explicit TomlFile(const std::string& contents) {
        char tmpl[] = "/tmp/xs3-fleet-config-XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
        std::ofstream(path) << contents;
    }
    ~TomlFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("no fleet by default") {
    auto c = load({});
    REQUIRE(c.ok());
    CHECK_FALSE(c->peers);
    CHECK_FALSE(c->peers_dns);
    CHECK_FALSE(c->peer_self);
    CHECK_FALSE(c->fleet_token);
    CHECK(c->peers_dns_interval == 5s);
    CHECK(c->peer_probe_interval == 2s);
    CHECK(c->peer_backoff == 10s);
    CHECK(c->peer_timeout == 5s);
    CHECK_FALSE(c->peer_probe_timeout);
}

TEST_CASE("fleet options from flags, environment and file") {
    auto c = load({"--peers", "10.0.0.1:8080, 10.0.0.2:8080", "--peer-self", "10.0.0.1",
                   "--peer-backoff", "3s", "--peer-probe-interval", "500ms", "--peer-timeout",
                   "1500ms", "--peer-probe-timeout", "3s"});
    REQUIRE(c.ok());
    CHECK(c->peer_timeout == 1500ms);
    CHECK(*c->peer_probe_timeout == 3s);
    CHECK(*c->peers == "10.0.0.1:8080, 10.0.0.2:8080");
    CHECK(*c->peer_self == "10.0.0.1");
    CHECK(c->peer_backoff == 3s);
    CHECK(c->peer_probe_interval == 500ms);

    auto e = load({}, {{"XS3_PEERS_DNS", "xs3.cache.svc.cluster.local:8080"},
                       {"XS3_PEER_SELF", "10.1.2.3"},
                       {"XS3_PEERS_DNS_INTERVAL", "2s"}});
    REQUIRE(e.ok());
    CHECK(*e->peers_dns == "xs3.cache.svc.cluster.local:8080");
    CHECK(e->peers_dns_interval == 2s);

    TomlFile f(
        "peers = \"a:1,b:1\"\npeer_self = \"10.0.0.9:1\"\nfleet_token = "
        "\"0123456789abcdef0123\"\n");
    auto t = load({"--config", f.path.c_str()});
    REQUIRE(t.ok());
    CHECK(*t->peers == "a:1,b:1");
    CHECK(*t->fleet_token == "0123456789abcdef0123");
}

TEST_CASE("fleet option errors name the option") {
    CHECK(error_of({"--peers", "10.0.0.1"}) ==
          "invalid value for --peers (XS3_PEERS): '10.0.0.1' has no port (write host:port)");
    CHECK(error_of({"--peers", "a:1,,b:2"}) ==
          "invalid value for --peers (XS3_PEERS): the peer list 'a:1,,b:2' has an empty item");
    CHECK(error_of({"--peers-dns", "svc"}) ==
          "invalid value for --peers-dns (XS3_PEERS_DNS): 'svc' has no port (write host:port)");
    CHECK(error_of({"--peers", "a:1", "--peer-self", "[x]"}) ==
          "invalid value for --peer-self (XS3_PEER_SELF): '[x]': 'x' in brackets is not an IPv6 "
          "address");
    CHECK(error_of({"--peers", "a:1", "--peers-dns", "b:1"}) ==
          "--peers and --peers-dns cannot both be set");
    CHECK(error_of({"--peers-dns", "svc:8080"}) ==
          "--peers-dns needs --peer-self (this node's address as the other members know it, "
          "e.g. the pod IP from the downward API)");
    CHECK(error_of({"--peer-self", "10.0.0.1"}) ==
          "--peer-self is set but no fleet is configured (--peers or --peers-dns)");
    CHECK(error_of({"--peer-backoff", "1s"}) ==
          "--peer-backoff is set but no fleet is configured (--peers or --peers-dns)");
    CHECK(error_of({"--peer-timeout", "1s"}) ==
          "--peer-timeout is set but no fleet is configured (--peers or --peers-dns)");
    CHECK(error_of({"--peers", "a:1", "--peers-dns-interval", "1s"}) ==
          "--peers-dns-interval is set but --peers-dns is not");
    CHECK(error_of({"--peers", "a:1", "--port", "0"}) ==
          "a fleet (--peers/--peers-dns) needs a fixed --port, not 0");
    CHECK(error_of({"--peers", "a:1", "--peer-backoff", "0s"}).find("--peer-backoff") !=
          std::string::npos);
}

TEST_CASE("the fleet token is config-file only, long enough, and never echoed") {
    CHECK(error_of({"--fleet-token", "0123456789abcdef0123"}) == "unknown option --fleet-token");
    TomlFile short_token("peers = \"a:1\"\nfleet_token = \"tooshort\"\n");
    std::string m = error_of({"--config", short_token.path.c_str()});
    CHECK(m.find("fleet_token") != std::string::npos);
    CHECK(m.find("at least 16 characters") != std::string::npos);
    CHECK(m.find("tooshort") == std::string::npos);
    TomlFile no_fleet("fleet_token = \"0123456789abcdef0123\"\n");
    CHECK(error_of({"--config", no_fleet.path.c_str()}) ==
          "fleet_token is set but no fleet is configured (--peers or --peers-dns)");
}
