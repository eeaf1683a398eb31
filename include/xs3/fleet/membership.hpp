// Membership: who the peers are (a static list, or the A/AAAA records of a DNS name looked up
// again every few seconds), which of them this node believes live (PeerHealth: passive failure
// reports from the rings, /healthz probes from its own thread), and the owner of a key among the
// live ones (rendezvous hashing; this node is always one of them).
//
// Threads: one background thread of its own does the DNS lookups and the probes (both block, so
// never on a ring). Rings call owner(), request_failed() and request_succeeded(); the admin
// listener calls report(). All of it is under one mutex; owner() copies a shared pointer to an
// immutable view of the live peers under it and hashes outside it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "xs3/base/status.hpp"
#include "xs3/fleet/health.hpp"
#include "xs3/fleet/peer.hpp"
#include "xs3/fleet/probe.hpp"

namespace xs3::fleet {

struct MembershipOptions {
    // Exactly one source: static peers (resolved; `self` is one of them), or a DNS name whose
    // records of self's address family are the peers, each at the name's port.
    std::vector<PeerAddress> static_peers;
    std::optional<HostPort> dns;
    PeerAddress self;
    std::chrono::milliseconds dns_interval{5000};
    std::chrono::milliseconds probe_interval{2000};
    std::chrono::milliseconds probe_timeout{1000};
    HealthOptions health;
    std::string token;  // the fleet token ("": none); probes are signed with it
};

// What the thread does that touches the world, replaceable in tests.
struct MembershipHooks {
    std::function<Result<std::vector<PeerAddress>>(const HostPort& name, int family)> resolve;
    std::function<std::vector<ProbeOutcome>(std::span<const PeerAddress> peers)> probe;
    std::function<Clock::time_point()> now;
};

struct PeerReport {
    PeerAddress address;
    bool self = false;
    PeerState state = PeerState::live;
    std::chrono::milliseconds backoff{0};
    std::chrono::milliseconds suspected_left{0};  // until the next probe may clear it
    uint64_t failures = 0;
    uint64_t suspicions = 0;
    std::string last_error;
};

struct MembershipReport {
    std::string self;
    std::string source;             // "static" or "dns <name>:<port>"
    uint64_t generation = 0;        // bumped whenever the live set changes
    std::vector<PeerReport> peers;  // by id
    size_t live = 0;                // self included
    // The last DNS lookup (DNS source only).
    bool dns_ok = true;
    std::string dns_error;
    uint64_t dns_lookups = 0;
    uint64_t dns_failures = 0;
    uint64_t probes = 0;
    uint64_t probe_failures = 0;
    uint64_t suspicions = 0;
    uint64_t joins = 0;   // peers added by DNS after the first lookup
    uint64_t leaves = 0;  // peers gone from DNS
};

class Membership {
  public:
    Membership(MembershipOptions options, MembershipHooks hooks = {});
    ~Membership();
    Membership(const Membership&) = delete;
    Membership& operator=(const Membership&) = delete;

    // Starts the thread (its first round runs at once: the first DNS lookup, probes).
    void start();
    // Stops and joins the thread; idempotent.
    void stop();
    // One round at the hooks' now(): a DNS lookup when due, probes when due. The thread calls it;
    // tests call it directly. Returns when the next round is due.
    Clock::time_point tick();

    struct Owner {
        bool self = true;  // this node owns the key (or there is no other live peer)
        PeerAddress peer;  // when not self
    };
    // The live owner of `ring_key` (see object_ring_key).
    Owner owner(std::string_view ring_key) const;
    // The owner if every member were live (for /fleet: where a key goes when all are well).
    std::string nominal_owner(std::string_view ring_key) const;

    // Passive failure detection: a peer fill from `peer_id` failed (down, slow, error status,
    // garbage) or succeeded.
    void request_failed(std::string_view peer_id, std::string_view why);
    void request_succeeded(std::string_view peer_id);
    // Whether `peer_id` may be asked now (live, and still a member).
    bool usable(std::string_view peer_id) const;

    // Whether `ip` (canonical text) is the address of a member, whatever its state, or our own.
    bool is_member_ip(std::string_view ip) const;

    const PeerAddress& self() const noexcept { return options_.self; }
    const std::string& token() const noexcept { return options_.token; }
    const MembershipOptions& options() const noexcept { return options_; }
    MembershipReport report() const;

  private:
    struct Member {
        PeerAddress address;
        bool self = false;
        PeerHealth health;
    };
    // The live peers, self included, as rendezvous wants them; immutable once published.
    struct LiveView;

    void publish_locked();  // rebuilds live_ from members_ (caller holds mu_)
    void apply_dns_locked(std::vector<PeerAddress> found, Clock::time_point now);
    void run();

    const MembershipOptions options_;
    MembershipHooks hooks_;

    mutable std::mutex mu_;
    std::map<std::string, Member, std::less<>> members_;  // by id
    std::shared_ptr<const LiveView> live_;
    std::shared_ptr<const LiveView> all_;  // every member, for nominal_owner
    uint64_t generation_ = 0;
    bool first_dns_ = true;
    bool dns_ok_ = true;
    std::string dns_error_;
    uint64_t dns_lookups_ = 0, dns_failures_ = 0, probes_ = 0, probe_failures_ = 0;
    uint64_t suspicions_ = 0, joins_ = 0, leaves_ = 0;
    Clock::time_point next_dns_{};
    Clock::time_point next_probe_{};

    std::mutex thread_mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace xs3::fleet
