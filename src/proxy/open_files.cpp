// OpenFiles: an LRU of open cache files.
#include "xs3/proxy/open_files.hpp"

namespace xs3::proxy {

std::shared_ptr<const cache::Entry> OpenFiles::find(const cache::CacheKey& key) {
    std::lock_guard lk(mu_);
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
}

void OpenFiles::put(const cache::CacheKey& key, std::shared_ptr<const cache::Entry> entry) {
    if (max_files_ == 0 || !entry || entry->meta.size > max_object_bytes_) return;
    std::shared_ptr<const cache::Entry> gone;  // closed outside the lock
    std::lock_guard lk(mu_);
    auto it = by_key_.find(key);
    if (it != by_key_.end()) {
        gone = std::move(it->second->second);
        it->second->second = std::move(entry);
        lru_.splice(lru_.begin(), lru_, it->second);
        return;
    }
    lru_.emplace_front(key, std::move(entry));
    by_key_[key] = lru_.begin();
    if (lru_.size() > max_files_) {
        gone = std::move(lru_.back().second);
        by_key_.erase(lru_.back().first);
        lru_.pop_back();
    }
}

void OpenFiles::drop(const cache::CacheKey& key) {
    std::shared_ptr<const cache::Entry> gone;
    std::lock_guard lk(mu_);
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return;
    gone = std::move(it->second->second);
    lru_.erase(it->second);
    by_key_.erase(it);
}

size_t OpenFiles::size() const {
    std::lock_guard lk(mu_);
    return lru_.size();
}

}  // namespace xs3::proxy
