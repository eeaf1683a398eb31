// NameMemo: a mutex-protected map from name keys to what is cached under them.
#include "xs3/proxy/name_memo.hpp"

namespace xs3::proxy {

std::optional<KnownObject> NameMemo::find(const std::string& name_key) const {
    std::lock_guard lk(mu_);
    auto it = known_.find(name_key);
    if (it == known_.end()) return std::nullopt;
    return it->second;
}

void NameMemo::remember(const std::string& name_key, KnownObject known) {
    std::lock_guard lk(mu_);
    if (known_.size() >= max_entries_ && known_.find(name_key) == known_.end()) known_.clear();
    known_[name_key] = std::move(known);
}

void NameMemo::forget(const std::string& name_key) {
    std::lock_guard lk(mu_);
    known_.erase(name_key);
}

size_t NameMemo::size() const {
    std::lock_guard lk(mu_);
    return known_.size();
}

}  // namespace xs3::proxy
