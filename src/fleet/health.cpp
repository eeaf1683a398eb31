// PeerHealth transitions.
#include "xs3/fleet/health.hpp"

#include <algorithm>

namespace xs3::fleet {

std::string_view state_name(PeerState s) noexcept {
    return s == PeerState::live ? "live" : "suspected";
}

void PeerHealth::suspect(Clock::time_point now, bool escalate, const HealthOptions& o) {
    if (escalate && backoff_.count() > 0)
        backoff_ = std::min(backoff_ * 2, std::max(o.max_backoff, o.backoff));
    else
        backoff_ = o.backoff;
    state_ = PeerState::suspected;
    probation_ = false;
    until_ = now + backoff_;
    ++suspicions_;
}

bool PeerHealth::request_failed(Clock::time_point now, std::string_view why,
                                const HealthOptions& o) {
    ++failures_;
    last_error_ = std::string(why);
    if (state_ == PeerState::suspected) return false;
    suspect(now, probation_, o);
    return true;
}

void PeerHealth::request_succeeded() noexcept {
    // A success that raced with a failure of another request keeps the suspicion: the failure
    // is the newer news more often than not, and the probe will tell.
    if (state_ == PeerState::suspected) return;
    probation_ = false;
    backoff_ = std::chrono::milliseconds(0);
}

bool PeerHealth::probed(Clock::time_point now, bool answered, std::string_view why,
                        const HealthOptions& o) {
    // A probe that was sent before a request failed must not end (or stretch) the suspicion
    // that failure started: only a probe answered after the back-off counts for a suspected peer.
    if (state_ == PeerState::suspected && now < until_) return false;
    if (answered) {
        if (state_ != PeerState::suspected) return false;
        state_ = PeerState::live;
        probation_ = true;
        return true;
    }
    ++failures_;
    last_error_ = std::string(why);
    if (state_ == PeerState::suspected) {
        // Still down after its back-off: wait twice as long before the next probe.
        suspect(now, true, o);
        --suspicions_;  // the same incident
        return false;
    }
    suspect(now, probation_, o);
    return true;
}

}  // namespace xs3::fleet
