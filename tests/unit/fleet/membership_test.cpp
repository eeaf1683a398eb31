// Tests of Membership with a fake clock, resolver and prober: static and DNS sources, passive
// suspicion moving exactly the suspected peer's keys, probes, DNS failures; and a threaded run
// for TSan (rings asking for owners and reporting failures while the thread looks up and probes).
#include "xs3/fleet/membership.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "xs3/fleet/rendezvous.hpp"

using namespace xs3;
using namespace xs3::fleet;
using namespace std::chrono_literals;

namespace {

PeerAddress addr(std::string ip, uint16_t port = 8080) {
    return *peer_address_from_ip(ip, port);
}

struct Fake {
    Clock::time_point now = Clock::time_point() + 1000s;
    std::vector<std::string> dns;  // IPs the name resolves to
    bool dns_fails = false;
    std::set<std::string> down;  // ids whose probe fails
    std::vector<std::string> probed;
    int lookups = 0;

    MembershipHooks hooks() {
        MembershipHooks h;
        h.now = [this] { return now; };
        h.resolve = [this](const HostPort& name, int family) -> Result<std::vector<PeerAddress>> {
            ++lookups;
            CHECK(name.host == "xs3.cache.svc");
            CHECK(family == AF_INET);
            if (dns_fails) return Status(Code::unavailable, "Temporary failure in name resolution");
            std::vector<PeerAddress> out;
            for (const auto& ip : dns)
                out.push_back(addr(ip, name.port));
            return out;
        };
        h.probe = [this](std::span<const PeerAddress> peers) {
            std::vector<ProbeOutcome> out;
            for (const auto& p : peers) {
                probed.push_back(p.id);
                bool ok = down.count(p.id) == 0;
                out.push_back({ok, ok ? "" : "connect: Connection refused"});
            }
            return out;
        };
        return h;
    }
};

MembershipOptions static_options(int n) {
    MembershipOptions o;
    for (int i = 1; i <= n; ++i)
        o.static_peers.push_back(addr("10.0.0." + std::to_string(i)));
    o.self = addr("10.0.0.1");
    o.health = {10s, 60s};
    o.probe_interval = 2s;
    return o;
}

std::vector<std::string> test_keys(size_t n) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i)
        out.push_back(object_ring_key("b", "obj-" + std::to_string(i), ""));
    return out;
}

std::string owner_id(const Membership& m, const std::string& key) {
    auto o = m.owner(key);
    return o.self ? m.self().id : o.peer.id;
}

}  // namespace

TEST_CASE("static members: every key has one owner, the same as rendezvous over all") {
    Fake f;
    Membership m(static_options(3), f.hooks());
    std::vector<RankedPeer> ranked;
    std::vector<std::string> ids = {"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"};
    for (const auto& id : ids)
        ranked.push_back({hash64(id), id});
    std::map<std::string, int> count;
    for (const auto& k : test_keys(3000)) {
        std::string o = owner_id(m, k);
        CHECK(o == ids[rendezvous_owner(hash64(k), ranked)]);
        CHECK(m.nominal_owner(k) == o);
        ++count[o];
        auto own = m.owner(k);
        if (!own.self) CHECK(own.peer.family() == AF_INET);
    }
    CHECK(count.size() == 3);
    auto r = m.report();
    CHECK(r.self == "10.0.0.1:8080");
    CHECK(r.source == "static");
    CHECK(r.live == 3);
    REQUIRE(r.peers.size() == 3);
    CHECK(r.peers[0].self);
    CHECK_FALSE(r.peers[1].self);
}

TEST_CASE("a suspected peer's keys move to the others and come back after a good probe") {
    Fake f;
    Membership m(static_options(4), f.hooks());
    const auto keys = test_keys(4000);
    std::map<std::string, std::string> before;
    for (const auto& k : keys)
        before[k] = owner_id(m, k);

    m.request_failed("10.0.0.3:8080", "timeout");
    CHECK_FALSE(m.usable("10.0.0.3:8080"));
    CHECK(m.usable("10.0.0.2:8080"));
    CHECK(m.usable("10.0.0.1:8080"));  // self
    size_t moved = 0;
    for (const auto& k : keys) {
        std::string now_owner = owner_id(m, k);
        CHECK(now_owner != "10.0.0.3:8080");
        if (before[k] == "10.0.0.3:8080") {
            ++moved;
        } else {
            CHECK(now_owner == before[k]);  // nobody else's keys move
        }
        CHECK(m.nominal_owner(k) == before[k]);  // where it goes when all are well
    }
    CHECK(moved > 500);

    // Probes: within the back-off the suspected peer is not probed; after it, it is, and
    // answering makes it live again with its keys back.
    f.now += 2s;
    m.tick();
    CHECK(std::count(f.probed.begin(), f.probed.end(), "10.0.0.3:8080") == 0);
    CHECK(std::count(f.probed.begin(), f.probed.end(), "10.0.0.2:8080") == 1);
    CHECK(std::count(f.probed.begin(), f.probed.end(), "10.0.0.1:8080") == 0);  // never self
    f.now += 10s;
    m.tick();
    CHECK(std::count(f.probed.begin(), f.probed.end(), "10.0.0.3:8080") == 1);
    CHECK(m.usable("10.0.0.3:8080"));
    for (const auto& k : keys)
        CHECK(owner_id(m, k) == before[k]);
    auto r = m.report();
    CHECK(r.suspicions == 1);
    CHECK(r.peers[2].failures == 1);
    CHECK(r.peers[2].last_error == "timeout");
}

TEST_CASE("a peer whose probe fails is suspected without any request") {
    Fake f;
    Membership m(static_options(3), f.hooks());
    f.down.insert("10.0.0.2:8080");
    m.tick();
    CHECK_FALSE(m.usable("10.0.0.2:8080"));
    auto r = m.report();
    CHECK(r.probes == 2);
    CHECK(r.probe_failures == 1);
    CHECK(r.live == 2);
    CHECK(r.peers[1].state == PeerState::suspected);
    CHECK(r.peers[1].suspected_left == 10s);
    CHECK(r.peers[1].last_error == "connect: Connection refused");
    // Still down at the next due probe: back-off doubles.
    f.now += 10s;
    m.tick();
    CHECK(m.report().peers[1].backoff == 20s);
    f.down.clear();
    f.now += 20s;
    m.tick();
    CHECK(m.usable("10.0.0.2:8080"));
}

TEST_CASE("failures of unknown peers or of self are ignored") {
    Fake f;
    Membership m(static_options(2), f.hooks());
    m.request_failed("10.9.9.9:8080", "timeout");
    m.request_failed("10.0.0.1:8080", "timeout");
    CHECK(m.usable("10.0.0.1:8080"));
    CHECK_FALSE(m.usable("10.9.9.9:8080"));
    CHECK(m.report().suspicions == 0);
}

TEST_CASE("DNS members: first answer, joins, leaves, failures keep the known set") {
    Fake f;
    MembershipOptions o;
    o.dns = HostPort{"xs3.cache.svc", 8080};
    o.self = addr("10.0.0.1");
    o.dns_interval = 5s;
    o.probe_interval = 2s;
    Membership m(o, f.hooks());
    // Before any answer, self alone owns everything.
    for (const auto& k : test_keys(50))
        CHECK(m.owner(k).self);

    f.dns = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};
    m.tick();
    CHECK(f.lookups == 1);
    auto r = m.report();
    CHECK(r.source == "dns xs3.cache.svc:8080");
    CHECK(r.peers.size() == 3);
    CHECK(r.joins == 0);  // the first answer is not "joining"
    const auto keys = test_keys(3000);
    std::map<std::string, std::string> three;
    for (const auto& k : keys)
        three[k] = owner_id(m, k);

    // Not due yet: no lookup.
    f.now += 2s;
    m.tick();
    CHECK(f.lookups == 1);

    // A fourth pod becomes ready: only keys moving to it move.
    f.dns = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"};
    f.now += 3s;
    m.tick();
    CHECK(f.lookups == 2);
    CHECK(m.report().joins == 1);
    for (const auto& k : keys) {
        std::string o4 = owner_id(m, k);
        if (o4 != three[k]) CHECK(o4 == "10.0.0.4:8080");
    }

    // The resolver fails: members stay.
    f.dns_fails = true;
    f.now += 5s;
    m.tick();
    r = m.report();
    CHECK_FALSE(r.dns_ok);
    CHECK(r.dns_error == "Temporary failure in name resolution");
    CHECK(r.dns_failures == 1);
    CHECK(r.peers.size() == 4);

    // Pod 2 goes away (and self is missing from the records: not ready): 2 leaves, self stays.
    f.dns_fails = false;
    f.dns = {"10.0.0.3", "10.0.0.4"};
    f.now += 5s;
    m.tick();
    r = m.report();
    CHECK(r.dns_ok);
    CHECK(r.leaves == 1);
    REQUIRE(r.peers.size() == 3);
    CHECK(r.peers[0].address.id == "10.0.0.1:8080");
    CHECK(r.peers[1].address.id == "10.0.0.3:8080");
    for (const auto& k : keys)
        CHECK(owner_id(m, k) != "10.0.0.2:8080");
    CHECK_FALSE(m.is_member_ip("10.0.0.2"));
    CHECK(m.is_member_ip("10.0.0.3"));
    CHECK(m.is_member_ip("10.0.0.1"));
    CHECK_FALSE(m.is_member_ip(""));

    // No records at all (no ready pod): self alone.
    f.dns = {};
    f.now += 5s;
    m.tick();
    CHECK(m.report().peers.size() == 1);
    for (const auto& k : test_keys(50))
        CHECK(m.owner(k).self);
}

TEST_CASE("a peer that leaves and comes back starts live, with a clean record") {
    Fake f;
    MembershipOptions o;
    o.dns = HostPort{"xs3.cache.svc", 8080};
    o.self = addr("10.0.0.1");
    Membership m(o, f.hooks());
    f.dns = {"10.0.0.1", "10.0.0.2"};
    m.tick();
    m.request_failed("10.0.0.2:8080", "reset");
    CHECK_FALSE(m.usable("10.0.0.2:8080"));
    f.dns = {"10.0.0.1"};
    f.now += 5s;
    m.tick();
    f.dns = {"10.0.0.1", "10.0.0.2"};
    f.now += 5s;
    m.tick();
    CHECK(m.usable("10.0.0.2:8080"));
    CHECK(m.report().peers[1].failures == 0);
}

TEST_CASE("threads: owners asked and failures reported while the thread looks up and probes") {
    std::atomic<int> flip{0};
    MembershipHooks h;
    h.resolve = [&flip](const HostPort& name, int) -> Result<std::vector<PeerAddress>> {
        std::vector<PeerAddress> out;
        int n = 3 + (flip.fetch_add(1) % 3);
        for (int i = 1; i <= n; ++i)
            out.push_back(addr("10.0.0." + std::to_string(i), name.port));
        return out;
    };
    std::atomic<int> probes{0};
    h.probe = [&probes](std::span<const PeerAddress> peers) {
        std::vector<ProbeOutcome> out;
        for (size_t i = 0; i < peers.size(); ++i) {
            bool ok = (probes.fetch_add(1) % 4) != 0;
            out.push_back({ok, ok ? "" : "timeout"});
        }
        return out;
    };
    MembershipOptions o;
    o.dns = HostPort{"xs3.cache.svc", 8080};
    o.self = addr("10.0.0.1");
    o.dns_interval = 3ms;
    o.probe_interval = 2ms;
    o.health = {5ms, 20ms};
    Membership m(o, h);
    m.start();
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> asked{0};
    std::vector<std::thread> rings;
    for (int t = 0; t < 4; ++t)
        rings.emplace_back([&, t] {
            const auto keys = test_keys(64);
            size_t i = 0;
            while (!stop.load()) {
                auto own = m.owner(keys[i++ % keys.size()]);
                if (!own.self) {
                    CHECK(own.peer.id.rfind("10.0.0.", 0) == 0);
                    if ((i + t) % 7 == 0) m.request_failed(own.peer.id, "timeout");
                    if ((i + t) % 5 == 0) m.request_succeeded(own.peer.id);
                }
                if (i % 50 == 0) (void)m.report();
                (void)m.is_member_ip("10.0.0.2");
                asked.fetch_add(1);
            }
        });
    std::this_thread::sleep_for(300ms);
    stop.store(true);
    for (auto& t : rings)
        t.join();
    m.stop();
    m.stop();  // idempotent
    auto r = m.report();
    CHECK(r.dns_lookups > 0);
    CHECK(r.probes > 0);
    CHECK(asked.load() > 0);
}
