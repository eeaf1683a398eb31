#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "xs3/net/cidr.hpp"

using namespace xs3;
using namespace xs3::net;

namespace {

Address16 addr(const char* text) {
    auto b = parse_cidr(text);
    REQUIRE_MESSAGE(b.ok(), text);
    REQUIRE(b->prefix == 128);
    return b->address;
}

sockaddr_in v4(const char* text) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, text, &s.sin_addr) == 1);
    return s;
}

sockaddr_in6 v6(const char* text) {
    sockaddr_in6 s{};
    s.sin6_family = AF_INET6;
    REQUIRE(inet_pton(AF_INET6, text, &s.sin6_addr) == 1);
    return s;
}

}  // namespace

TEST_CASE("IPv4 blocks match IPv4 peers and the same peers v4-mapped on a :: listener") {
    auto set = CidrSet::parse("10.0.0.0/8, 192.168.1.7");
    REQUIRE(set.ok());
    CHECK(set->describe() == "10.0.0.0/8,192.168.1.7/32");
    auto in = v4("10.200.3.4");
    CHECK(set->contains(reinterpret_cast<sockaddr*>(&in), sizeof in));
    auto mapped = v6("::ffff:10.200.3.4");
    CHECK(set->contains(reinterpret_cast<sockaddr*>(&mapped), sizeof mapped));
    auto out = v4("11.0.0.1");
    CHECK_FALSE(set->contains(reinterpret_cast<sockaddr*>(&out), sizeof out));
    auto host = v4("192.168.1.7");
    CHECK(set->contains(reinterpret_cast<sockaddr*>(&host), sizeof host));
    auto next = v4("192.168.1.8");
    CHECK_FALSE(set->contains(reinterpret_cast<sockaddr*>(&next), sizeof next));
    // An IPv6 peer is not an IPv4 one, even with the same low bits.
    auto plain6 = v6("::10.200.3.4");
    CHECK_FALSE(set->contains(reinterpret_cast<sockaddr*>(&plain6), sizeof plain6));
    // A truncated sockaddr or another family never matches.
    CHECK_FALSE(set->contains(reinterpret_cast<sockaddr*>(&in), sizeof in - 1));
    sockaddr unix_sa{};
    unix_sa.sa_family = AF_UNIX;
    CHECK_FALSE(set->contains(&unix_sa, sizeof unix_sa));
    CHECK_FALSE(set->contains(nullptr, 0));
}

TEST_CASE("IPv6 blocks, prefix boundaries inside a byte, and the catch-alls") {
    auto set = CidrSet::parse("2001:db8:abcd:12::/63,::1");
    REQUIRE(set.ok());
    CHECK(set->contains(addr("2001:db8:abcd:12::5")));
    CHECK(set->contains(addr("2001:db8:abcd:13:ffff::1")));  // /63: ...12 and ...13
    CHECK_FALSE(set->contains(addr("2001:db8:abcd:14::1")));
    CHECK(set->contains(addr("::1")));
    CHECK_FALSE(set->contains(addr("::2")));
    CHECK_FALSE(set->contains(addr("127.0.0.1")));

    auto nibble = CidrSet::parse("172.16.0.0/12");
    REQUIRE(nibble.ok());
    CHECK(nibble->contains(addr("172.16.0.1")));
    CHECK(nibble->contains(addr("172.31.255.255")));
    CHECK_FALSE(nibble->contains(addr("172.32.0.0")));
    CHECK_FALSE(nibble->contains(addr("172.15.255.255")));

    auto all4 = CidrSet::parse("0.0.0.0/0");
    REQUIRE(all4.ok());
    CHECK(all4->contains(addr("203.0.113.9")));
    CHECK_FALSE(all4->contains(addr("2001:db8::1")));
    auto all = CidrSet::parse("::/0");
    REQUIRE(all.ok());
    CHECK(all->contains(addr("2001:db8::1")));
    CHECK(all->contains(addr("203.0.113.9")));
    CHECK(all->describe() == "::/0");
}

TEST_CASE("bad blocks are refused with a message naming them") {
    auto msg = [](const char* text) {
        auto r = CidrSet::parse(text);
        REQUIRE_FALSE(r.ok());
        return r.status().message();
    };
    CHECK(msg("10.0.0.1/8") ==
          "'10.0.0.1/8' has bits set past its prefix; did you mean 10.0.0.0/8?");
    CHECK(msg("2001:db8::1/32") ==
          "'2001:db8::1/32' has bits set past its prefix; did you mean 2001:db8::/32?");
    CHECK(msg("10.0.0.0/33") == "'10.0.0.0/33': the prefix length must be 0..32");
    CHECK(msg("::/129") == "'::/129': the prefix length must be 0..128");
    CHECK(msg("10.0.0.0/") == "'10.0.0.0/': the prefix length must be a number");
    CHECK(msg("10.0.0.0/+8") == "'10.0.0.0/+8': the prefix length must be a number");
    CHECK(msg("10.0.0.0/0008") == "'10.0.0.0/0008': the prefix length must be a number");
    CHECK(msg("10.0.0") ==
          "'10.0.0' is not an address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)");
    CHECK(msg("fe80::1%eth0").find("is not an address") != std::string::npos);
    CHECK(msg("example.com").find("is not an address") != std::string::npos);
    CHECK(msg("") == "an empty list of CIDR blocks");
    CHECK(msg(" , ") == "an empty entry in the list ' , '");
    CHECK(msg("10.0.0.0/8,,::1") == "an empty entry in the list '10.0.0.0/8,,::1'");
}

TEST_CASE("loopback literals") {
    CHECK(is_loopback_literal("127.0.0.1"));
    CHECK(is_loopback_literal("127.1.2.3"));
    CHECK(is_loopback_literal("::1"));
    CHECK(is_loopback_literal("::ffff:127.0.0.1"));
    CHECK_FALSE(is_loopback_literal("0.0.0.0"));
    CHECK_FALSE(is_loopback_literal("::"));
    CHECK_FALSE(is_loopback_literal("10.0.0.1"));
    CHECK_FALSE(is_loopback_literal("128.0.0.1"));
    CHECK_FALSE(is_loopback_literal("127.0.0.0/8"));
    CHECK(address16_text(addr("::ffff:10.1.2.3")) == "10.1.2.3");
    CHECK(address16_text(addr("2001:db8::1")) == "2001:db8::1");
}

// A fuzzing finding (fuzz_cidr): a v4-mapped block written as IPv6 was described in IPv4 text,
// "10.0.0.0/104", which is no block at all (so the log line and the "did you mean" hint were
// wrong).
TEST_CASE("a v4-mapped block written as IPv6 is described as IPv6 and reads back the same") {
    auto set = CidrSet::parse("::ffff:10.0.0.0/104,10.0.0.0/8");
    REQUIRE(set.ok());
    CHECK(set->describe() == "::ffff:10.0.0.0/104,10.0.0.0/8");
    auto again = CidrSet::parse(set->describe());
    REQUIRE(again.ok());
    REQUIRE(again->blocks().size() == 2);
    CHECK(again->blocks()[0].address == set->blocks()[0].address);
    CHECK(again->blocks()[0].prefix == 104);
    CHECK_FALSE(again->blocks()[0].v4);
    CHECK(again->blocks()[1].v4);
    auto r = CidrSet::parse("::ffff:10.0.0.1/104");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() ==
          "'::ffff:10.0.0.1/104' has bits set past its prefix; did you mean ::ffff:10.0.0.0/104?");
}
