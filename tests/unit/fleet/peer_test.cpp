// Tests of host:port parsing and canonical peer identities.
#include "xs3/fleet/peer.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <cstring>

using namespace xs3::fleet;

TEST_CASE("host:port forms") {
    auto a = parse_host_port("10.0.0.1:8080", std::nullopt);
    REQUIRE(a.ok());
    CHECK(a->host == "10.0.0.1");
    CHECK(a->port == 8080);

    auto b = parse_host_port("  xs3-fleet.cache.svc.cluster.local:80 ", std::nullopt);
    REQUIRE(b.ok());
    CHECK(b->host == "xs3-fleet.cache.svc.cluster.local");
    CHECK(b->port == 80);

    auto c = parse_host_port("[fd00::7]:8080", std::nullopt);
    REQUIRE(c.ok());
    CHECK(c->host == "fd00::7");
    CHECK(c->port == 8080);

    // A default port fills in what is missing.
    CHECK(parse_host_port("10.0.0.1", 9000)->port == 9000);
    CHECK(parse_host_port("[fd00::7]", 9000)->host == "fd00::7");
    CHECK(parse_host_port("fd00::7", 9000)->host == "fd00::7");
    CHECK(parse_host_port("fd00::7", 9000)->port == 9000);
    CHECK(parse_host_port("10.0.0.1:1", 9000)->port == 1);
    CHECK(parse_host_port("10.0.0.1:65535", std::nullopt)->port == 65535);
}

TEST_CASE("host:port errors name the text") {
    auto expect = [](std::string_view text, std::optional<uint16_t> dflt, std::string message) {
        auto r = parse_host_port(text, dflt);
        REQUIRE_FALSE(r.ok());
        CHECK(r.status().message() == message);
    };
    expect("10.0.0.1", std::nullopt, "'10.0.0.1' has no port (write host:port)");
    expect("10.0.0.1:", std::nullopt, "'10.0.0.1:' has no valid port (1..65535)");
    expect("10.0.0.1:0", std::nullopt, "'10.0.0.1:0' has no valid port (1..65535)");
    expect("10.0.0.1:65536", std::nullopt, "'10.0.0.1:65536' has no valid port (1..65535)");
    expect("10.0.0.1:80x", std::nullopt, "'10.0.0.1:80x' has no valid port (1..65535)");
    expect("10.0.0.1:123456", std::nullopt, "'10.0.0.1:123456' has no valid port (1..65535)");
    expect(":80", std::nullopt, "':80' has no host");
    expect("", 80, "an empty address is not allowed");
    expect("   ", 80, "an empty address is not allowed");
    expect("[fd00::7:80", std::nullopt, "'[fd00::7:80' has '[' without ']'");
    expect("[node]:80", std::nullopt, "'[node]:80': 'node' in brackets is not an IPv6 address");
    expect("[fd00::7]80", std::nullopt, "'[fd00::7]80' has text after ']' that is not :port");
    expect("fd00::7:80x", std::nullopt,
           "'fd00::7:80x' is not host:port (write IPv6 addresses as [addr]:port)");
    expect("fd00::7", std::nullopt, "'fd00::7' has no port (write host:port)");
    expect("no de:80", std::nullopt, "'no de:80' is not a valid host name or address");
    expect("node/x:80", std::nullopt, "'node/x:80' is not a valid host name or address");
    expect("fd00::7]:80", std::nullopt,
           "'fd00::7]:80' is not host:port (write IPv6 addresses as [addr]:port)");
}

TEST_CASE("peer lists") {
    auto l = parse_host_port_list("10.0.0.1:8080, 10.0.0.2:8080,[fd00::1]:81");
    REQUIRE(l.ok());
    REQUIRE(l->size() == 3);
    CHECK((*l)[0] == HostPort{"10.0.0.1", 8080});
    CHECK((*l)[1] == HostPort{"10.0.0.2", 8080});
    CHECK((*l)[2] == HostPort{"fd00::1", 81});

    CHECK(parse_host_port_list("").status().message() == "an empty peer list is not allowed");
    CHECK(parse_host_port_list("a:1,,b:2").status().message() ==
          "the peer list 'a:1,,b:2' has an empty item");
    CHECK(parse_host_port_list("a:1,").status().message() ==
          "the peer list 'a:1,' has an empty item");
    CHECK(parse_host_port_list("a:1, a:1").status().message() == "the peer list names 'a:1' twice");
    CHECK(parse_host_port_list("a:1,b").status().message() == "'b' has no port (write host:port)");
}

TEST_CASE("peer identities are canonical") {
    auto v4 = peer_address_from_ip("10.0.0.1", 8080);
    REQUIRE(v4);
    CHECK(v4->id == "10.0.0.1:8080");
    CHECK(v4->ip == "10.0.0.1");
    CHECK(v4->family() == AF_INET);
    CHECK(v4->addr_len == sizeof(sockaddr_in));
    const auto* in = reinterpret_cast<const sockaddr_in*>(v4->sa());
    CHECK(ntohs(in->sin_port) == 8080);

    // Spellings of one IPv6 address are one peer.
    auto a = peer_address_from_ip("FD00:0000::0007", 81);
    auto b = peer_address_from_ip("fd00::7", 81);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->id == "[fd00::7]:81");
    CHECK(a->id == b->id);
    CHECK(a->family() == AF_INET6);

    // IPv4-mapped IPv6 is the IPv4 peer (a dual-stack socket reports clients that way).
    auto m = peer_address_from_ip("::ffff:10.0.0.1", 8080);
    REQUIRE(m);
    CHECK(m->id == "10.0.0.1:8080");
    CHECK(m->family() == AF_INET);

    CHECK_FALSE(peer_address_from_ip("node-1", 80));
    CHECK_FALSE(peer_address_from_ip("", 80));
    CHECK_FALSE(peer_address_from_ip("10.0.0.256", 80));
}

TEST_CASE("canonical_ip of socket addresses") {
    sockaddr_in6 s6{};
    s6.sin6_family = AF_INET6;
    REQUIRE(inet_pton(AF_INET6, "::ffff:192.168.1.9", &s6.sin6_addr) == 1);
    CHECK(canonical_ip(reinterpret_cast<sockaddr*>(&s6), sizeof s6) == "192.168.1.9");
    REQUIRE(inet_pton(AF_INET6, "2001:db8:0:0:0:0:0:1", &s6.sin6_addr) == 1);
    CHECK(canonical_ip(reinterpret_cast<sockaddr*>(&s6), sizeof s6) == "2001:db8::1");
    sockaddr_in s4{};
    s4.sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, "127.0.0.3", &s4.sin_addr) == 1);
    CHECK(canonical_ip(reinterpret_cast<sockaddr*>(&s4), sizeof s4) == "127.0.0.3");
    // Too short for its family, or another family: no address.
    CHECK(canonical_ip(reinterpret_cast<sockaddr*>(&s4), 4) == "");
    sockaddr un{};
    un.sa_family = AF_UNIX;
    CHECK(canonical_ip(&un, sizeof un) == "");
    CHECK(canonical_ip(nullptr, 0) == "");
    auto p = peer_address_from_sockaddr(reinterpret_cast<sockaddr*>(&s4), sizeof s4, 9999);
    REQUIRE(p);
    CHECK(p->id == "127.0.0.3:9999");
}
