// CacheIndex: the in-memory index of the cache directory. It knows every cached object's size on
// disk, last access and pins (the LRU order eviction follows), the space promised to downloads in
// flight (reservations), and a name view: for bucket/key/version, which cache key holds the bytes,
// with the ETag and when S3 last confirmed it.
//
// All of it is memory under one mutex: a hit (touch) is a hash lookup and a list splice, no
// system call. The index never touches the filesystem; files it drops are handed out as Removals
// for the evictor (or a purge) to unlink off the rings, and last-access times are handed out in
// batches for the evictor to persist as mtimes, so a restart's scan restores the LRU order.
//
// Thread-safe; every method may be called from any thread, ring threads included (none blocks
// beyond the mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "xs3/base/status.hpp"
#include "xs3/cache/header.hpp"
#include "xs3/cache/key.hpp"
#include "xs3/cache/store.hpp"

namespace xs3::cache {

// An S3 object as clients name it. version_id empty: the current version.
struct ObjectName {
    std::string bucket;
    std::string key;
    std::string version_id;
};

// What the index knows about one name. The rest of the object's metadata (Content-Type,
// Last-Modified, x-amz-meta-*) is in its file's header, which the hit reads anyway; the index
// keeps only what decides whether the copy is current, so a million objects stay cheap.
struct NameInfo {
    CacheKey key;  // where the bytes are (a content key may serve several names)
    std::string etag;
    uint64_t size = 0;
    // When S3 last confirmed this ETag for this name: the download's stored-at after a restart,
    // then whatever mark_validated() recorded. For metadata_ttl.
    int64_t validated_at_unix = 0;
};

// One cached object as the index sees it.
struct EntryInfo {
    uint64_t disk_bytes = 0;
    int64_t last_access_ns = 0;
    uint32_t pins = 0;
    uint64_t inode = 0;  // of the file the index accounts for
};

// A file the index no longer accounts for, to be unlinked (Store::remove_if_inode).
struct Removal {
    CacheKey key;
    uint64_t inode = 0;  // 0: whatever file is there
    uint64_t disk_bytes = 0;
};

// A last-access time to persist (Store::set_last_access).
struct AccessStamp {
    CacheKey key;
    int64_t last_access_ns = 0;
};

// A file found by the start-up scan.
struct ScannedFile {
    CacheKey key;
    FileFacts facts;  // facts.mtime_ns is the persisted last access
    ObjectName name;
    std::string etag;
    uint64_t size = 0;
    int64_t stored_at_unix = 0;
};

struct IndexStats {
    uint64_t used_bytes = 0;      // published objects, blocks on disk
    uint64_t reserved_bytes = 0;  // promised to downloads in flight
    uint64_t pinned_bytes = 0;
    uint64_t objects = 0;
    uint64_t names = 0;
    uint64_t max_bytes = 0;
    uint64_t limit_bytes = 0;  // min(max_bytes, what the free-space floor allows)
    uint64_t evicted_objects = 0;
    uint64_t evicted_bytes = 0;
    uint64_t removed_objects = 0;  // invalidated or purged
    uint64_t reservations_refused = 0;
    bool scanning = false;
};

// What a download needs on disk for an object of `object_size` bytes: the data rounded up to
// whole 4 KiB blocks plus a one-block header (publish() accounts the real figure).
uint64_t disk_bytes_estimate(uint64_t object_size) noexcept;

class CacheIndex;

// Space promised to one download. It becomes the object's usage when passed to publish(), and is
// given back when destroyed or release()d (the download was discarded). Move-only.
class Reservation {
  public:
    Reservation() = default;
    Reservation(Reservation&& other) noexcept;
    Reservation& operator=(Reservation&& other) noexcept;
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    ~Reservation() { release(); }

    uint64_t bytes() const noexcept { return bytes_; }
    explicit operator bool() const noexcept { return index_ != nullptr; }
    void release() noexcept;

  private:
    friend class CacheIndex;
    Reservation(CacheIndex* index, uint64_t bytes) noexcept : index_(index), bytes_(bytes) {}
    CacheIndex* index_ = nullptr;
    uint64_t bytes_ = 0;
};

// Keeps one object from being evicted while it is held (purge and invalidate still remove it).
// Readers do not need one for correctness (an unlinked file stays readable through its fd); a
// pin only saves evicting what is being served. Move-only.
class Pin {
  public:
    Pin() = default;
    Pin(Pin&& other) noexcept;
    Pin& operator=(Pin&& other) noexcept;
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    ~Pin() { release(); }

    explicit operator bool() const noexcept { return index_ != nullptr; }
    void release() noexcept;

  private:
    friend class CacheIndex;
    Pin(CacheIndex* index, CacheKey key, uint64_t entry_id) noexcept
        : index_(index), key_(std::move(key)), entry_id_(entry_id) {}
    CacheIndex* index_ = nullptr;
    CacheKey key_;
    uint64_t entry_id_ = 0;
};

class CacheIndex {
  public:
    // now_ns: the wall clock for last-access times (default CLOCK_REALTIME_COARSE, a vDSO read).
    explicit CacheIndex(uint64_t max_bytes, std::function<int64_t()> now_ns = {});
    ~CacheIndex();
    CacheIndex(const CacheIndex&) = delete;
    CacheIndex& operator=(const CacheIndex&) = delete;

    // Called when removals were queued or occupancy (used + reserved) is above `above_bytes`
    // after a reservation, a publish or a scan batch; the evictor wakes on it. It runs under the
    // index lock, so it must be quick and must not call into the index. Empty: no wake-ups.
    void set_wake(std::function<void()> wake, uint64_t above_bytes);
    // Called (under the index lock: quick, and not calling into the index) when the index stops
    // accounting for a key's file: removed, evicted, or replaced by a newer publish. Whoever
    // holds such a file open should let it go, so its blocks are freed. Empty: no calls.
    void set_on_erase(std::function<void(const CacheKey&)> on_erase);

    // ---- the request path ----

    // A hit: moves the object to the most-recently-used end. False if the index does not hold it
    // (during the start-up scan a hit on a file not yet scanned is remembered for it).
    bool touch(const CacheKey& key);
    // An empty Pin if the index does not hold the key.
    Pin pin(const CacheKey& key);
    std::optional<EntryInfo> find(const CacheKey& key) const;

    // Promises `bytes` to a download. When they do not fit under the limit, least recently used
    // unpinned objects are dropped (queued as Removals for the evictor) until they do; when even
    // that cannot make room, Code::no_space and nothing is dropped.
    Result<Reservation> reserve(uint64_t bytes);

    // A file was renamed into place for `key` (facts from Store::publish). The reservation, if
    // any, becomes its usage; a previous entry for the key (replaced by the rename) is forgotten.
    // Binds meta's bucket/key/version_id to the key, validated now-ish (meta.stored_at_unix).
    void publish(const CacheKey& key, const ObjectMeta& meta, const FileFacts& facts,
                 Reservation&& reservation);

    // The lookup found no file (or a broken one) where the index had an entry: forget it.
    void forget(const CacheKey& key);

    // ---- the name view ----

    // Absent while the scan has not reached the name yet, too: absence means "ask S3".
    std::optional<NameInfo> find_name(const ObjectName& name) const;
    // S3 confirmed that `name` (with info.etag etc.) is served by info.key, e.g. a HEAD showed
    // the x-amz-meta-sha224 of a cached content key. False (nothing bound) if the index does not
    // hold info.key.
    bool bind_name(const ObjectName& name, const NameInfo& info);
    // S3 confirmed `etag` for `name` at `now_unix`. False if the name is unknown or its ETag
    // differs (the caller should invalidate() then).
    bool mark_validated(const ObjectName& name, std::string_view etag, int64_t now_unix);
    // The name's object changed at S3: the name stops resolving at once, and if its bytes are in
    // a name-keyed file that file is dropped too (queued as a Removal). A content-keyed file stays
    // (it is still right for its content and for other names). True if the index knew the name.
    bool invalidate(const ObjectName& name);

    // ---- maintenance (evictor, purge, scan) ----

    // Drops least recently used unpinned objects until at least `bytes` are freed (or none is
    // left) and returns them; the caller unlinks them.
    std::vector<Removal> evict(uint64_t bytes);
    // Drops `key` and every name bound to it; the caller unlinks it. During the scan the key is
    // also kept from being added back, and a Removal is returned even if the index did not hold
    // it (inode 0), so a file not yet scanned is removed too.
    std::optional<Removal> remove(const CacheKey& key);
    // Drops every object bound to a name under bucket/prefix (and its other names).
    std::vector<Removal> remove_prefix(std::string_view bucket, std::string_view prefix);
    // Removals queued by reserve() and invalidate().
    std::vector<Removal> take_removals();
    // Up to `max` last-access times changed since they were last handed out.
    std::vector<AccessStamp> take_access_stamps(size_t max);
    // From a statvfs sample: the free-space floor allows occupancy up to used + free - floor
    // (pessimistic: reserved bytes count as not yet written). Evictions keep the figure valid,
    // since they lower usage and raise free space alike; the next sample corrects the rest.
    void set_fs_space(uint64_t fs_free_bytes, uint64_t floor_bytes);

    void begin_scan();
    void add_scanned(std::vector<ScannedFile>& files);  // consumes the vector's contents
    // Sorts the scanned objects by their persisted last access and forgets scan bookkeeping.
    void end_scan();

    IndexStats stats() const;

  private:
    struct KeyId {
        uint8_t digest[28];
        bool content;
        bool operator==(const KeyId& o) const noexcept;
    };
    struct KeyIdHash {
        size_t operator()(const KeyId& k) const noexcept;
    };
    struct NameRec;
    using NameMap = std::map<std::string, NameRec, std::less<>>;
    struct Entry {
        const KeyId* id = nullptr;  // the map's key
        uint64_t entry_id = 0;
        uint64_t disk_bytes = 0;
        uint64_t inode = 0;
        int64_t last_access_ns = 0;
        Entry* colder = nullptr;
        Entry* hotter = nullptr;
        uint32_t pins = 0;
        bool stamp_due = false;       // last_access_ns not persisted yet
        bool scan_unordered = false;  // from the scan, not yet sorted into the LRU order
        // The names bound to it: nearly always one, kept inline; more only for content keys.
        bool named = false;
        NameMap::iterator name;
        std::vector<NameMap::iterator> more_names;

        void add_name(NameMap::iterator it);
        void drop_name(NameMap::iterator it);
        template <class F>
        void each_name(F f) const {
            if (named) f(name);
            for (auto it : more_names)
                f(it);
        }
    };
    struct NameRec {
        Entry* entry = nullptr;
        std::string etag;
        uint64_t size = 0;
        int64_t validated_at_unix = 0;
    };

    friend class Reservation;
    friend class Pin;

    static std::optional<KeyId> id_of(const CacheKey& key) noexcept;
    static CacheKey key_of(const KeyId& id);
    static std::string name_key(const ObjectName& name);

    int64_t stamp_locked();
    uint64_t limit_locked() const noexcept;
    void link_hot(Entry& e) noexcept;
    void link_cold(Entry& e) noexcept;
    void unlink(Entry& e) noexcept;
    void mark_touched_locked(Entry& e, int64_t when);
    Entry& insert_locked(const KeyId& id, const FileFacts& facts);
    void bind_locked(const std::string& name_key, Entry& e, std::string etag, uint64_t size,
                     int64_t validated_at);
    void unbind_locked(NameMap::iterator it);
    Removal erase_locked(const KeyId& id);
    std::vector<Removal> evict_locked(uint64_t bytes);
    void release_reservation(uint64_t bytes) noexcept;
    void unpin(const CacheKey& key, uint64_t entry_id) noexcept;
    void wake_locked(bool wake) const;
    bool over_wake_threshold_locked() const noexcept;

    const uint64_t max_bytes_;
    std::function<int64_t()> now_ns_;
    std::function<void()> wake_;
    std::function<void(const CacheKey&)> on_erase_;
    uint64_t wake_above_ = UINT64_MAX;

    mutable std::mutex mu_;
    std::unordered_map<KeyId, Entry, KeyIdHash> entries_;
    NameMap names_;
    Entry* coldest_ = nullptr;
    Entry* hottest_ = nullptr;
    uint64_t next_entry_id_ = 1;
    int64_t last_stamp_ = 0;
    uint64_t used_ = 0;
    uint64_t reserved_ = 0;
    uint64_t pinned_ = 0;
    uint64_t fs_limit_ = UINT64_MAX;
    std::vector<Removal> removals_;
    std::vector<KeyId> stamps_due_;
    uint64_t evicted_objects_ = 0;
    uint64_t evicted_bytes_ = 0;
    uint64_t removed_objects_ = 0;
    uint64_t refused_ = 0;

    // Only while the start-up scan runs: keys and names dropped since it began (the scan must not
    // add them back from files it reads before their unlink), and hits on files not yet scanned.
    bool scanning_ = false;
    std::unordered_set<KeyId, KeyIdHash> scan_dropped_keys_;
    std::unordered_set<std::string> scan_dropped_names_;
    std::unordered_map<KeyId, int64_t, KeyIdHash> scan_early_touches_;
};

}  // namespace xs3::cache
