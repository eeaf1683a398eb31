// Address blocks in CIDR notation ("10.0.0.0/8", "2001:db8::/32", a bare address for one host)
// and the set of them --allow-clients admits. Every address is held as IPv6, IPv4 ones as
// v4-mapped (::ffff:a.b.c.d, prefix + 96), so an IPv4 rule also matches an IPv4 client that
// reached a dual-stack (::) listener. Pure: no I/O.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "xs3/base/status.hpp"

namespace xs3::net {

using Address16 = std::array<uint8_t, 16>;

struct CidrBlock {
    Address16 address{};  // host bits zero
    unsigned prefix = 0;  // 0..128, counted on the 16-byte form
    bool v4 = false;      // written as IPv4 (for describe())

    bool contains(const Address16& a) const noexcept;
    std::string describe() const;  // "10.0.0.0/8", "2001:db8::/32"
};

// One block: an IPv4 or IPv6 literal, optionally "/<prefix>" (0..32 or 0..128). Refused with a
// message naming the text: anything else, zone ids ("fe80::1%eth0"), and host bits set past the
// prefix ("10.0.0.1/8": a typo more often than not; the message says which block was meant).
Result<CidrBlock> parse_cidr(std::string_view text);

// The 16-byte form of a socket address (AF_INET as v4-mapped, AF_INET6 as is); false for other
// families.
bool address16_of(const sockaddr* sa, socklen_t len, Address16& out) noexcept;

class CidrSet {
  public:
    // A comma-separated list, spaces around the commas allowed; empty entries and an empty list
    // are refused.
    static Result<CidrSet> parse(std::string_view list);

    bool contains(const Address16& a) const noexcept;
    bool contains(const sockaddr* sa, socklen_t len) const noexcept;
    bool empty() const noexcept { return blocks_.empty(); }
    const std::vector<CidrBlock>& blocks() const noexcept { return blocks_; }
    std::string describe() const;  // "10.0.0.0/8,::1/128"

  private:
    std::vector<CidrBlock> blocks_;
};

// The text form of an address ("10.1.2.3" for a v4-mapped one, "2001:db8::1" otherwise).
std::string address16_text(const Address16& a);

// True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: an address only this host can reach.
bool is_loopback_literal(std::string_view ip);

}  // namespace xs3::net
