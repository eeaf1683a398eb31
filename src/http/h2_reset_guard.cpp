// H2ResetGuard: a ring of the last `window` stream outcomes with a running count.
#include "xs3/http/h2_reset_guard.hpp"

namespace xs3::http {

H2ResetGuard::H2ResetGuard(uint32_t window, uint32_t max_resets)
    : ring_(window == 0 ? 1 : window, 0), max_resets_(max_resets) {}

bool H2ResetGuard::record(bool reset_by_client) noexcept {
    uint8_t& slot = ring_[next_];
    resets_ -= slot;
    slot = reset_by_client ? 1 : 0;
    resets_ += slot;
    next_ = (next_ + 1) % ring_.size();
    return resets_ > max_resets_;
}

}  // namespace xs3::http
