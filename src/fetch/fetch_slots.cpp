// FetchSlots: the registry of rings chunk fetches may run on.
#include "xs3/fetch/fetch_slots.hpp"

namespace xs3::fetch {

void FetchSlots::add(FetchSlot slot) {
    std::lock_guard lk(mu_);
    slots_.push_back(slot);
}

void FetchSlots::remove(const ring::Ring* ring) {
    std::lock_guard lk(mu_);
    for (auto it = slots_.begin(); it != slots_.end(); ++it)
        if (it->ring == ring) {
            slots_.erase(it);
            return;
        }
}

std::vector<FetchSlot> FetchSlots::all() const {
    std::lock_guard lk(mu_);
    return slots_;
}

std::optional<FetchSlot> FetchSlots::next() {
    std::lock_guard lk(mu_);
    if (slots_.empty()) return std::nullopt;
    return slots_[next_++ % slots_.size()];
}

}  // namespace xs3::fetch
