// The peer protocol's wire constants and its one piece of cryptography (pure; docs/design.md
// "Fleet" describes the protocol as a whole).
//
// A peer fill is a GET to the owner's proxy port that carries
//   x-xs3-hop: <the asking node's id>            the owner serves it itself, never forwards it
//   x-xs3-fleet-auth: t=<unix seconds>,sig=<hex> only when a fleet token is configured
// sig = hex(HMAC-SHA256(token, "xs3-fleet-v1\n" hop "\n" METHOD "\n" target "\n" t)): the token
// itself never crosses the wire, a signature binds one request target, and it is good for
// kAuthWindow either side of the owner's clock (a captured header cannot be replayed later or
// for another object).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace xs3::fleet {

inline constexpr std::string_view kHopHeader = "x-xs3-hop";
inline constexpr std::string_view kAuthHeader = "x-xs3-fleet-auth";
// x-cache on the asking node when the bytes came from the owning peer.
inline constexpr std::string_view kPeerCacheStatus = "MISS-PEER";
inline constexpr std::chrono::seconds kAuthWindow{300};

// The x-xs3-fleet-auth value for a request.
std::string sign_peer_request(std::string_view token, std::string_view hop, std::string_view method,
                              std::string_view target, int64_t unix_time);

enum class AuthVerdict { ok, malformed, expired, bad_signature };
std::string_view verdict_name(AuthVerdict v) noexcept;

// Checks an x-xs3-fleet-auth value against the token (constant-time compare of the signature).
AuthVerdict verify_peer_request(std::string_view token, std::string_view header_value,
                                std::string_view hop, std::string_view method,
                                std::string_view target, int64_t now_unix);

// What the owner decides about a request that may be a peer fill (proxy asks before its client
// rules; `membership_ip` says whether an address is a current member's).
struct HopRequest {
    const std::string* hop = nullptr;   // the x-xs3-hop value, if any
    const std::string* auth = nullptr;  // the x-xs3-fleet-auth value, if any
    std::string_view method;
    std::string_view target;     // as received: path and query
    std::string_view remote_ip;  // canonical text of the connection's peer address ("" unknown)
    int64_t now_unix = 0;
};
struct HopVerdict {
    enum class Kind {
        client,   // no hop header: an ordinary client request
        peer,     // a trusted peer fill: skip the client rules, never forward
        refused,  // a hop header we cannot honour: 403
    };
    Kind kind = Kind::client;
    std::string why;  // for refused: what was wrong (logged, not sent)
};
// `in_fleet`: this node has a membership. With a token, the signature decides (the address is
// not enough: pod IPs are reused); without one, the remote address must be a member's.
HopVerdict judge_hop(const HopRequest& r, bool in_fleet, std::string_view token,
                     bool remote_is_member);

}  // namespace xs3::fleet
