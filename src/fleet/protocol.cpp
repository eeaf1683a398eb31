// Signing and checking peer requests.
#include "xs3/fleet/protocol.hpp"

#include "xs3/base/digest.hpp"

namespace xs3::fleet {
namespace {

std::string string_to_sign(std::string_view hop, std::string_view method, std::string_view target,
                           std::string_view t) {
    std::string s = "xs3-fleet-v1\n";
    s.append(hop).push_back('\n');
    s.append(method).push_back('\n');
    s.append(target).push_back('\n');
    s.append(t);
    return s;
}

bool parse_unix_time(std::string_view t, int64_t& out) {
    if (t.empty() || t.size() > 12) return false;
    int64_t v = 0;
    for (char c : t) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

}  // namespace

std::string sign_peer_request(std::string_view token, std::string_view hop, std::string_view method,
                              std::string_view target, int64_t unix_time) {
    std::string t = std::to_string(unix_time);
    Sha256Digest mac = hmac_sha256(token, string_to_sign(hop, method, target, t));
    return "t=" + t + ",sig=" + hex_lower(mac);
}

std::string_view verdict_name(AuthVerdict v) noexcept {
    switch (v) {
        case AuthVerdict::ok:
            return "ok";
        case AuthVerdict::malformed:
            return "malformed";
        case AuthVerdict::expired:
            return "expired";
        case AuthVerdict::bad_signature:
            return "bad signature";
    }
    return "?";
}

AuthVerdict verify_peer_request(std::string_view token, std::string_view value,
                                std::string_view hop, std::string_view method,
                                std::string_view target, int64_t now_unix) {
    // Exactly "t=<digits>,sig=<64 lowercase hex>".
    if (value.substr(0, 2) != "t=") return AuthVerdict::malformed;
    size_t comma = value.find(',');
    if (comma == std::string_view::npos) return AuthVerdict::malformed;
    std::string_view t = value.substr(2, comma - 2);
    std::string_view rest = value.substr(comma + 1);
    if (rest.substr(0, 4) != "sig=") return AuthVerdict::malformed;
    std::string_view sig = rest.substr(4);
    int64_t when = 0;
    if (!parse_unix_time(t, when) || sig.size() != 64) return AuthVerdict::malformed;
    for (char c : sig)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return AuthVerdict::malformed;
    int64_t skew = now_unix > when ? now_unix - when : when - now_unix;
    if (skew > kAuthWindow.count()) return AuthVerdict::expired;
    std::string want = hex_lower(hmac_sha256(token, string_to_sign(hop, method, target, t)));
    unsigned char diff = 0;
    for (size_t i = 0; i < want.size(); ++i)
        diff |= static_cast<unsigned char>(want[i] ^ sig[i]);
    return diff == 0 ? AuthVerdict::ok : AuthVerdict::bad_signature;
}

HopVerdict judge_hop(const HopRequest& r, bool in_fleet, std::string_view token,
                     bool remote_is_member) {
    using K = HopVerdict::Kind;
    if (r.hop == nullptr) return {K::client, ""};
    if (!in_fleet) return {K::refused, "this node is not in a fleet"};
    if (r.hop->empty()) return {K::refused, "empty x-xs3-hop"};
    if (!token.empty()) {
        if (r.auth == nullptr) return {K::refused, "no x-xs3-fleet-auth (a fleet token is set)"};
        AuthVerdict v = verify_peer_request(token, *r.auth, *r.hop, r.method, r.target, r.now_unix);
        if (v != AuthVerdict::ok)
            return {K::refused, "x-xs3-fleet-auth: " + std::string(verdict_name(v))};
        return {K::peer, ""};
    }
    if (!remote_is_member)
        return {K::refused, "from " +
                                (r.remote_ip.empty() ? std::string("an unknown address")
                                                     : std::string(r.remote_ip)) +
                                ", not a member's address (and no fleet token is set)"};
    return {K::peer, ""};
}

}  // namespace xs3::fleet
