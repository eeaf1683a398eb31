// Tests of the fleet's start-up configuration: resolving static members, finding this node,
// the DNS source, and the messages when something does not fit.
#include "xs3/app/fleet_setup.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>

using namespace xs3;
using namespace xs3::app;
using namespace std::chrono_literals;

namespace {

config::Config base() {
    config::Config c = config::default_config();
    c.port = 8080;
    c.bind_ip = "0.0.0.0";
    return c;
}

// Names resolve through `dns`; IP literals resolve to themselves. `local` are this host's IPs.
struct World {
    std::map<std::string, std::vector<std::string>> dns;
    std::set<std::string> local;
    FleetSetupHooks hooks() {
        FleetSetupHooks h;
        h.resolve = [this](std::string_view host,
                           uint16_t port) -> Result<std::vector<fleet::PeerAddress>> {
            std::vector<fleet::PeerAddress> out;
            if (auto lit = fleet::peer_address_from_ip(host, port)) {
                out.push_back(*lit);
                return out;
            }
            auto it = dns.find(std::string(host));
            if (it == dns.end())
                return Status(Code::unavailable, "cannot resolve '" + std::string(host) + "'");
            for (const auto& ip : it->second)
                out.push_back(*fleet::peer_address_from_ip(ip, port));
            std::sort(out.begin(), out.end(),
                      [](const auto& a, const auto& b) { return a.id < b.id; });
            return out;
        };
        h.is_local = [this](const fleet::PeerAddress& p) { return local.count(p.ip) != 0; };
        return h;
    }
};

std::string error_of(const config::Config& c, World& w) {
    auto r = fleet_membership_options(c, w.hooks());
    REQUIRE_FALSE(r.ok());
    return r.status().message();
}

}  // namespace

TEST_CASE("a static list: names resolved, this node found by its local address and port") {
    World w;
    w.dns["node-b"] = {"10.0.0.2"};
    w.dns["node-c"] = {"fd00::3", "10.0.0.3", "10.0.0.30"};  // dual stack: lowest IPv4 wins
    w.local = {"10.0.0.1", "127.0.0.1"};
    auto c = base();
    c.peers = "10.0.0.1:8080,node-b:8080,node-c:8080";
    c.peer_backoff = 3s;
    c.peer_probe_interval = 500ms;
    c.fleet_token = "0123456789abcdef";
    CHECK(fleet_configured(c));
    auto o = fleet_membership_options(c, w.hooks());
    REQUIRE(o.ok());
    REQUIRE(o->static_peers.size() == 3);
    CHECK(o->static_peers[0].id == "10.0.0.1:8080");
    CHECK(o->static_peers[1].id == "10.0.0.2:8080");
    CHECK(o->static_peers[2].id == "10.0.0.3:8080");
    CHECK(o->self.id == "10.0.0.1:8080");
    CHECK_FALSE(o->dns);
    CHECK(o->health.backoff == 3s);
    CHECK(o->health.max_backoff == 36s);
    CHECK(o->probe_interval == 500ms);
    CHECK(o->probe_timeout == 500ms);  // never longer than the interval
    CHECK(o->token == "0123456789abcdef");

    c.peer_probe_interval = 5s;
    CHECK(fleet_membership_options(c, w.hooks())->probe_timeout == 1s);
}

TEST_CASE("several nodes on one host: the port and the bound address pick this one") {
    World w;
    w.local = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
    auto c = base();
    c.peers = "127.0.0.1:18081,127.0.0.1:18082,127.0.0.1:18083";
    c.port = 18082;
    CHECK(fleet_membership_options(c, w.hooks())->self.id == "127.0.0.1:18082");

    c.peers = "127.0.0.2:8080,127.0.0.3:8080";
    c.port = 8080;
    CHECK(error_of(c, w) ==
          "several of --peers are local addresses with port 8080 (127.0.0.2:8080, "
          "127.0.0.3:8080); give --peer-self");
    c.bind_ip = "127.0.0.3";
    CHECK(fleet_membership_options(c, w.hooks())->self.id == "127.0.0.3:8080");
    c.bind_ip = "0.0.0.0";
    c.peer_self = "127.0.0.2";
    CHECK(fleet_membership_options(c, w.hooks())->self.id == "127.0.0.2:8080");
}

TEST_CASE("static list errors") {
    World w;
    w.local = {"10.0.0.1"};
    auto c = base();
    c.peers = "10.0.0.2:8080,10.0.0.3:8080";
    CHECK(error_of(c, w) ==
          "none of --peers is this node (a local address with port 8080); give --peer-self");
    c.peers = "10.0.0.1:9090,10.0.0.3:8080";
    CHECK(error_of(c, w) ==
          "none of --peers is this node (a local address with port 8080); give --peer-self");
    c.peers = "10.0.0.1:8080,nowhere:8080";
    CHECK(error_of(c, w) == "--peers: cannot resolve 'nowhere'");
    w.dns["empty"] = {};
    c.peers = "10.0.0.1:8080,empty:8080";
    CHECK(error_of(c, w) == "--peers: 'empty' has no IPv4 or IPv6 address");
    w.dns["alias"] = {"10.0.0.1"};
    c.peers = "10.0.0.1:8080,alias:8080";
    CHECK(error_of(c, w) == "--peers: 'alias:8080' is 10.0.0.1:8080, named twice");
    c.peers = "10.0.0.1:8080,10.0.0.2:8080";
    c.peer_self = "10.0.0.9";
    CHECK(error_of(c, w) ==
          "--peer-self 10.0.0.9:8080 is not in --peers (every node, this one included, must be "
          "listed)");
}

TEST_CASE("a DNS source: the name and port, and this node from --peer-self") {
    World w;
    auto c = base();
    c.peers_dns = "xs3.cache.svc.cluster.local:8080";
    c.peer_self = "10.4.0.7";
    c.peers_dns_interval = 2s;
    auto o = fleet_membership_options(c, w.hooks());
    REQUIRE(o.ok());
    REQUIRE(o->dns);
    CHECK(o->dns->host == "xs3.cache.svc.cluster.local");
    CHECK(o->dns->port == 8080);
    CHECK(o->dns_interval == 2s);
    CHECK(o->self.id == "10.4.0.7:8080");
    CHECK(o->static_peers.empty());

    c.peer_self = "[fd00::7]:9000";
    CHECK(fleet_membership_options(c, w.hooks())->self.id == "[fd00::7]:9000");
    c.peer_self.reset();
    CHECK(error_of(c, w).rfind("--peers-dns needs --peer-self", 0) == 0);
    c.peer_self = "pod-name";
    CHECK(error_of(c, w) == "--peer-self: cannot resolve 'pod-name'");
}

TEST_CASE("is_local_address binds to loopback and refuses an address that is not ours") {
    CHECK(is_local_address(*fleet::peer_address_from_ip("127.0.0.1", 8080)));
    CHECK(is_local_address(*fleet::peer_address_from_ip("127.0.0.5", 8080)));        // all of 127/8
    CHECK_FALSE(is_local_address(*fleet::peer_address_from_ip("192.0.2.1", 8080)));  // TEST-NET
}
