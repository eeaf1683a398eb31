// PeerHealth: what one node believes about one peer, as a small state machine over explicit
// time (pure; the membership thread and the rings drive it under the membership's lock).
//
//   live --(a request to it failed, or a probe failed)--> suspected until now + back-off
//   suspected --(back-off over, and a /healthz probe answered)--> live (on probation)
//   suspected --(back-off over, the probe failed)--> suspected, back-off doubled (capped)
//   live on probation --(fails again before a request succeeded)--> suspected, back-off doubled
//   any --(a request to it succeeded)--> live, back-off back to its start
//
// A peer that answers /healthz but fails real requests therefore backs off further each time
// instead of flapping at a fixed rate; failures reported while already suspected (the other
// requests that were in flight when it went down) are the same incident and change nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace xs3::fleet {

using Clock = std::chrono::steady_clock;

struct HealthOptions {
    std::chrono::milliseconds backoff{10000};       // first suspicion
    std::chrono::milliseconds max_backoff{120000};  // doubling stops here
};

enum class PeerState { live, suspected };
std::string_view state_name(PeerState s) noexcept;

class PeerHealth {
  public:
    PeerState state() const noexcept { return state_; }
    // Worth asking now: live. A suspected peer is skipped, even once its back-off is over, until
    // a probe has answered.
    bool usable() const noexcept { return state_ == PeerState::live; }
    // Suspected and its back-off is over: probe it.
    bool probe_due(Clock::time_point now) const noexcept {
        return state_ == PeerState::suspected && now >= until_;
    }
    Clock::time_point suspected_until() const noexcept { return until_; }
    std::chrono::milliseconds backoff() const noexcept { return backoff_; }
    uint64_t failures() const noexcept { return failures_; }
    uint64_t suspicions() const noexcept { return suspicions_; }
    const std::string& last_error() const noexcept { return last_error_; }

    // A request to the peer (a peer fill) failed. Returns true if this made it suspected.
    bool request_failed(Clock::time_point now, std::string_view why, const HealthOptions& o);
    // A request to the peer succeeded.
    void request_succeeded() noexcept;
    // A /healthz probe answered (true) or not. Returns true if the state changed.
    bool probed(Clock::time_point now, bool answered, std::string_view why, const HealthOptions& o);

  private:
    void suspect(Clock::time_point now, bool escalate, const HealthOptions& o);

    PeerState state_ = PeerState::live;
    // Live again after a probe, but no request has succeeded since: the next failure escalates.
    bool probation_ = false;
    std::chrono::milliseconds backoff_{0};  // the current back-off (0: never suspected)
    Clock::time_point until_{};
    uint64_t failures_ = 0;    // failed requests and probes, ever
    uint64_t suspicions_ = 0;  // times it turned suspected
    std::string last_error_;
};

}  // namespace xs3::fleet
