// getaddrinfo for membership.
#include "xs3/fleet/resolver.hpp"

#include <netdb.h>

#include <algorithm>
#include <string>

namespace xs3::fleet {

Result<std::vector<PeerAddress>> resolve_host(std::string_view host, uint16_t port, int family) {
    std::vector<PeerAddress> out;
    if (auto literal = peer_address_from_ip(host, port)) {
        if (family == AF_UNSPEC || literal->family() == family) out.push_back(std::move(*literal));
        return out;
    }
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string name(host);
    int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res);
    if (rc == EAI_NONAME || rc == EAI_NODATA) return out;
    if (rc != 0)
        return Status(Code::unavailable,
                      "cannot resolve '" + name + "': " + std::string(::gai_strerror(rc)));
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        auto p = peer_address_from_sockaddr(ai->ai_addr, ai->ai_addrlen, port);
        if (!p || (family != AF_UNSPEC && p->family() != family)) continue;
        out.push_back(std::move(*p));
    }
    ::freeaddrinfo(res);
    std::sort(out.begin(), out.end(),
              [](const PeerAddress& a, const PeerAddress& b) { return a.id < b.id; });
    out.erase(std::unique(out.begin(), out.end(),
                          [](const PeerAddress& a, const PeerAddress& b) { return a.id == b.id; }),
              out.end());
    return out;
}

}  // namespace xs3::fleet
