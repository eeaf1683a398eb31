// Fill: join or start, decide, reserve, temp file, attach, verify, publish, leave the registry.
#include "xs3/fetch/fill.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>

#include "xs3/base/log.hpp"
#include "xs3/base/trace.hpp"
#include "xs3/base/unique_fd.hpp"
#include "xs3/s3/object_extent.hpp"
#include "xs3/s3/small_call.hpp"

namespace xs3::fetch {

// The joiner's side of a fill: its ring and its callback, fired at most once.
class FillHandle {
  public:
    FillHandle(ring::Ring& ring, FillCallback done, bool started)
        : ring_(ring), done_(std::move(done)), started_(started) {}
    bool started() const noexcept { return started_; }

    // Tells the handle `a`, never inside the joiner's own call: next turn on its ring.
    static void deliver(const std::weak_ptr<FillHandle>& weak, FillAnswer a) {
        auto handle = weak.lock();
        if (!handle) return;
        ring::Ring& ring = handle->ring_;
        auto task = [weak, a = std::move(a)]() mutable {
            if (auto h = weak.lock()) h->fire(std::move(a));
        };
        if (ring::Ring::current() == &ring)
            ring.defer(std::move(task));
        else
            ring.post(std::move(task));
    }

  private:
    void fire(FillAnswer answer) {
        if (!done_) return;
        auto done = std::move(done_);
        done_ = nullptr;
        answer.started = started_;
        done(std::move(answer));
    }

    ring::Ring& ring_;
    FillCallback done_;
    const bool started_;
};

class Fill : public std::enable_shared_from_this<Fill> {
  public:
    Fill(Fills& fills, std::string name_key, const FillRequest& req)
        : fills_(fills),
          ctx_(fills.context_),
          name_key_(std::move(name_key)),
          bucket_(*req.bucket),
          id_(req.id),
          home_(req.home),
          peers_allowed_(req.peers_allowed) {
        // The Download exists from the start, so a joiner on another ring can always reach it.
        const DownloadOptions& o = ctx_.options.download;
        if (req.known) {
            info_ = *req.known;
            info_known_ = true;
            s3::HttpResponseHead head;
            head.status = 200;
            head.headers.emplace_back("etag", info_.meta.etag);
            dl_ = Download::known(id_.key, info_.size, std::move(head), o);
        } else {
            dl_ = Download::probe(id_.key, req.first_byte, o);
        }
        dl_->set_abandon_when_unread(ctx_.options.abandon_on_disconnect);
    }

    const std::shared_ptr<Download>& download() const noexcept { return dl_; }

    // Home ring, once, right after the fill is registered.
    void start() {
        auto self = shared_from_this();
        // Chosen once, by whoever starts the fill: a fill started by a peer's request never asks
        // a peer (the owner never forwards).
        ChunkSources sources = chunk_sources(ctx_.sources_for, bucket_, id_, peers_allowed_);
        dl_->start(
            home_, ctx_.slots.all(), std::move(sources), [self] { self->on_info(); },
            [self](const Status& st) { self->on_finished(st); });
    }

    // Any ring: the handle is told the answer once it is known (now, if it is).
    void add(const std::shared_ptr<FillHandle>& handle) {
        std::optional<FillAnswer> now;
        {
            std::lock_guard lk(mu_);
            if (answer_)
                now = *answer_;
            else
                waiting_.push_back(handle);
        }
        if (!now) return;
        // Every byte on file already (verifying or publishing): served from the complete file.
        if (now->kind == FillAnswer::Kind::download) now->complete = dl_->all_on_file();
        FillHandle::deliver(handle, std::move(*now));
    }

    void fail(const Status& why) { dl_->fail(why); }

  private:
    // --- what the answer says ------------------------------------------------------------------

    FillAnswer answer_of(FillAnswer::Kind kind) const {
        FillAnswer a;
        a.kind = kind;
        a.info_known = info_known_;
        a.size_known = info_known_;
        if (info_known_) a.info = info_;
        a.from_peer = dl_->size_known() && dl_->probe_from_peer();
        if (kind == FillAnswer::Kind::download) a.download = dl_;
        if (kind == FillAnswer::Kind::failed) {
            a.failure = dl_->failure();
            a.refusal_status = dl_->refusal_status();
            a.refusal_code = dl_->refusal_code();
            a.fetched_any = dl_->bytes_fetched() > 0;
            if (!info_known_ && dl_->size_known()) {
                a.info.size = dl_->size();
                a.size_known = true;
            }
        }
        return a;
    }

    // The answer for everyone waiting and everyone who joins from now on. A later call replaces
    // it for later joiners (a download that then failed or was passed through).
    void answer(FillAnswer::Kind kind) {
        FillAnswer a = answer_of(kind);
        std::vector<std::weak_ptr<FillHandle>> waiting;
        {
            std::lock_guard lk(mu_);
            answer_ = a;
            waiting.swap(waiting_);
        }
        for (auto& w : waiting)
            FillHandle::deliver(w, a);
    }

    // --- deciding ------------------------------------------------------------------------------

    // The probe's answer is in (or the fill failed before it): decide, or first ask the metadata
    // an empty object's 416 did not carry.
    void on_info() {
        if (dl_->state() == Download::State::failed || !dl_->size_known()) {
            // The origin refused, or the range starts beyond the end: joiners answer from the
            // failure; the next request starts afresh.
            answer(FillAnswer::Kind::failed);
            drop();
            return;
        }
        long status = dl_->origin_head().status;
        if (info_known_ || status == 200 || status == 206) {
            decide();
            return;
        }
        auto req = bucket_.head(id_);
        if (!req.ok()) {
            dl_->fail(req.status());
            answer(FillAnswer::Kind::failed);
            drop();
            return;
        }
        head_call_ = std::make_unique<s3::SmallCall>(*home_.curl);
        auto self = shared_from_this();
        head_call_->start(std::move(req).value(),
                          [self](const Status& st, const s3::HttpResponseHead& head,
                                 const std::string&) { self->on_empty_object_head(st, head); });
    }

    void on_empty_object_head(const Status& st, const s3::HttpResponseHead& head) {
        home_.ring->dispose_later(std::move(head_call_));
        if (!st.ok() || head.status != 200) {
            dl_->fail(st.ok() ? Status(Code::unavailable, "HEAD of an empty object answered " +
                                                              std::to_string(head.status))
                              : st);
            answer(FillAnswer::Kind::failed);
            drop();
            return;
        }
        dl_->set_origin_head(head);
        decide();
    }

    void decide() {
        if (!info_known_) {
            info_ = describe_object(bucket_.bucket(), id_, dl_->origin_head(), dl_->size());
            info_known_ = true;
        }
        if (!ctx_.writability.writable()) return pass_through("the cache cannot be written");
        if (info_.size > ctx_.options.max_cache_size)
            return pass_through("the object is larger than the cache");
        // Already cached under its content key (the same bytes under another name)? The index
        // says so without a system call; while the start-up scan runs, the file may only be on
        // disk.
        bool indexed = ctx_.index.find(info_.key).has_value();
        if (indexed && info_.key.content_addressed) {
            cache::NameInfo named;
            named.key = info_.key;
            named.etag = info_.meta.etag;
            named.size = info_.size;
            named.validated_at_unix = time(nullptr);
            ctx_.index.bind_name({bucket_.bucket(), id_.key, id_.version_id}, named);
            serve_cached();
            return;
        }
        bool look_on_disk = indexed || !ctx_.names_complete.load(std::memory_order_relaxed);
        // Space first: a burst of misses cannot overshoot the cache; what does not fit is passed.
        auto reserved = ctx_.index.reserve(cache::disk_bytes_estimate(info_.size));
        if (!reserved.ok()) return pass_through("no room in the cache, even after eviction");
        reservation_ = std::move(reserved).value();
        // The answer goes out now, before the temp file exists: if the cache then fails, readers
        // finish from the origin. Only a copy that may be on disk is looked for first, so a
        // request answered MISS is not then served from that copy.
        if (!look_on_disk) {
            trace_decided("cache", "");
            answer(FillAnswer::Kind::download);
        }
        make_temp_file(look_on_disk);
    }

    void pass_through(const char* why) {
        XS3_LOG_INFO("passthrough", kv("key", id_.key), kv("size", info_.size), kv("why", why));
        trace_decided("passthrough", why);
        dl_->redirect(Download::Redirect::passthrough);
        answer(FillAnswer::Kind::passthrough);
        drop();
    }

    void serve_cached() {
        trace_decided("cached", "");
        dl_->redirect(Download::Redirect::cached);
        answer(FillAnswer::Kind::cached);
        drop();
    }

    // Off the ring: (maybe) look for the object on disk, then make the temp file and a read-only
    // descriptor for readers.
    void make_temp_file(bool look_on_disk) {
        auto self = shared_from_this();
        bool direct = ctx_.options.direct_io;
        bool preallocate = ctx_.options.preallocate;
        ctx_.blocking.submit([self, look_on_disk, direct, preallocate] {
            FillContext& ctx = self->ctx_;
            if (look_on_disk) {
                auto found = ctx.store.lookup(self->info_.key);
                if (found.ok() && found.value().has_value()) {
                    const cache::Entry& e = *found.value();
                    // A name key must hold this very version (by ETag; by Last-Modified from
                    // a store that sends no ETags).
                    const cache::ObjectMeta& m = self->info_.meta;
                    if (e.meta.size == self->info_.size &&
                        (self->info_.key.content_addressed ||
                         s3::same_version({e.meta.etag, e.meta.last_modified},
                                          {m.etag, m.last_modified}))) {
                        self->home_.ring->post([self] { self->serve_cached(); });
                        return;
                    }
                }
            }
            auto temp = std::make_shared<Result<cache::TempFile>>(
                ctx.store.create_temp(self->info_.key, self->info_.meta, direct, preallocate));
            // A task must be copyable, so the descriptor travels in a shared_ptr; a task that
            // never runs (the ring ended first) still closes it.
            auto read_fd = std::make_shared<UniqueFd>();
            if (temp->ok()) {
                read_fd->reset(::open(temp->value().path.c_str(), O_RDONLY | O_CLOEXEC));
                if (!*read_fd) {
                    Status s = status_from_errno(errno, "open temp file for reading");
                    ctx.store.discard(std::move(temp->value()));
                    *temp = s;
                }
            }
            self->home_.ring->post([self, temp, read_fd, look_on_disk] {
                if (look_on_disk) {
                    self->trace_decided("cache", "");
                    self->answer(FillAnswer::Kind::download);
                }
                self->on_temp_file(temp, std::move(*read_fd));
            });
        });
    }

    void on_temp_file(const std::shared_ptr<Result<cache::TempFile>>& temp, UniqueFd read_fd) {
        if (!temp->ok()) {
            ctx_.writability.failed(temp->status());
            XS3_LOG_WARN("cannot create a cache file; passthrough", kv("key", id_.key),
                         kv("error", temp->status().to_string()));
            trace_decided("passthrough", "the cache file could not be made");
            dl_->redirect(Download::Redirect::passthrough);
            answer(FillAnswer::Kind::passthrough);
            drop();
            return;
        }
        temp_ = std::make_shared<cache::TempFile>(std::move(temp->value()));
        ctx_.counters.downloads_started.fetch_add(1, std::memory_order_relaxed);
        // The Download writes through its own descriptor; the TempFile keeps one for publish.
        UniqueFd fd(::dup(temp_->fd.get()));
        if (!fd) {
            dl_->fail(status_from_errno(errno, "dup temp file"));
            answer(FillAnswer::Kind::failed);
            drop();
            return;
        }
        if (info_.key.content_addressed) dl_->verify_with(ctx_.hashing, info_.key.hex);
        if (!dl_->attach_file(std::move(fd), std::move(read_fd), temp_->data_offset,
                              temp_->direct_io)) {
            // It failed meanwhile (shutdown, or the probe's chunk failed for good).
            answer(FillAnswer::Kind::failed);
            drop();
        }
    }

    // The owner's decision, for the trace (a `cache` is followed by `passthrough` when the cache
    // file then cannot be made).
    void trace_decided(const char* decision, const char* why) const {
        XS3_TRACE("dl.decided", trace::f("dl", dl_->trace_id()), trace::f("decision", decision),
                  trace::f("why", why));
    }

    static uint64_t since_us(std::chrono::steady_clock::time_point t) {
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - t)
                      .count();
        return us < 0 ? 0 : static_cast<uint64_t>(us);
    }

    // --- the end -------------------------------------------------------------------------------

    void on_finished(const Status& st) {
        FillCounters& c = ctx_.counters;
        c.chunk_retries.fetch_add(dl_->retries(), std::memory_order_relaxed);
        uint64_t from_peers = dl_->bytes_from_peers();
        c.origin_bytes.fetch_add(dl_->bytes_fetched() - from_peers, std::memory_order_relaxed);
        c.peer_bytes.fetch_add(from_peers, std::memory_order_relaxed);
        if (!st.ok()) {
            c.downloads_failed.fetch_add(1, std::memory_order_relaxed);
            if (dl_->verify_failed()) c.sha224_mismatches.fetch_add(1, std::memory_order_relaxed);
            XS3_LOG_WARN("download failed", kv("key", id_.key), kv("error", st.to_string()));
            if (st.code() == Code::no_space || st.code() == Code::io_error)
                ctx_.writability.failed(st);
            answer(FillAnswer::Kind::failed);
            drop();
            return;
        }
        auto self = shared_from_this();
        ctx_.blocking.submit([self] {
            FillContext& ctx = self->ctx_;
            cache::FileFacts facts;
            Status ps = ctx.store.publish(std::move(*self->temp_), self->info_.key, &facts);
            self->temp_.reset();
            if (!ps.ok()) {
                XS3_LOG_WARN("publish failed", kv("key", self->id_.key),
                             kv("error", ps.to_string()));
                XS3_TRACE("dl.failed", trace::f("dl", self->dl_->trace_id()),
                          trace::f("error", "publish: " + ps.to_string()), trace::f("status", 0));
                self->reservation_.release();
                ctx.writability.failed(ps);
            } else {
                ctx.counters.downloads_published.fetch_add(1, std::memory_order_relaxed);
                // Its usage (blocks on disk) replaces the reservation; the name resolves to it.
                ctx.index.publish(self->info_.key, self->info_.meta, facts,
                                  std::move(self->reservation_));
                XS3_TRACE("dl.published", trace::f("dl", self->dl_->trace_id()),
                          trace::f("size", self->info_.size),
                          trace::f("dur_us", since_us(self->started_)));
                XS3_LOG_DEBUG("object cached", kv("key", self->id_.key));
            }
            // Requests until now joined the complete download; from now on the index has it.
            self->fills_.remove(self->name_key_, self.get());
        });
    }

    // Over for good without a published file: give the space back, remove the temp file, leave
    // the registry (the next request starts afresh).
    void drop() {
        reservation_.release();
        if (temp_) {
            auto tf = std::move(temp_);
            const cache::Store* store = &ctx_.store;
            ctx_.blocking.submit([store, tf] { store->discard(std::move(*tf)); });
        }
        fills_.remove(name_key_, this);
    }

    Fills& fills_;
    FillContext& ctx_;
    const std::string name_key_;
    const s3::BucketClient& bucket_;
    const s3::ObjectId id_;
    const FetchSlot home_;
    const bool peers_allowed_;
    const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::shared_ptr<Download> dl_;

    // Home ring (and the blocking pool, between a post and its answer).
    ObjectInfo info_;
    bool info_known_ = false;
    std::unique_ptr<s3::SmallCall> head_call_;  // the HEAD of an empty object
    std::shared_ptr<cache::TempFile> temp_;
    cache::Reservation reservation_;  // the space promised in the index, until publish

    std::mutex mu_;
    std::optional<FillAnswer> answer_;
    std::vector<std::weak_ptr<FillHandle>> waiting_;
};

// ---------------------------------------------------------------------------------------------

Fills::Fills(FillContext context) : context_(std::move(context)) {}

Fills::~Fills() = default;

std::optional<FillAnswer> Fills::published(const FillRequest& req) const {
    auto named = context_.index.find_name({req.bucket->bucket(), req.id.key, req.id.version_id});
    if (!named) return std::nullopt;
    // A caller that knows the version (a HEAD said it) takes the copy only if it is that one;
    // without ETags versions are not told apart here: it fetches.
    if (req.known && (named->etag.empty() || named->etag != req.known->meta.etag ||
                      named->size != req.known->size))
        return std::nullopt;
    FillAnswer a;
    a.kind = FillAnswer::Kind::cached;
    a.info.key = named->key;
    a.info.size = named->size;
    a.info.meta.etag = named->etag;
    return a;
}

std::shared_ptr<FillHandle> Fills::join(FillRequest req, FillCallback done) {
    std::string name_key = name_key_of(req.bucket->bucket(), req.id);
    std::shared_ptr<Fill> fill;
    bool created = false;
    auto find = [&] {
        std::lock_guard lk(mu_);
        auto it = fills_.find(name_key);
        if (it != fills_.end()) fill = it->second;
    };
    find();
    if (!fill) {
        // The caller looked in the index before calling; a fill that published the object
        // since (into the index, then out of the registry) is not here any more, but its copy
        // is: the caller is one of its joiners, served from the cache, with no new GET.
        if (auto cached = published(req)) {
            auto handle = std::make_shared<FillHandle>(*req.home.ring, std::move(done), false);
            FillHandle::deliver(handle, std::move(*cached));
            return handle;
        }
        std::lock_guard lk(mu_);
        auto it = fills_.find(name_key);
        if (it != fills_.end()) {
            fill = it->second;
        } else {
            fill = std::make_shared<Fill>(*this, name_key, req);
            fills_.emplace(name_key, fill);
            created = true;
        }
    }
    auto handle = std::make_shared<FillHandle>(*req.home.ring, std::move(done), created);
    if (created)
        fill->start();
    else
        fill->download()->prioritize(req.first_byte);
    fill->add(handle);
    return handle;
}

bool Fills::warm(const s3::BucketClient& bucket, s3::ObjectId id) {
    auto slot = context_.slots.next();
    if (!slot) return false;
    const s3::BucketClient* b = &bucket;
    slot->ring->post([this, b, id = std::move(id), slot = *slot]() mutable {
        std::string key = id.key;
        // Nobody waits for the answer: the handle goes at once, the fill runs on.
        auto handle = join(FillRequest{b, std::move(id), 0, std::nullopt, slot}, nullptr);
        if (handle->started())
            XS3_LOG_INFO("warming the cache", kv("bucket", b->bucket()), kv("key", key));
    });
    return true;
}

void Fills::remove(const std::string& name_key, const Fill* fill) {
    std::lock_guard lk(mu_);
    auto it = fills_.find(name_key);
    if (it != fills_.end() && it->second.get() == fill) fills_.erase(it);
}

size_t Fills::active() const {
    std::lock_guard lk(mu_);
    return fills_.size();
}

void Fills::fail_all(const Status& why) {
    std::vector<std::shared_ptr<Fill>> all;
    {
        std::lock_guard lk(mu_);
        for (auto& [k, f] : fills_)
            all.push_back(f);
    }
    for (auto& f : all)
        f->fail(why);
}

std::vector<std::shared_ptr<Download>> Fills::downloads() const {
    std::vector<std::shared_ptr<Download>> out;
    std::lock_guard lk(mu_);
    for (const auto& [k, f] : fills_)
        out.push_back(f->download());
    return out;
}

}  // namespace xs3::fetch
