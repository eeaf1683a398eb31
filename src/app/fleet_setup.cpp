// fleet_membership_options: the fleet's start-up configuration.
#include "xs3/app/fleet_setup.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "xs3/base/unique_fd.hpp"
#include "xs3/config/values.hpp"
#include "xs3/fleet/resolver.hpp"

namespace xs3::app {
namespace {

Status bad(std::string message) {
    return Status(Code::invalid_argument, std::move(message));
}

// The address bytes in network order: comparing them orders addresses numerically.
std::string_view address_bytes(const fleet::PeerAddress& p) {
    if (p.family() == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(p.sa());
        return {reinterpret_cast<const char*>(&in->sin_addr), 4};
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(p.sa());
    return {reinterpret_cast<const char*>(&in6->sin6_addr), 16};
}

// One address for one host: the numerically lowest IPv4, else the lowest IPv6, so every node
// that resolves the same records picks the same one.
Result<fleet::PeerAddress> one_address(const FleetSetupHooks& hooks, const fleet::HostPort& hp,
                                       std::string_view option) {
    auto all = hooks.resolve(hp.host, hp.port);
    if (!all) return bad(std::string(option) + ": " + all.status().message());
    if (all->empty())
        return bad(std::string(option) + ": '" + hp.host + "' has no IPv4 or IPv6 address");
    return *std::min_element(all->begin(), all->end(),
                             [](const fleet::PeerAddress& a, const fleet::PeerAddress& b) {
                                 if (a.family() != b.family()) return a.family() == AF_INET;
                                 return address_bytes(a) < address_bytes(b);
                             });
}

// The fleet token from a file (a mounted Secret): its content without surrounding whitespace (a
// trailing newline), held to the same rule as fleet_token. The error never shows the content.
Result<std::string> read_token_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return bad("--fleet-token-file: cannot read '" + path + "'");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t a = text.find_first_not_of(" \t\r\n");
    size_t b = text.find_last_not_of(" \t\r\n");
    text = a == std::string::npos ? std::string() : text.substr(a, b - a + 1);
    auto token = config::Token::parse(text);
    if (!token.ok()) return bad("--fleet-token-file '" + path + "': " + token.status().message());
    return std::move(token).value();
}

}  // namespace

bool is_local_address(const fleet::PeerAddress& p) {
    UniqueFd fd(::socket(p.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return false;
    sockaddr_storage a = p.addr;
    if (p.family() == AF_INET)
        reinterpret_cast<sockaddr_in*>(&a)->sin_port = 0;
    else
        reinterpret_cast<sockaddr_in6*>(&a)->sin6_port = 0;
    return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), p.addr_len) == 0;
}

bool fleet_configured(const config::Config& cfg) {
    return cfg.peers.has_value() || cfg.peers_dns.has_value();
}

Result<fleet::MembershipOptions> fleet_membership_options(const config::Config& cfg,
                                                          const FleetSetupHooks& given) {
    FleetSetupHooks hooks = given;
    if (!hooks.resolve)
        hooks.resolve = [](std::string_view host, uint16_t port) {
            return fleet::resolve_host(host, port);
        };
    if (!hooks.is_local) hooks.is_local = is_local_address;

    fleet::MembershipOptions o;
    o.dns_interval = cfg.peers_dns_interval;
    o.probe_interval = cfg.peer_probe_interval;
    // A probe round blocks only the membership's own thread; a longer timeout than the interval
    // delays the next round, nothing else.
    o.probe_timeout = cfg.peer_probe_timeout.value_or(
        std::min(cfg.peer_probe_interval, std::chrono::milliseconds(1000)));
    o.health.backoff = cfg.peer_backoff;
    o.health.max_backoff = cfg.peer_backoff * 12;
    if (cfg.fleet_token) o.token = *cfg.fleet_token;
    if (cfg.fleet_token_file) {
        auto token = read_token_file(*cfg.fleet_token_file);
        if (!token.ok()) return token.status();
        o.token = std::move(token).value();
    }

    std::optional<fleet::PeerAddress> self;
    if (cfg.peer_self) {
        auto hp = fleet::parse_host_port(*cfg.peer_self, cfg.port);
        if (!hp) return bad("--peer-self: " + hp.status().message());
        auto a = one_address(hooks, *hp, "--peer-self");
        if (!a) return a.status();
        self = std::move(*a);
    }

    if (cfg.peers_dns) {
        auto hp = fleet::parse_host_port(*cfg.peers_dns, std::nullopt);
        if (!hp) return bad("--peers-dns: " + hp.status().message());
        if (!self)
            return bad(
                "--peers-dns needs --peer-self (this node's address as the other nodes see it, "
                "e.g. the pod IP from the downward API)");
        o.dns = *hp;
        o.self = *self;
        return o;
    }

    auto items = fleet::parse_host_port_list(*cfg.peers);
    if (!items) return bad("--peers: " + items.status().message());
    for (const auto& hp : *items) {
        auto a = one_address(hooks, hp, "--peers");
        if (!a) return a.status();
        if (std::any_of(o.static_peers.begin(), o.static_peers.end(),
                        [&](const fleet::PeerAddress& p) { return p.id == a->id; }))
            return bad("--peers: '" + hp.host + ":" + std::to_string(hp.port) + "' is " + a->id +
                       ", named twice");
        o.static_peers.push_back(std::move(*a));
    }
    if (self) {
        bool listed = std::any_of(o.static_peers.begin(), o.static_peers.end(),
                                  [&](const fleet::PeerAddress& p) { return p.id == self->id; });
        if (!listed)
            return bad("--peer-self " + self->id +
                       " is not in --peers (every node, this one included, must be listed)");
        o.self = *self;
        return o;
    }
    // This node: the entries on our port whose address is ours (and, when listening on one
    // address, that one).
    auto bind_ip = fleet::peer_address_from_ip(cfg.bind_ip, cfg.port);
    bool wildcard = !bind_ip || bind_ip->ip == "0.0.0.0" || bind_ip->ip == "::";
    std::vector<fleet::PeerAddress> mine;
    for (const auto& p : o.static_peers) {
        if (p.port != cfg.port) continue;
        if (!wildcard && p.ip != bind_ip->ip) continue;
        if (hooks.is_local(p)) mine.push_back(p);
    }
    if (mine.empty())
        return bad("none of --peers is this node (a local address with port " +
                   std::to_string(cfg.port) + "); give --peer-self");
    if (mine.size() > 1)
        return bad("several of --peers are local addresses with port " + std::to_string(cfg.port) +
                   " (" + mine[0].id + ", " + mine[1].id + "); give --peer-self");
    o.self = mine.front();
    return o;
}

}  // namespace xs3::app
