// Name lookups for membership (blocking getaddrinfo: called at start-up and on the membership
// thread, never on a ring).
#pragma once

#include <sys/socket.h>

#include <string_view>
#include <vector>

#include "xs3/base/status.hpp"
#include "xs3/fleet/peer.hpp"

namespace xs3::fleet {

// Every address of `host` (A and AAAA, or only `family` when it is AF_INET or AF_INET6), each
// with `port`; sorted by id, no duplicates. An IP literal is returned as is, without a lookup.
// A name that does not exist (or has no address of that family) is an empty list, not an error:
// a headless Service with no ready pod has no records. Errors are lookups that could not be
// made (resolver unreachable, temporary failure), so the caller keeps what it knew.
Result<std::vector<PeerAddress>> resolve_host(std::string_view host, uint16_t port,
                                              int family = AF_UNSPEC);

}  // namespace xs3::fleet
