// fleet_json and append_fleet_metrics.
#include "xs3/ops/fleet_report.hpp"

#include "xs3/base/json_writer.hpp"

namespace xs3::ops {

std::string fleet_json(const fleet::MembershipReport& r, const std::optional<FleetOwner>& owner) {
    JsonWriter w;
    w.begin_object()
        .field("self", r.self)
        .field("source", r.source)
        .field("generation", r.generation)
        .field("live", static_cast<uint64_t>(r.live));
    w.key("dns")
        .begin_object()
        .field("ok", r.dns_ok)
        .field("error", r.dns_error)
        .field("lookups", r.dns_lookups)
        .field("failures", r.dns_failures)
        .field("joins", r.joins)
        .field("leaves", r.leaves)
        .end_object();
    w.field("probes", r.probes)
        .field("probe_failures", r.probe_failures)
        .field("suspicions", r.suspicions);
    w.key("peers").begin_array();
    for (const auto& p : r.peers) {
        w.begin_object()
            .field("peer", p.address.id)
            .field("self", p.self)
            .field("state", fleet::state_name(p.state))
            .field("backoff_ms", static_cast<uint64_t>(p.backoff.count()))
            .field("suspected_ms_left", static_cast<uint64_t>(p.suspected_left.count()))
            .field("failures", p.failures)
            .field("suspicions", p.suspicions)
            .field("last_error", p.last_error)
            .end_object();
    }
    w.end_array();
    if (owner) {
        w.key("object")
            .begin_object()
            .field("bucket", owner->bucket)
            .field("key", owner->key)
            .field("version", owner->version)
            .field("owner", owner->owner)
            .field("owner_is_self", owner->owner_is_self)
            .field("owner_when_all_live", owner->nominal)
            .end_object();
    }
    w.end_object();
    return w.text();
}

void append_fleet_metrics(PrometheusText& out, const fleet::MembershipReport& r) {
    uint64_t live = 0, suspected = 0;
    for (const auto& p : r.peers)
        (p.state == fleet::PeerState::live ? live : suspected)++;
    out.family("xs3_fleet_peers", "gauge", "Fleet members (this node included) by state");
    out.sample("xs3_fleet_peers", "state", "live", live);
    out.sample("xs3_fleet_peers", "state", "suspected", suspected);
    out.family("xs3_fleet_peer_up", "gauge",
               "1 while a member is live (asked for the keys it owns), 0 while suspected");
    for (const auto& p : r.peers)
        out.sample("xs3_fleet_peer_up", "peer", p.address.id,
                   p.state == fleet::PeerState::live ? 1 : 0);
    out.family("xs3_fleet_peer_failures_total", "counter",
               "Failed peer fills and probes, per member");
    for (const auto& p : r.peers)
        if (!p.self) out.sample("xs3_fleet_peer_failures_total", "peer", p.address.id, p.failures);
    out.counter("xs3_fleet_suspicions_total", "Times a member turned suspected", r.suspicions);
    out.counter("xs3_fleet_probes_total", "/healthz probes of members", r.probes);
    out.counter("xs3_fleet_probe_failures_total", "/healthz probes that failed", r.probe_failures);
    out.counter("xs3_fleet_dns_lookups_total", "Lookups of --peers-dns", r.dns_lookups);
    out.counter("xs3_fleet_dns_failures_total", "Lookups of --peers-dns that failed",
                r.dns_failures);
    out.counter("xs3_fleet_joins_total", "Members that appeared in DNS", r.joins);
    out.counter("xs3_fleet_leaves_total", "Members that left DNS", r.leaves);
    out.gauge("xs3_fleet_generation", "Changes of the live member set", r.generation);
}

}  // namespace xs3::ops
