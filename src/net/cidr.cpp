// CIDR blocks and the --allow-clients set.
#include "xs3/net/cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace xs3::net {
namespace {

Status bad(std::string message) {
    return Status(Code::invalid_argument, std::move(message));
}

constexpr Address16 kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};

bool is_v4_mapped(const Address16& a) {
    return std::memcmp(a.data(), kMappedPrefix.data(), 12) == 0;
}

bool prefix_equal(const Address16& a, const Address16& b, unsigned prefix) {
    const unsigned whole = prefix / 8, rest = prefix % 8;
    if (std::memcmp(a.data(), b.data(), whole) != 0) return false;
    if (rest == 0) return true;
    const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

Address16 masked(Address16 a, unsigned prefix) {
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned bits = prefix > i * 8 ? std::min(8u, prefix - i * 8) : 0;
        a[i] &= static_cast<uint8_t>(bits == 0 ? 0 : 0xff << (8 - bits));
    }
    return a;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

bool CidrBlock::contains(const Address16& a) const noexcept {
    return prefix_equal(address, a, prefix);
}

std::string CidrBlock::describe() const {
    if (v4) return address16_text(address) + "/" + std::to_string(prefix - 96);
    // Written as IPv6, described as IPv6 even when v4-mapped: "::ffff:10.0.0.0/104", not
    // "10.0.0.0/104" (which is no block at all; a fuzzing finding).
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, address.data(), buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(prefix);
}

Result<CidrBlock> parse_cidr(std::string_view text) {
    const std::string quoted = "'" + std::string(text) + "'";
    if (text.empty() || text.size() > 64) return bad(quoted + " is not an address or CIDR block");
    size_t slash = text.find('/');
    std::string addr(text.substr(0, slash));
    CidrBlock b;
    unsigned char buf[sizeof(in6_addr)];
    unsigned max_prefix;
    if (inet_pton(AF_INET, addr.c_str(), buf) == 1) {
        b.v4 = true;
        b.address = kMappedPrefix;
        std::memcpy(b.address.data() + 12, buf, 4);
        max_prefix = 32;
    } else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
        std::memcpy(b.address.data(), buf, 16);
        max_prefix = 128;
    } else {
        return bad(quoted + " is not an address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)");
    }
    unsigned prefix = max_prefix;
    if (slash != std::string_view::npos) {
        std::string_view p = text.substr(slash + 1);
        if (p.empty() || p.size() > 3) return bad(quoted + ": the prefix length must be a number");
        prefix = 0;
        for (char c : p) {
            if (c < '0' || c > '9') return bad(quoted + ": the prefix length must be a number");
            prefix = prefix * 10 + static_cast<unsigned>(c - '0');
        }
        if (prefix > max_prefix)
            return bad(quoted + ": the prefix length must be 0.." + std::to_string(max_prefix));
    }
    b.prefix = b.v4 ? prefix + 96 : prefix;
    const Address16 m = masked(b.address, b.prefix);
    if (m != b.address) {
        CidrBlock meant = b;
        meant.address = m;
        return bad(quoted + " has bits set past its prefix; did you mean " + meant.describe() +
                   "?");
    }
    return b;
}

bool address16_of(const sockaddr* sa, socklen_t len, Address16& out) noexcept {
    if (sa == nullptr) return false;
    if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        out = kMappedPrefix;
        std::memcpy(out.data() + 12, &in->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        std::memcpy(out.data(), &in6->sin6_addr, 16);
        return true;
    }
    return false;
}

Result<CidrSet> CidrSet::parse(std::string_view list) {
    CidrSet set;
    if (trim(list).empty()) return bad("an empty list of CIDR blocks");
    size_t pos = 0;
    while (pos <= list.size()) {
        size_t comma = list.find(',', pos);
        if (comma == std::string_view::npos) comma = list.size();
        std::string_view item = trim(list.substr(pos, comma - pos));
        if (item.empty()) return bad("an empty entry in the list '" + std::string(list) + "'");
        auto b = parse_cidr(item);
        if (!b.ok()) return b.status();
        set.blocks_.push_back(*b);
        pos = comma + 1;
    }
    return set;
}

bool CidrSet::contains(const Address16& a) const noexcept {
    for (const auto& b : blocks_)
        if (b.contains(a)) return true;
    return false;
}

bool CidrSet::contains(const sockaddr* sa, socklen_t len) const noexcept {
    Address16 a;
    return address16_of(sa, len, a) && contains(a);
}

std::string CidrSet::describe() const {
    std::string out;
    for (const auto& b : blocks_) {
        if (!out.empty()) out += ',';
        out += b.describe();
    }
    return out;
}

std::string address16_text(const Address16& a) {
    char buf[INET6_ADDRSTRLEN];
    if (is_v4_mapped(a)) {
        inet_ntop(AF_INET, a.data() + 12, buf, sizeof buf);
    } else {
        inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
    }
    return buf;
}

bool is_loopback_literal(std::string_view ip) {
    auto b = parse_cidr(ip);
    if (!b.ok() || b->prefix != 128) return false;
    static const CidrBlock v4_loop = *parse_cidr("127.0.0.0/8");
    static const CidrBlock v6_loop = *parse_cidr("::1");
    return v4_loop.contains(b->address) || v6_loop.contains(b->address);
}

}  // namespace xs3::net
