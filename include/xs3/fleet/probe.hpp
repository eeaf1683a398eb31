// The cheap health probe: GET /healthz on a peer's proxy port, many peers at once, with one
// deadline for all. Blocking (poll over non-blocking sockets): it runs on the membership thread,
// never on a ring.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xs3/fleet/peer.hpp"

namespace xs3::fleet {

struct ProbeOutcome {
    bool answered = false;  // 200 to GET /healthz
    std::string why;        // when not: "connect: Connection refused", "timeout", "status 503"
};

// The request a probe sends. It carries the hop header (and the fleet token, when set) so the
// peer knows it from a client.
std::string probe_request(std::string_view host_id, std::string_view token);

// The status code of an HTTP/1.x status line at the start of `head` ("HTTP/1.1 200 OK\r\n"),
// nullopt while the line is incomplete or when it is not one (see the outcome's `why`).
struct StatusLine {
    bool complete = false;  // a full line was seen
    int status = 0;         // 0 when the line is not an HTTP/1.x status line
};
StatusLine parse_status_line(std::string_view head) noexcept;

// Probes every peer at once; outcome i belongs to peers[i]. Returns within about `timeout`.
std::vector<ProbeOutcome> probe_healthz(std::span<const PeerAddress> peers,
                                        std::chrono::milliseconds timeout, std::string_view token);

}  // namespace xs3::fleet
