// The fleet's state for operators: /fleet's JSON document and the fleet families of /metrics,
// from one fleet::MembershipReport snapshot.
#pragma once

#include <optional>
#include <string>

#include "xs3/fleet/membership.hpp"
#include "xs3/ops/prometheus.hpp"

namespace xs3::ops {

// Where one object goes (/fleet?key=...).
struct FleetOwner {
    std::string bucket;
    std::string key;
    std::string version;
    std::string owner;  // the live owner's id
    bool owner_is_self = false;
    std::string nominal;  // the owner if every member were live
};

// {"self":"..","source":"..","generation":N,"live":N,
//  "dns":{"ok":b,"error":"..","lookups":N,"failures":N,"joins":N,"leaves":N},
//  "probes":N,"probe_failures":N,"suspicions":N,
//  "peers":[{"peer":"..","self":b,"state":"live|suspected","backoff_ms":N,
//            "suspected_ms_left":N,"failures":N,"suspicions":N,"last_error":".."}],
//  "object":{"bucket":"..","key":"..","version":"..","owner":"..","owner_is_self":b,
//            "owner_when_all_live":".."}}        (object only when asked)
std::string fleet_json(const fleet::MembershipReport& r, const std::optional<FleetOwner>& owner);

// xs3_fleet_peers{state}, xs3_fleet_peer_up{peer}, xs3_fleet_peer_failures_total{peer},
// and the membership thread's counters.
void append_fleet_metrics(PrometheusText& out, const fleet::MembershipReport& r);

}  // namespace xs3::ops
