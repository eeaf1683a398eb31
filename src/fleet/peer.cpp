// Parsing host:port lists and naming resolved peers canonically.
#include "xs3/fleet/peer.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace xs3::fleet {
namespace {

Status bad(std::string message) {
    return Status(Code::invalid_argument, std::move(message));
}

std::string quoted(std::string_view t) {
    return "'" + std::string(t) + "'";
}

std::string_view trim_spaces(std::string_view t) {
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t'))
        t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t'))
        t.remove_suffix(1);
    return t;
}

bool is_ipv6_literal(std::string_view host) {
    if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return false;
    std::string s(host);
    in6_addr a{};
    return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// Letters, digits, '-', '_' and '.' (DNS names, Kubernetes service names, IPv4 literals).
bool is_host_name(std::string_view host) {
    if (host.empty() || host.size() > 253) return false;
    return std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.';
    });
}

Result<uint16_t> parse_port(std::string_view text, std::string_view whole) {
    if (text.empty() || text.size() > 5)
        return bad(quoted(whole) + " has no valid port (1..65535)");
    uint32_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return bad(quoted(whole) + " has no valid port (1..65535)");
        v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    if (v == 0 || v > 65535) return bad(quoted(whole) + " has no valid port (1..65535)");
    return static_cast<uint16_t>(v);
}

}  // namespace

Result<HostPort> parse_host_port(std::string_view text, std::optional<uint16_t> default_port) {
    std::string_view t = trim_spaces(text);
    if (t.empty()) return bad("an empty address is not allowed");
    HostPort hp;
    std::string_view port_text;
    bool has_port = false;
    if (t.front() == '[') {
        size_t close = t.find(']');
        if (close == std::string_view::npos) return bad(quoted(t) + " has '[' without ']'");
        std::string_view host = t.substr(1, close - 1);
        if (!is_ipv6_literal(host))
            return bad(quoted(t) + ": '" + std::string(host) +
                       "' in brackets is not an IPv6 address");
        hp.host = std::string(host);
        std::string_view rest = t.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':')
                return bad(quoted(t) + " has text after ']' that is not :port");
            port_text = rest.substr(1);
            has_port = true;
        }
    } else if (std::count(t.begin(), t.end(), ':') > 1) {
        // An IPv6 literal without brackets cannot carry a port.
        if (!is_ipv6_literal(t))
            return bad(quoted(t) + " is not host:port (write IPv6 addresses as [addr]:port)");
        hp.host = std::string(t);
    } else {
        size_t colon = t.find(':');
        hp.host = std::string(t.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = t.substr(colon + 1);
            has_port = true;
        }
        if (hp.host.empty()) return bad(quoted(t) + " has no host");
        if (!is_host_name(hp.host)) return bad(quoted(t) + " is not a valid host name or address");
    }
    if (has_port) {
        auto p = parse_port(port_text, t);
        if (!p) return p.status();
        hp.port = *p;
    } else if (default_port) {
        hp.port = *default_port;
    } else {
        return bad(quoted(t) + " has no port (write host:port)");
    }
    return hp;
}

Result<std::vector<HostPort>> parse_host_port_list(std::string_view text) {
    std::vector<HostPort> out;
    if (trim_spaces(text).empty()) return bad("an empty peer list is not allowed");
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string_view::npos) comma = text.size();
        std::string_view item = trim_spaces(text.substr(start, comma - start));
        if (item.empty()) return bad("the peer list " + quoted(text) + " has an empty item");
        auto hp = parse_host_port(item, std::nullopt);
        if (!hp) return hp.status();
        if (std::find(out.begin(), out.end(), *hp) != out.end())
            return bad("the peer list names " + quoted(item) + " twice");
        out.push_back(std::move(*hp));
        start = comma + 1;
    }
    return out;
}

std::string canonical_ip(const sockaddr* sa, socklen_t len) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (sa == nullptr) return "";
    if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) == nullptr) return "";
        return buf;
    }
    if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            in_addr v4{};
            std::memcpy(&v4, &in6->sin6_addr.s6_addr[12], 4);
            if (inet_ntop(AF_INET, &v4, buf, sizeof buf) == nullptr) return "";
            return buf;
        }
        if (inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf) == nullptr) return "";
        return buf;
    }
    return "";
}

std::optional<PeerAddress> peer_address_from_sockaddr(const sockaddr* sa, socklen_t len,
                                                      uint16_t port) {
    std::string ip = canonical_ip(sa, len);
    if (ip.empty()) return std::nullopt;
    return peer_address_from_ip(ip, port);
}

std::optional<PeerAddress> peer_address_from_ip(std::string_view ip_text, uint16_t port) {
    if (ip_text.empty() || ip_text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    std::string text(ip_text);
    PeerAddress p;
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
        auto* in = reinterpret_cast<sockaddr_in*>(&p.addr);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr = v4;
        p.addr_len = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&v6)) {
            auto* in = reinterpret_cast<sockaddr_in*>(&p.addr);
            in->sin_family = AF_INET;
            in->sin_port = htons(port);
            std::memcpy(&in->sin_addr, &v6.s6_addr[12], 4);
            p.addr_len = sizeof(sockaddr_in);
        } else {
            auto* in6 = reinterpret_cast<sockaddr_in6*>(&p.addr);
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(port);
            in6->sin6_addr = v6;
            p.addr_len = sizeof(sockaddr_in6);
        }
    } else {
        return std::nullopt;
    }
    p.ip = canonical_ip(p.sa(), p.addr_len);
    p.port = port;
    p.id = p.family() == AF_INET6 ? "[" + p.ip + "]:" + std::to_string(port)
                                  : p.ip + ":" + std::to_string(port);
    return p;
}

}  // namespace xs3::fleet
