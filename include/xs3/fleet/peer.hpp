// Peer addresses: "host:port" as the operator writes them (--peers, --peers-dns, --peer-self),
// and the resolved address every node names a peer by. The identity ("10.0.0.7:8080",
// "[fd00::7]:8080": the canonical inet_ntop form and the port) is what rendezvous hashing
// hashes, so every node must spell a peer the same way: it is built only from a resolved
// address, never from what was typed.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xs3/base/status.hpp"

namespace xs3::fleet {

// What the operator wrote: a host (name, IPv4 literal, or IPv6 literal without brackets) and a
// port.
struct HostPort {
    std::string host;
    uint16_t port = 0;
    bool operator==(const HostPort&) const = default;
};

// "host:port", "1.2.3.4:80", "[fd00::1]:80". With default_port, "host", "1.2.3.4", "[fd00::1]" and
// a bare IPv6 literal ("fd00::1") take it. Errors name the text: an empty host, a missing or bad
// port (1..65535), a bracket without its partner, characters no host name has.
Result<HostPort> parse_host_port(std::string_view text, std::optional<uint16_t> default_port);

// A comma-separated list of host:port (spaces around items ignored). Empty items, an empty list
// and the same item twice are errors.
Result<std::vector<HostPort>> parse_host_port_list(std::string_view text);

// A resolved peer: its socket address and its identity.
struct PeerAddress {
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    std::string ip;  // canonical text of the address, without brackets
    uint16_t port = 0;
    std::string id;  // "ip:port", IPv6 as "[ip]:port"

    int family() const noexcept { return addr.ss_family; }
    const sockaddr* sa() const noexcept { return reinterpret_cast<const sockaddr*>(&addr); }
};

// From an IP literal (no name lookup): nullopt when `ip` is not one. An IPv4-mapped IPv6 address
// (::ffff:10.0.0.1) becomes the IPv4 address, so the two spellings are one peer.
std::optional<PeerAddress> peer_address_from_ip(std::string_view ip, uint16_t port);
// From a socket address (getaddrinfo, getpeername); the port of `sa` is replaced by `port`.
std::optional<PeerAddress> peer_address_from_sockaddr(const sockaddr* sa, socklen_t len,
                                                      uint16_t port);

// The canonical text of a socket address's IP (IPv4-mapped IPv6 as IPv4), or "" if it is neither
// IPv4 nor IPv6. For comparing a connection's remote address with peers' addresses.
std::string canonical_ip(const sockaddr* sa, socklen_t len);

}  // namespace xs3::fleet
