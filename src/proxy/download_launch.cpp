// launch_download and the cache metadata helpers.
#include "xs3/proxy/download_launch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>

#include "xs3/base/log.hpp"
#include "xs3/proxy/server.hpp"
#include "xs3/s3/small_call.hpp"

namespace xs3::proxy {
namespace {

// Everything one launch needs, shared by its steps (which run on the home ring and the pool).
struct Launch {
    SharedState* shared;
    Worker* home;
    std::shared_ptr<fetch::Download> dl;
    std::string name_key;
    const s3::BucketClient* origin;
    s3::ObjectId id;
    std::string key;  // id.key, for log lines
    cache::CacheKey cache_key;
    cache::ObjectMeta meta;
    std::shared_ptr<cache::TempFile> temp;
    cache::Reservation reservation;            // the space promised in the index, until publish
    std::unique_ptr<s3::SmallCall> meta_call;  // the HEAD of an empty object

    // The download is over for good without a published file: forget it, remove its temp file.
    void drop() {
        reservation.release();
        if (temp) {
            auto tf = std::move(temp);
            SharedState* sp = shared;
            shared->blocking.submit([sp, tf] { sp->store.discard(std::move(*tf)); });
        }
        shared->downloads.remove(name_key, dl.get());
    }
};

void on_info(const std::shared_ptr<Launch>& l);
void on_temp_ready(const std::shared_ptr<Launch>& l, std::shared_ptr<Result<cache::TempFile>> temp,
                   int read_fd);
void on_finished(const std::shared_ptr<Launch>& l, const Status& st);

void decide(const std::shared_ptr<Launch>& l);

void on_info(const std::shared_ptr<Launch>& l) {
    fetch::Download& dl = *l->dl;
    if (dl.state() == fetch::Download::State::failed || !dl.size_known()) {
        // The probe failed (the origin refused, or the range starts beyond the end): readers
        // answer from the failure; the next request starts afresh.
        l->drop();
        return;
    }
    long status = dl.origin_head().status;
    if (status == 200 || status == 206) {
        decide(l);
        return;
    }
    // An empty object: the probe's 416 told the size but no metadata. Ask a HEAD.
    auto req = l->origin->head(l->id);
    if (!req.ok()) {
        dl.fail(req.status());
        l->drop();
        return;
    }
    l->meta_call = std::make_unique<s3::SmallCall>(l->home->curl());
    auto launch = l;
    l->meta_call->start(std::move(req).value(), [launch](const Status& st,
                                                         const s3::HttpResponseHead& head,
                                                         const std::string&) {
        launch->home->ring().dispose_later(std::move(launch->meta_call));
        if (!st.ok() || head.status != 200) {
            launch->dl->fail(st.ok()
                                 ? Status(Code::unavailable, "HEAD of an empty object answered " +
                                                                 std::to_string(head.status))
                                 : st);
            launch->drop();
            return;
        }
        launch->dl->set_origin_head(head);
        decide(launch);
    });
}

void decide(const std::shared_ptr<Launch>& l) {
    fetch::Download& dl = *l->dl;
    SharedState& shared = *l->shared;
    const s3::HttpResponseHead& head = dl.origin_head();
    l->cache_key = cache_key_for(l->origin->bucket(), l->id, head);
    l->meta = object_meta_from_head(head, dl.size(), l->origin->bucket(), l->id);
    auto passthrough = [&](const char* why) {
        XS3_LOG_INFO("passthrough", kv("key", l->key), kv("size", dl.size()), kv("why", why));
        dl.redirect(fetch::Download::Redirect::passthrough);
        l->drop();
    };
    if (!shared.cache_writable.load(std::memory_order_relaxed))
        return passthrough("the cache cannot be written");
    if (dl.size() > shared.options.max_cache_size)
        return passthrough("the object is larger than the cache");
    // Already cached under its content key (the same bytes under another name)? The index
    // says so without a system call; while the start-up scan runs, the file may only be on disk.
    cache::ObjectName name{l->origin->bucket(), l->id.key, l->id.version_id};
    bool indexed = shared.index.find(l->cache_key).has_value();
    if (indexed && l->cache_key.content_addressed) {
        cache::NameInfo info;
        info.key = l->cache_key;
        info.etag = l->meta.etag;
        info.size = l->meta.size;
        info.validated_at_unix = time(nullptr);
        shared.index.bind_name(name, info);
        dl.redirect(fetch::Download::Redirect::cached);
        l->drop();
        return;
    }
    bool look_on_disk = indexed || !shared.names_complete.load(std::memory_order_relaxed);
    // Space first: a burst of misses cannot overshoot the cache; what does not fit is passed.
    auto reserved = shared.index.reserve(cache::disk_bytes_estimate(dl.size()));
    if (!reserved.ok()) return passthrough("no room in the cache, even after eviction");
    l->reservation = std::move(reserved).value();
    bool direct = shared.options.direct_io;
    bool preallocate = shared.options.preallocate;
    auto launch = l;
    // Off the ring: (maybe) look for it on disk, then create the temp file and a read-only
    // descriptor for readers.
    shared.blocking.submit([launch, direct, preallocate, look_on_disk] {
        SharedState* sp = launch->shared;
        if (look_on_disk) {
            auto found = sp->store.lookup(launch->cache_key);
            if (found.ok() && found.value().has_value()) {
                const cache::Entry& e = *found.value();
                if (e.meta.size == launch->meta.size &&
                    (launch->cache_key.content_addressed || e.meta.etag == launch->meta.etag)) {
                    launch->home->ring().post([launch] {
                        launch->dl->redirect(fetch::Download::Redirect::cached);
                        launch->drop();
                    });
                    return;
                }
            }
        }
        auto temp = std::make_shared<Result<cache::TempFile>>(
            sp->store.create_temp(launch->cache_key, launch->meta, direct, preallocate));
        int read_fd = -1;
        if (temp->ok()) {
            read_fd = ::open(temp->value().path.c_str(), O_RDONLY | O_CLOEXEC);
            if (read_fd < 0) {
                Status s = status_from_errno(errno, "open temp file for reading");
                sp->store.discard(std::move(temp->value()));
                *temp = s;
            }
        }
        launch->home->ring().post(
            [launch, temp, read_fd] { on_temp_ready(launch, temp, read_fd); });
    });
}

void on_temp_ready(const std::shared_ptr<Launch>& l, std::shared_ptr<Result<cache::TempFile>> temp,
                   int read_fd) {
    SharedState& shared = *l->shared;
    fetch::Download& dl = *l->dl;
    if (!temp->ok()) {
        shared.cache_failed(temp->status());
        XS3_LOG_WARN("cannot create a cache file; passthrough", kv("key", l->key),
                     kv("error", temp->status().to_string()));
        dl.redirect(fetch::Download::Redirect::passthrough);
        l->drop();
        return;
    }
    l->temp = std::make_shared<cache::TempFile>(std::move(temp->value()));
    shared.counters.downloads_started.fetch_add(1, std::memory_order_relaxed);
    // The Download writes through its own descriptor; the TempFile keeps one for publish.
    int fd = ::dup(l->temp->fd.get());
    if (fd < 0) {
        ::close(read_fd);
        dl.fail(status_from_errno(errno, "dup temp file"));
        l->drop();
        return;
    }
    if (l->cache_key.content_addressed) dl.verify_with(shared.hashing, l->cache_key.hex);
    if (!dl.attach_file(fd, read_fd, l->temp->data_offset, l->temp->direct_io))
        l->drop();  // it failed meanwhile (shutdown, or the probe's chunk failed for good)
}

void on_finished(const std::shared_ptr<Launch>& l, const Status& st) {
    Counters& c = l->shared->counters;
    c.chunk_retries.fetch_add(l->dl->retries(), std::memory_order_relaxed);
    c.origin_bytes.fetch_add(l->dl->bytes_fetched(), std::memory_order_relaxed);
    if (!st.ok()) {
        c.downloads_failed.fetch_add(1, std::memory_order_relaxed);
        if (l->dl->verify_failed()) c.sha224_mismatches.fetch_add(1, std::memory_order_relaxed);
        XS3_LOG_WARN("download failed", kv("key", l->key), kv("error", st.to_string()));
        if (st.code() == Code::no_space || st.code() == Code::io_error) l->shared->cache_failed(st);
        l->drop();
        return;
    }
    auto launch = l;
    l->shared->blocking.submit([launch] {
        SharedState* sp = launch->shared;
        cache::FileFacts facts;
        Status ps = sp->store.publish(std::move(*launch->temp), launch->cache_key, &facts);
        launch->temp.reset();
        if (!ps.ok()) {
            XS3_LOG_WARN("publish failed", kv("key", launch->key), kv("error", ps.to_string()));
            launch->reservation.release();
            sp->cache_failed(ps);
        } else {
            sp->counters.downloads_published.fetch_add(1, std::memory_order_relaxed);
            // Its usage (blocks on disk) replaces the reservation; the name resolves to it now.
            sp->index.publish(launch->cache_key, launch->meta, facts,
                              std::move(launch->reservation));
            XS3_LOG_DEBUG("object cached", kv("key", launch->key));
        }
        sp->downloads.remove(launch->name_key, launch->dl.get());
    });
}

}  // namespace

cache::ObjectMeta object_meta_from_head(const s3::HttpResponseHead& head, uint64_t size,
                                        std::string bucket, const s3::ObjectId& id) {
    cache::ObjectMeta meta;
    auto pick = [&](const char* n) {
        const std::string* v = head.get(n);
        return v ? *v : std::string();
    };
    meta.size = size;
    meta.etag = pick("etag");
    meta.last_modified = pick("last-modified");
    meta.content_type = pick("content-type");
    meta.cache_control = pick("cache-control");
    meta.content_encoding = pick("content-encoding");
    meta.content_disposition = pick("content-disposition");
    meta.content_language = pick("content-language");
    meta.expires = pick("expires");
    meta.version_id = id.version_id;
    for (const auto& [n, v] : head.headers)
        if (n.rfind("x-amz-meta-", 0) == 0) meta.user_meta.emplace_back(n.substr(11), v);
    meta.bucket = std::move(bucket);
    meta.key = id.key;
    meta.stored_at_unix = static_cast<int64_t>(time(nullptr));
    return meta;
}

namespace {
// The name a name key hashes: the key, and the version after a NUL when one was asked for (a
// key cannot hold NUL, so a versioned name never equals a plain one).
std::string versioned_name(const s3::ObjectId& id) {
    if (id.version_id.empty()) return id.key;
    return id.key + std::string(1, '\0') + "versionId=" + id.version_id;
}
}  // namespace

cache::CacheKey cache_key_for(const std::string& bucket, const s3::ObjectId& id,
                              const s3::HttpResponseHead& head) {
    const std::string* sha = head.get("x-amz-meta-sha224");
    auto choice = cache::make_cache_key(
        bucket, versioned_name(id),
        sha ? std::optional<std::string_view>(*sha) : std::optional<std::string_view>());
    if (choice.ignored_sha224)
        XS3_LOG_WARN("x-amz-meta-sha224 ignored", kv("key", id.key),
                     kv("why", *choice.ignored_sha224));
    return choice.key;
}

std::string name_key_of(const std::string& bucket, const s3::ObjectId& id) {
    return cache::make_cache_key(bucket, versioned_name(id), std::nullopt).key.hex;
}

void launch_download(Worker& w, std::shared_ptr<fetch::Download> dl, std::string name_key,
                     const s3::BucketClient& origin, s3::ObjectId id) {
    auto l = std::make_shared<Launch>();
    l->shared = &w.shared();
    l->home = &w;
    l->dl = dl;
    l->name_key = std::move(name_key);
    l->origin = &origin;
    l->key = id.key;
    l->id = std::move(id);
    SharedState& shared = w.shared();
    dl->set_abandon_when_unread(shared.options.abandon_on_disconnect);
    const s3::BucketClient* o = &origin;
    auto factory = [o, id = l->id](uint64_t first, uint64_t last, const std::string& if_match) {
        // The object formed a valid URL for the request that started this, so this cannot
        // fail; an empty URL would make curl fail the chunk rather than fetch anything else.
        auto r = o->get(id, std::make_pair(first, last), if_match);
        return r.ok() ? std::move(r).value() : s3::HttpRequest{};
    };
    fetch::FetchSlot home{&w.ring(), &w.curl()};
    dl->start(
        home, shared.fetch_slots(), factory, [l] { on_info(l); },
        [l](const Status& st) { on_finished(l, st); });
}

}  // namespace xs3::proxy
