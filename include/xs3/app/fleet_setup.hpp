// From the configuration to the fleet's membership options: parsing --peers / --peers-dns /
// --peer-self, resolving static peers once at start-up, and finding this node among them.
// Start-up code: blocking lookups are fine here, and errors name the option.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "xs3/base/status.hpp"
#include "xs3/config/config.hpp"
#include "xs3/fleet/membership.hpp"

namespace xs3::app {

// What start-up needs from the world, replaceable in tests.
struct FleetSetupHooks {
    // Every address of a host (resolve_host by default).
    std::function<Result<std::vector<fleet::PeerAddress>>(std::string_view host, uint16_t port)>
        resolve;
    // Whether an address belongs to this host (by default: a socket can bind to it).
    std::function<bool(const fleet::PeerAddress&)> is_local;
};

// True when cfg configures a fleet (--peers or --peers-dns).
bool fleet_configured(const config::Config& cfg);

// The membership options for cfg, which must configure a fleet. An item of --peers that resolves
// to several addresses takes the lowest IPv4 one, else the lowest IPv6 one, so every node picks
// the same. Errors: a name that does not resolve, --peer-self not among --peers, no or several
// local entries when --peer-self is not given, --peers-dns without --peer-self.
Result<fleet::MembershipOptions> fleet_membership_options(const config::Config& cfg,
                                                          const FleetSetupHooks& hooks = {});

// Whether a socket can be bound to `p`'s address (port 0): the address is this host's.
bool is_local_address(const fleet::PeerAddress& p);

}  // namespace xs3::app
