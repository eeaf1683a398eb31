// Membership: members, their health, the live view and the background thread.
#include "xs3/fleet/membership.hpp"

#include <algorithm>

#include "xs3/base/log.hpp"
#include "xs3/fleet/rendezvous.hpp"
#include "xs3/fleet/resolver.hpp"

namespace xs3::fleet {

struct Membership::LiveView {
    std::vector<PeerAddress> peers;
    std::vector<RankedPeer> ranked;  // views into peers[i].id
    std::vector<bool> self;

    void add(const PeerAddress& p, bool is_self) {
        peers.push_back(p);
        self.push_back(is_self);
    }
    void seal() {
        ranked.clear();
        for (const auto& p : peers)
            ranked.push_back({hash64(p.id), p.id});
    }
};

Membership::Membership(MembershipOptions options, MembershipHooks hooks)
    : options_(std::move(options)), hooks_(std::move(hooks)) {
    if (!hooks_.now) hooks_.now = [] { return Clock::now(); };
    if (!hooks_.resolve)
        hooks_.resolve = [](const HostPort& name, int family) {
            return resolve_host(name.host, name.port, family);
        };
    if (!hooks_.probe) {
        auto timeout = options_.probe_timeout;
        std::string token = options_.token;
        hooks_.probe = [timeout, token](std::span<const PeerAddress> peers) {
            return probe_healthz(peers, timeout, token);
        };
    }
    std::lock_guard lk(mu_);
    members_[options_.self.id] = Member{options_.self, true, {}};
    for (const auto& p : options_.static_peers)
        if (p.id != options_.self.id) members_[p.id] = Member{p, false, {}};
    publish_locked();
}

Membership::~Membership() {
    stop();
}

void Membership::start() {
    std::lock_guard lk(thread_mu_);
    if (thread_.joinable() || stopping_) return;
    thread_ = std::thread([this] { run(); });
}

void Membership::stop() {
    {
        std::lock_guard lk(thread_mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Membership::run() {
    for (;;) {
        Clock::time_point next = tick();
        std::unique_lock lk(thread_mu_);
        // The hooks' clock may be a test's; the thread waits on the real one for the interval.
        auto wait = next - hooks_.now();
        if (wait < std::chrono::milliseconds(10)) wait = std::chrono::milliseconds(10);
        wake_.wait_for(lk, wait, [this] { return stopping_; });
        if (stopping_) return;
    }
}

void Membership::publish_locked() {
    auto live = std::make_shared<LiveView>();
    auto all = std::make_shared<LiveView>();
    for (const auto& [id, m] : members_) {
        all->add(m.address, m.self);
        if (m.self || m.health.usable()) live->add(m.address, m.self);
    }
    live->seal();
    all->seal();
    live_ = std::move(live);
    all_ = std::move(all);
    ++generation_;
}

Clock::time_point Membership::tick() {
    Clock::time_point now = hooks_.now();
    bool dns_due = false;
    bool probe_due = false;
    {
        std::lock_guard lk(mu_);
        dns_due = options_.dns.has_value() && now >= next_dns_;
        probe_due = now >= next_probe_;
    }
    if (dns_due) {
        auto found = hooks_.resolve(*options_.dns, options_.self.family());
        std::lock_guard lk(mu_);
        ++dns_lookups_;
        if (found.ok()) {
            if (!dns_ok_)
                XS3_LOG_INFO("fleet: DNS answers again", kv("name", options_.dns->host),
                             kv("peers", found->size()));
            dns_ok_ = true;
            dns_error_.clear();
            apply_dns_locked(std::move(found).value(), now);
        } else {
            ++dns_failures_;
            // Keep the members we know: a resolver hiccup must not empty the fleet.
            if (dns_ok_)
                XS3_LOG_WARN("fleet: DNS lookup failed; keeping the known peers",
                             kv("name", options_.dns->host), kv("error", found.status().message()));
            dns_ok_ = false;
            dns_error_ = found.status().message();
        }
        next_dns_ = now + options_.dns_interval;
    }
    if (probe_due) {
        // Live peers are probed every round (a peer that died between requests is found before
        // a client waits on it); suspected ones once their back-off is over.
        std::vector<PeerAddress> targets;
        {
            std::lock_guard lk(mu_);
            for (const auto& [id, m] : members_)
                if (!m.self && (m.health.usable() || m.health.probe_due(now)))
                    targets.push_back(m.address);
        }
        std::vector<ProbeOutcome> outcomes;
        if (!targets.empty()) outcomes = hooks_.probe(targets);
        Clock::time_point after = hooks_.now();
        std::lock_guard lk(mu_);
        bool changed = false;
        for (size_t i = 0; i < targets.size() && i < outcomes.size(); ++i) {
            ++probes_;
            if (!outcomes[i].answered) ++probe_failures_;
            auto it = members_.find(targets[i].id);
            if (it == members_.end()) continue;  // left while we probed
            PeerState before = it->second.health.state();
            if (it->second.health.probed(after, outcomes[i].answered, outcomes[i].why,
                                         options_.health)) {
                changed = true;
                if (before == PeerState::live) {
                    ++suspicions_;
                    XS3_LOG_WARN("fleet: peer suspected (probe)", kv("peer", targets[i].id),
                                 kv("error", outcomes[i].why),
                                 kv("backoff_ms", it->second.health.backoff().count()));
                } else {
                    XS3_LOG_INFO("fleet: peer live again (probe answered)",
                                 kv("peer", targets[i].id));
                }
            }
        }
        if (changed) publish_locked();
        next_probe_ = now + options_.probe_interval;
    }
    std::lock_guard lk(mu_);
    Clock::time_point next = next_probe_;
    if (options_.dns) next = std::min(next, next_dns_);
    return next;
}

void Membership::apply_dns_locked(std::vector<PeerAddress> found, Clock::time_point now) {
    (void)now;
    bool changed = false;
    // Gone: members not in the answer (never self: a node not ready yet is not in its
    // Service's records, and still owns its share of the keys it is asked for).
    for (auto it = members_.begin(); it != members_.end();) {
        bool present = std::any_of(found.begin(), found.end(),
                                   [&](const PeerAddress& p) { return p.id == it->first; });
        if (!it->second.self && !present) {
            XS3_LOG_INFO("fleet: peer left", kv("peer", it->first));
            ++leaves_;
            it = members_.erase(it);
            changed = true;
        } else {
            ++it;
        }
    }
    for (auto& p : found) {
        if (members_.count(p.id) != 0) continue;
        if (!first_dns_) {
            XS3_LOG_INFO("fleet: peer joined", kv("peer", p.id));
            ++joins_;
        }
        std::string id = p.id;
        members_[id] = Member{std::move(p), false, {}};
        changed = true;
    }
    if (first_dns_) {
        XS3_LOG_INFO("fleet: first DNS answer", kv("name", options_.dns->host),
                     kv("peers", members_.size()));
        first_dns_ = false;
    }
    if (changed) publish_locked();
}

Membership::Owner Membership::owner(std::string_view ring_key) const {
    std::shared_ptr<const LiveView> view;
    {
        std::lock_guard lk(mu_);
        view = live_;
    }
    Owner out;
    size_t i = rendezvous_owner(hash64(ring_key), view->ranked);
    if (i >= view->peers.size() || view->self[i]) return out;
    out.self = false;
    out.peer = view->peers[i];
    return out;
}

std::string Membership::nominal_owner(std::string_view ring_key) const {
    std::shared_ptr<const LiveView> view;
    {
        std::lock_guard lk(mu_);
        view = all_;
    }
    size_t i = rendezvous_owner(hash64(ring_key), view->ranked);
    return i < view->peers.size() ? view->peers[i].id : std::string();
}

void Membership::request_failed(std::string_view peer_id, std::string_view why) {
    Clock::time_point now = hooks_.now();
    std::lock_guard lk(mu_);
    auto it = members_.find(peer_id);
    if (it == members_.end() || it->second.self) return;
    if (it->second.health.request_failed(now, why, options_.health)) {
        ++suspicions_;
        XS3_LOG_WARN("fleet: peer suspected", kv("peer", it->first), kv("error", why),
                     kv("backoff_ms", it->second.health.backoff().count()));
        publish_locked();
    }
}

void Membership::request_succeeded(std::string_view peer_id) {
    std::lock_guard lk(mu_);
    auto it = members_.find(peer_id);
    if (it == members_.end()) return;
    it->second.health.request_succeeded();
}

bool Membership::usable(std::string_view peer_id) const {
    std::lock_guard lk(mu_);
    auto it = members_.find(peer_id);
    return it != members_.end() && (it->second.self || it->second.health.usable());
}

bool Membership::is_member_ip(std::string_view ip) const {
    if (ip.empty()) return false;
    std::lock_guard lk(mu_);
    for (const auto& [id, m] : members_)
        if (m.address.ip == ip) return true;
    return false;
}

MembershipReport Membership::report() const {
    Clock::time_point now = hooks_.now();
    MembershipReport r;
    r.self = options_.self.id;
    r.source = options_.dns ? "dns " + options_.dns->host + ":" + std::to_string(options_.dns->port)
                            : std::string("static");
    std::lock_guard lk(mu_);
    r.generation = generation_;
    for (const auto& [id, m] : members_) {
        PeerReport p;
        p.address = m.address;
        p.self = m.self;
        p.state = m.health.state();
        p.backoff = m.health.backoff();
        if (p.state == PeerState::suspected && m.health.suspected_until() > now)
            p.suspected_left = std::chrono::duration_cast<std::chrono::milliseconds>(
                m.health.suspected_until() - now);
        p.failures = m.health.failures();
        p.suspicions = m.health.suspicions();
        p.last_error = m.health.last_error();
        if (m.self || m.health.usable()) ++r.live;
        r.peers.push_back(std::move(p));
    }
    r.dns_ok = dns_ok_;
    r.dns_error = dns_error_;
    r.dns_lookups = dns_lookups_;
    r.dns_failures = dns_failures_;
    r.probes = probes_;
    r.probe_failures = probe_failures_;
    r.suspicions = suspicions_;
    r.joins = joins_;
    r.leaves = leaves_;
    return r;
}

}  // namespace xs3::fleet
