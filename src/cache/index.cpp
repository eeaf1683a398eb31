// The in-memory cache index: entries in a hash map, an intrusive LRU list through them, names in
// an ordered map (so a prefix purge is a range), reservations and pins as counters.
#include "xs3/cache/index.hpp"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "xs3/base/trace.hpp"

namespace xs3::cache {
namespace {

int64_t coarse_now_ns() {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

uint64_t saturating_sub(uint64_t a, uint64_t b) noexcept {
    return a > b ? a - b : 0;
}

}  // namespace

uint64_t disk_bytes_estimate(uint64_t object_size) noexcept {
    uint64_t blocks = object_size / kHeaderAlignment + (object_size % kHeaderAlignment != 0);
    return (blocks + 1) * kHeaderAlignment;
}

// ---- Reservation and Pin ----

Reservation::Reservation(Reservation&& other) noexcept
    : index_(std::exchange(other.index_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

Reservation& Reservation::operator=(Reservation&& other) noexcept {
    if (this != &other) {
        release();
        index_ = std::exchange(other.index_, nullptr);
        bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
}

void Reservation::release() noexcept {
    if (index_) index_->release_reservation(bytes_);
    index_ = nullptr;
    bytes_ = 0;
}

Pin::Pin(Pin&& other) noexcept
    : index_(std::exchange(other.index_, nullptr)),
      key_(std::move(other.key_)),
      entry_id_(std::exchange(other.entry_id_, 0)) {}

Pin& Pin::operator=(Pin&& other) noexcept {
    if (this != &other) {
        release();
        index_ = std::exchange(other.index_, nullptr);
        key_ = std::move(other.key_);
        entry_id_ = std::exchange(other.entry_id_, 0);
    }
    return *this;
}

void Pin::release() noexcept {
    if (index_) index_->unpin(key_, entry_id_);
    index_ = nullptr;
}

// ---- keys ----

bool CacheIndex::KeyId::operator==(const KeyId& o) const noexcept {
    return content == o.content && std::memcmp(digest, o.digest, sizeof digest) == 0;
}

size_t CacheIndex::KeyIdHash::operator()(const KeyId& k) const noexcept {
    // The digest is a SHA-224: any 8 of its bytes are already uniformly spread.
    uint64_t h;
    std::memcpy(&h, k.digest, sizeof h);
    return static_cast<size_t>(h ^ static_cast<uint64_t>(k.content));
}

std::optional<CacheIndex::KeyId> CacheIndex::id_of(const CacheKey& key) noexcept {
    if (key.hex.size() != kCacheKeyHexLength) return std::nullopt;
    KeyId id;
    for (size_t i = 0; i < sizeof id.digest; ++i) {
        int hi = hex_digit(key.hex[2 * i]), lo = hex_digit(key.hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        id.digest[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    id.content = key.content_addressed;
    return id;
}

CacheKey CacheIndex::key_of(const KeyId& id) {
    static const char digits[] = "0123456789abcdef";
    CacheKey key;
    key.hex.resize(kCacheKeyHexLength);
    for (size_t i = 0; i < sizeof id.digest; ++i) {
        key.hex[2 * i] = digits[id.digest[i] >> 4];
        key.hex[2 * i + 1] = digits[id.digest[i] & 15];
    }
    key.content_addressed = id.content;
    return key;
}

std::string CacheIndex::name_key(const ObjectName& name) {
    // Bucket names cannot hold NUL and S3 keys do not either, so the split is unambiguous, and
    // every key of a bucket shares the "bucket NUL" prefix a prefix purge ranges over.
    std::string s;
    s.reserve(name.bucket.size() + name.key.size() + name.version_id.size() + 2);
    s += name.bucket;
    s += '\0';
    s += name.key;
    s += '\0';
    s += name.version_id;
    return s;
}

// ---- construction ----

CacheIndex::CacheIndex(uint64_t max_bytes, std::function<int64_t()> now_ns)
    : max_bytes_(max_bytes), now_ns_(now_ns ? std::move(now_ns) : coarse_now_ns) {}

CacheIndex::~CacheIndex() = default;

void CacheIndex::set_wake(std::function<void()> wake, uint64_t above_bytes) {
    std::lock_guard lock(mu_);
    wake_ = std::move(wake);
    wake_above_ = above_bytes;
}

void CacheIndex::set_on_erase(std::function<void(const CacheKey&)> on_erase) {
    std::lock_guard lock(mu_);
    on_erase_ = std::move(on_erase);
}

// ---- locked helpers ----

int64_t CacheIndex::stamp_locked() {
    // Strictly increasing, so hits within one coarse clock tick keep their order on disk too.
    int64_t now = now_ns_();
    last_stamp_ = std::max(now, last_stamp_ + 1);
    return last_stamp_;
}

uint64_t CacheIndex::limit_locked() const noexcept {
    return std::min(max_bytes_, fs_limit_);
}

bool CacheIndex::over_wake_threshold_locked() const noexcept {
    return used_ + reserved_ > wake_above_ || used_ + reserved_ > limit_locked();
}

void CacheIndex::wake_locked(bool wake) const {
    if (wake && wake_) wake_();
}

void CacheIndex::link_hot(Entry& e) noexcept {
    e.colder = hottest_;
    e.hotter = nullptr;
    if (hottest_) hottest_->hotter = &e;
    hottest_ = &e;
    if (!coldest_) coldest_ = &e;
}

void CacheIndex::link_cold(Entry& e) noexcept {
    e.hotter = coldest_;
    e.colder = nullptr;
    if (coldest_) coldest_->colder = &e;
    coldest_ = &e;
    if (!hottest_) hottest_ = &e;
}

void CacheIndex::unlink(Entry& e) noexcept {
    if (e.colder)
        e.colder->hotter = e.hotter;
    else
        coldest_ = e.hotter;
    if (e.hotter)
        e.hotter->colder = e.colder;
    else
        hottest_ = e.colder;
    e.colder = e.hotter = nullptr;
}

void CacheIndex::mark_touched_locked(Entry& e, int64_t when) {
    e.last_access_ns = when;
    e.scan_unordered = false;
    unlink(e);
    link_hot(e);
    if (!e.stamp_due) {
        e.stamp_due = true;
        stamps_due_.push_back(*e.id);
    }
}

CacheIndex::Entry& CacheIndex::insert_locked(const KeyId& id, const FileFacts& facts) {
    auto [it, inserted] = entries_.try_emplace(id);
    Entry& e = it->second;
    if (inserted) {
        e.id = &it->first;
        e.entry_id = next_entry_id_++;
    } else {
        used_ -= e.disk_bytes;
        if (e.pins > 0) pinned_ -= e.disk_bytes;
        unlink(e);
        if (on_erase_) on_erase_(key_of(id));
    }
    e.disk_bytes = facts.disk_bytes;
    e.inode = facts.inode;
    used_ += e.disk_bytes;
    if (e.pins > 0) pinned_ += e.disk_bytes;
    return e;
}

void CacheIndex::Entry::add_name(NameMap::iterator it) {
    if (!named) {
        name = it;
        named = true;
    } else {
        more_names.push_back(it);
    }
}

void CacheIndex::Entry::drop_name(NameMap::iterator it) {
    if (named && name == it) {
        named = !more_names.empty();
        if (named) {
            name = more_names.back();
            more_names.pop_back();
        }
        return;
    }
    more_names.erase(std::remove(more_names.begin(), more_names.end(), it), more_names.end());
}

void CacheIndex::bind_locked(const std::string& key, Entry& e, std::string etag, uint64_t size,
                             int64_t validated_at) {
    auto it = names_.find(key);
    if (it == names_.end()) {
        it = names_.emplace(key, NameRec{}).first;
    } else if (it->second.entry != &e) {
        it->second.entry->drop_name(it);
    }
    if (it->second.entry != &e) e.add_name(it);
    NameRec& rec = it->second;
    rec.entry = &e;
    rec.etag = std::move(etag);
    rec.size = size;
    rec.validated_at_unix = validated_at;
}

void CacheIndex::unbind_locked(NameMap::iterator it) {
    it->second.entry->drop_name(it);
    if (scanning_) scan_dropped_names_.insert(it->first);
    names_.erase(it);
}

Removal CacheIndex::erase_locked(const KeyId& id) {
    auto it = entries_.find(id);
    Entry& e = it->second;
    Removal r{key_of(id), e.inode, e.disk_bytes};
    if (on_erase_) on_erase_(r.key);
    e.each_name([this](NameMap::iterator name) {
        if (scanning_) scan_dropped_names_.insert(name->first);
        names_.erase(name);
    });
    unlink(e);
    used_ -= e.disk_bytes;
    if (e.pins > 0) pinned_ -= e.disk_bytes;
    if (scanning_) scan_dropped_keys_.insert(id);
    entries_.erase(it);
    return r;
}

std::vector<Removal> CacheIndex::evict_locked(uint64_t bytes) {
    std::vector<Removal> out;
    uint64_t freed = 0;
    Entry* e = coldest_;
    while (e && freed < bytes) {
        Entry* next = e->hotter;
        if (e->pins == 0) {
            freed += e->disk_bytes;
            out.push_back(erase_locked(*e->id));
            XS3_TRACE("cache.evict", trace::f("key", out.back().key.hex),
                      trace::f("content", out.back().key.content_addressed),
                      trace::f("bytes", out.back().disk_bytes), trace::f("wanted", bytes));
        }
        e = next;
    }
    evicted_objects_ += out.size();
    evicted_bytes_ += freed;
    return out;
}

void CacheIndex::release_reservation(uint64_t bytes) noexcept {
    std::lock_guard lock(mu_);
    reserved_ -= std::min(reserved_, bytes);
}

void CacheIndex::unpin(const CacheKey& key, uint64_t entry_id) noexcept {
    auto id = id_of(key);
    if (!id) return;
    std::lock_guard lock(mu_);
    auto it = entries_.find(*id);
    if (it == entries_.end() || it->second.entry_id != entry_id || it->second.pins == 0) return;
    if (--it->second.pins == 0) pinned_ -= it->second.disk_bytes;
}

// ---- the request path ----

bool CacheIndex::touch(const CacheKey& key) {
    auto id = id_of(key);
    if (!id) return false;
    std::lock_guard lock(mu_);
    auto it = entries_.find(*id);
    if (it == entries_.end()) {
        if (scanning_ && !scan_dropped_keys_.count(*id)) scan_early_touches_[*id] = stamp_locked();
        return false;
    }
    mark_touched_locked(it->second, stamp_locked());
    return true;
}

Pin CacheIndex::pin(const CacheKey& key) {
    auto id = id_of(key);
    if (!id) return {};
    std::lock_guard lock(mu_);
    auto it = entries_.find(*id);
    if (it == entries_.end()) return {};
    Entry& e = it->second;
    if (e.pins++ == 0) pinned_ += e.disk_bytes;
    return Pin(this, key, e.entry_id);
}

std::optional<EntryInfo> CacheIndex::find(const CacheKey& key) const {
    auto id = id_of(key);
    if (!id) return std::nullopt;
    std::lock_guard lock(mu_);
    auto it = entries_.find(*id);
    if (it == entries_.end()) return std::nullopt;
    return EntryInfo{it->second.disk_bytes, it->second.last_access_ns, it->second.pins,
                     it->second.inode};
}

Result<Reservation> CacheIndex::reserve(uint64_t bytes) {
    {
        std::lock_guard lock(mu_);
        bool wake = false;
        uint64_t limit = limit_locked();
        uint64_t occupied = used_ + reserved_;
        if (bytes > limit || occupied > limit - bytes) {
            uint64_t shortfall = bytes > limit ? UINT64_MAX : occupied + bytes - limit;
            uint64_t evictable = used_ - pinned_;
            if (shortfall > evictable) {
                ++refused_;
                return Status(Code::no_space, "no cache space for " + std::to_string(bytes) +
                                                  " bytes: " + std::to_string(occupied) + " of " +
                                                  std::to_string(limit) + " bytes in use, " +
                                                  std::to_string(evictable) + " evictable");
            }
            auto victims = evict_locked(shortfall);
            wake = !victims.empty();
            removals_.insert(removals_.end(), std::make_move_iterator(victims.begin()),
                             std::make_move_iterator(victims.end()));
        }
        reserved_ += bytes;
        wake_locked(wake || over_wake_threshold_locked());
    }
    return Reservation(this, bytes);
}

void CacheIndex::publish(const CacheKey& key, const ObjectMeta& meta, const FileFacts& facts,
                         Reservation&& reservation) {
    auto id = id_of(key);
    if (!id) return;
    Reservation consumed = std::move(reservation);
    std::lock_guard lock(mu_);
    if (consumed) {
        reserved_ -= std::min(reserved_, consumed.bytes_);
        consumed.index_ = nullptr;  // accounted here, under the same lock as the usage
    }
    Entry& e = insert_locked(*id, facts);
    // The rename just wrote the file, so its mtime is about now: nothing to persist.
    e.last_access_ns = stamp_locked();
    e.stamp_due = false;
    e.scan_unordered = false;
    link_hot(e);
    if (!meta.key.empty())
        bind_locked(name_key({meta.bucket, meta.key, meta.version_id}), e, meta.etag, meta.size,
                    meta.stored_at_unix);
    wake_locked(over_wake_threshold_locked());
}

void CacheIndex::forget(const CacheKey& key) {
    auto id = id_of(key);
    if (!id) return;
    std::lock_guard lock(mu_);
    if (entries_.count(*id)) erase_locked(*id);
}

// ---- the name view ----

std::optional<NameInfo> CacheIndex::find_name(const ObjectName& name) const {
    std::string k = name_key(name);
    std::lock_guard lock(mu_);
    auto it = names_.find(k);
    if (it == names_.end()) return std::nullopt;
    const NameRec& r = it->second;
    return NameInfo{key_of(*r.entry->id), r.etag, r.size, r.validated_at_unix};
}

bool CacheIndex::bind_name(const ObjectName& name, const NameInfo& info) {
    auto id = id_of(info.key);
    if (!id) return false;
    std::string k = name_key(name);
    std::lock_guard lock(mu_);
    auto it = entries_.find(*id);
    if (it == entries_.end()) return false;
    bind_locked(k, it->second, info.etag, info.size, info.validated_at_unix);
    return true;
}

bool CacheIndex::mark_validated(const ObjectName& name, std::string_view etag, int64_t now_unix) {
    std::string k = name_key(name);
    std::lock_guard lock(mu_);
    auto it = names_.find(k);
    if (it == names_.end() || it->second.etag != etag) return false;
    it->second.validated_at_unix = std::max(it->second.validated_at_unix, now_unix);
    return true;
}

bool CacheIndex::invalidate(const ObjectName& name) {
    std::string k = name_key(name);
    std::lock_guard lock(mu_);
    auto it = names_.find(k);
    if (it == names_.end()) {
        // Not scanned yet, perhaps: the scan must not bind it from the old file's header.
        if (scanning_) scan_dropped_names_.insert(k);
        return false;
    }
    Entry* e = it->second.entry;
    if (e->id->content) {
        unbind_locked(it);
    } else {
        removals_.push_back(erase_locked(*e->id));
        ++removed_objects_;
        wake_locked(true);
    }
    return true;
}

// ---- maintenance ----

std::vector<Removal> CacheIndex::evict(uint64_t bytes) {
    std::lock_guard lock(mu_);
    return evict_locked(bytes);
}

std::optional<Removal> CacheIndex::remove(const CacheKey& key) {
    auto id = id_of(key);
    if (!id) return std::nullopt;
    std::lock_guard lock(mu_);
    if (entries_.count(*id)) {
        ++removed_objects_;
        return erase_locked(*id);
    }
    if (!scanning_) return std::nullopt;
    scan_dropped_keys_.insert(*id);
    scan_early_touches_.erase(*id);
    return Removal{key, 0, 0};
}

std::vector<Removal> CacheIndex::remove_prefix(std::string_view bucket, std::string_view prefix) {
    std::string from(bucket);
    from += '\0';
    from += prefix;
    std::vector<Removal> out;
    std::lock_guard lock(mu_);
    for (;;) {
        auto it = names_.lower_bound(from);
        if (it == names_.end() || it->first.compare(0, from.size(), from) != 0) break;
        // erase_locked also drops the entry's other names, which may sit anywhere in the map:
        // look the range up again after each removal.
        out.push_back(erase_locked(*it->second.entry->id));
        ++removed_objects_;
    }
    return out;
}

std::vector<Removal> CacheIndex::take_removals() {
    std::lock_guard lock(mu_);
    return std::exchange(removals_, {});
}

std::vector<AccessStamp> CacheIndex::take_access_stamps(size_t max) {
    std::vector<AccessStamp> out;
    std::lock_guard lock(mu_);
    size_t used = 0;
    for (; used < stamps_due_.size() && out.size() < max; ++used) {
        auto it = entries_.find(stamps_due_[used]);
        // Entries dropped or already handed out since they were queued are skipped.
        if (it == entries_.end() || !it->second.stamp_due) continue;
        it->second.stamp_due = false;
        out.push_back({key_of(it->first), it->second.last_access_ns});
    }
    stamps_due_.erase(stamps_due_.begin(), stamps_due_.begin() + static_cast<ptrdiff_t>(used));
    return out;
}

void CacheIndex::set_fs_space(uint64_t fs_free_bytes, uint64_t floor_bytes) {
    std::lock_guard lock(mu_);
    uint64_t room = used_ + fs_free_bytes;
    fs_limit_ = saturating_sub(room < used_ ? UINT64_MAX : room, floor_bytes);
}

void CacheIndex::begin_scan() {
    std::lock_guard lock(mu_);
    scanning_ = true;
}

void CacheIndex::add_scanned(std::vector<ScannedFile>& files) {
    {
        std::lock_guard lock(mu_);
        for (auto& f : files) {
            auto id = id_of(f.key);
            if (!id || entries_.count(*id) || scan_dropped_keys_.count(*id)) continue;
            Entry& e = insert_locked(*id, f.facts);
            e.last_access_ns = f.facts.mtime_ns;
            auto early = scan_early_touches_.find(*id);
            if (early != scan_early_touches_.end()) {
                link_cold(e);  // mark_touched_locked moves it to the hot end
                mark_touched_locked(e, std::max(early->second, e.last_access_ns));
                scan_early_touches_.erase(early);
            } else {
                // Unsorted for now; end_scan() puts the scanned objects in last-access order.
                e.scan_unordered = true;
                link_cold(e);
            }
            std::string k = name_key(f.name);
            if (!f.name.key.empty() && !names_.count(k) && !scan_dropped_names_.count(k))
                bind_locked(k, e, std::move(f.etag), f.size, f.stored_at_unix);
        }
        files.clear();
        wake_locked(over_wake_threshold_locked());
    }
}

void CacheIndex::end_scan() {
    std::lock_guard lock(mu_);
    // Scanned objects nobody touched are exactly the run at the cold end still marked unordered:
    // the scan only ever adds them there, and anything else enters at the hot end.
    std::vector<Entry*> run;
    for (Entry* e = coldest_; e && e->scan_unordered; e = e->hotter)
        run.push_back(e);
    std::stable_sort(run.begin(), run.end(), [](const Entry* a, const Entry* b) {
        return a->last_access_ns < b->last_access_ns;
    });
    for (Entry* e : run)
        unlink(*e);
    for (auto it = run.rbegin(); it != run.rend(); ++it) {
        (*it)->scan_unordered = false;
        link_cold(**it);
    }
    scanning_ = false;
    scan_dropped_keys_.clear();
    scan_dropped_names_.clear();
    scan_early_touches_.clear();
}

IndexStats CacheIndex::stats() const {
    std::lock_guard lock(mu_);
    IndexStats s;
    s.used_bytes = used_;
    s.reserved_bytes = reserved_;
    s.pinned_bytes = pinned_;
    s.objects = entries_.size();
    s.names = names_.size();
    s.max_bytes = max_bytes_;
    s.limit_bytes = limit_locked();
    s.evicted_objects = evicted_objects_;
    s.evicted_bytes = evicted_bytes_;
    s.removed_objects = removed_objects_;
    s.reservations_refused = refused_;
    s.scanning = scanning_;
    return s;
}

}  // namespace xs3::cache
