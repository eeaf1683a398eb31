// Download: the probe, chunk fetchers on every ring writing through their own ring, progress
// atomics, waiters, and verification.
#include "xs3/fetch/download.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>

#include "xs3/base/histogram.hpp"
#include "xs3/base/log.hpp"
#include "xs3/base/trace.hpp"
#include "xs3/s3/errors.hpp"
#include "xs3/s3/object_extent.hpp"

#include "chunk_fetcher.hpp"

namespace xs3::fetch {

Download::Download(std::string name, DownloadOptions options)
    : name_(std::move(name)), options_(std::move(options)), retry_policy_(options_.retry) {}

std::shared_ptr<Download> Download::probe(std::string name, uint64_t first_byte,
                                          DownloadOptions options) {
    std::shared_ptr<Download> d(new Download(std::move(name), std::move(options)));
    d->probing_ = true;
    d->probe_first_byte_ = first_byte;
    return d;
}

std::shared_ptr<Download> Download::known(std::string name, uint64_t size,
                                          s3::HttpResponseHead head, DownloadOptions options) {
    std::shared_ptr<Download> d(new Download(std::move(name), std::move(options)));
    const std::string* etag = head.get("etag");
    d->etag_ = s3::if_match_value(etag ? *etag : std::string());
    d->origin_head_ = std::move(head);
    d->plan(size);
    d->order_.clear();
    for (size_t i = 0; i < d->plan_.chunks.size(); ++i)
        d->order_.push_back(i);
    // Still "probing" until start(): the owner decides before readers see the metadata.
    return d;
}

Download::~Download() = default;

void Download::plan(uint64_t size) {
    size_ = size;
    plan_ = plan_chunks(size_, options_.planner);
    if (whole_object_ && size_ > 0) {
        plan_.chunk_size = size_;
        plan_.concurrency = 1;
        plan_.chunks = {{0, size_}};
    }
    progress_.init(plan_);
    chunk_started_.assign(plan_.chunks.size(), 0);
    size_known_.store(true, std::memory_order_release);
}
Status Download::failure() const {
    std::lock_guard lk(mu_);
    return failure_;
}

int Download::refusal_status() const {
    std::lock_guard lk(mu_);
    return refusal_.http_status;
}

std::string Download::refusal_code() const {
    std::lock_guard lk(mu_);
    return refusal_.s3_code;
}

bool Download::on_home_ring() const noexcept {
    return ring::Ring::current() == home_.ring;
}

void Download::run_on_home(std::function<void()> task) {
    if (on_home_ring())
        task();
    else
        home_.ring->post(std::move(task));
}

FetchSlot Download::next_slot() {
    if (!options_.spread_across_slots || slots_.empty()) return home_;
    return slots_[slot_rr_++ % slots_.size()];
}

void Download::set_state(State s) {
    state_.store(s, std::memory_order_release);
    progress_.wake_all();
}

uint64_t Download::available_from(uint64_t pos) const noexcept {
    State s = state_.load(std::memory_order_acquire);
    if (s != State::running && s != State::complete && s != State::failed) return 0;
    return progress_.available_from(pos);
}

bool Download::all_on_file() const noexcept {
    State s = state_.load(std::memory_order_acquire);
    if (s == State::complete) return true;
    // Running: the plan (and size) were set before the state moved on, so reading them is safe.
    return s == State::running && progress_.contiguous_prefix() >= size_;
}

bool Download::wait(uint64_t pos, ring::Ring& ring, std::function<void()> wake) {
    bool waiting = progress_.wait(ring, std::move(wake), [&] {
        State s = state_.load(std::memory_order_acquire);
        if (s == State::complete || s == State::failed || s == State::redirected) return true;
        return s == State::running && progress_.available_from(pos) > 0;
    });
    if (waiting && state() == State::running && plan_.chunk_size > 0 && pos < size_) {
        std::lock_guard lk(mu_);
        wanted_.insert(static_cast<size_t>(pos / plan_.chunk_size));
    }
    return waiting;
}

void Download::prioritize(uint64_t pos) {
    if (!size_known() || plan_.chunk_size == 0 || pos >= size_) return;
    std::lock_guard lk(mu_);
    wanted_.insert(static_cast<size_t>(pos / plan_.chunk_size));
}

std::shared_ptr<void> Download::reader_token() {
    readers_.fetch_add(1, std::memory_order_relaxed);
    auto self = shared_from_this();
    return std::shared_ptr<void>(nullptr, [self](void*) { self->reader_left(); });
}

void Download::reader_left() {
    if (readers_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (!abandon_when_unread_.load(std::memory_order_relaxed)) return;
    if (home_.ring == nullptr) return;
    auto self = shared_from_this();
    run_on_home([self] {
        if (self->readers_.load() == 0 && !self->finished_ && self->file_attached_) {
            XS3_LOG_INFO("every reader left; abandoning the download", kv("object", self->name_));
            self->finish(Status(Code::cancelled, "abandoned: every reader left"));
        }
    });
}

// --- owner side ------------------------------------------------------------------------------

void Download::start(FetchSlot home, std::vector<FetchSlot> slots, ChunkSources sources,
                     std::function<void()> on_info,
                     std::function<void(const Status&)> on_finished) {
    home_ = home;
    slots_ = std::move(slots);
    sources_ = std::move(sources);
    // A HEAD gave size and metadata: "from a peer" then means the bytes are asked of one first.
    if (!probing_) probe_from_peer_.store(sources_.front()->is_peer(), std::memory_order_relaxed);
    on_info_ = std::move(on_info);
    on_finished_ = std::move(on_finished);
    XS3_TRACE("dl.start", trace::f("dl", trace_id_), trace::f("key", name_),
              trace::f("mode", probing_ ? "probe" : "known"),
              trace::f("first", probing_ ? probe_first_byte_ : 0));
    auto self = shared_from_this();
    if (!probing_) {
        // A known object was planned when made; its plan follows dl.start all the same.
        XS3_TRACE("dl.plan", trace::f("dl", trace_id_), trace::f("size", size_),
                  trace::f("chunks", plan_.chunks.size()), trace::f("chunk_size", plan_.chunk_size),
                  trace::f("concurrency", plan_.concurrency));
        decided();
        return;
    }
    uint64_t cs = effective_chunk_size(options_.planner);
    size_t index = static_cast<size_t>(probe_first_byte_ / cs);
    probe_fetcher_ = std::make_shared<ChunkFetcher>(self, index, index * cs, cs, home_, true);
    active_[index] = probe_fetcher_;
    probe_fetcher_->start();
}

void Download::on_probe_head(const s3::HttpResponseHead& head, uint64_t size) {
    const std::string* etag = head.get("etag");
    etag_ = s3::if_match_value(etag ? *etag : std::string());
    origin_head_ = head;
    plan(size);
    XS3_TRACE("dl.plan", trace::f("dl", trace_id_), trace::f("size", size_),
              trace::f("chunks", plan_.chunks.size()), trace::f("chunk_size", plan_.chunk_size),
              trace::f("concurrency", plan_.concurrency));
    if (whole_object_ && probe_fetcher_) {
        // The probe fetches the whole object as chunk 0 now (it re-homed itself).
        std::erase_if(active_, [this](const auto& e) { return e.second == probe_fetcher_; });
        active_[0] = probe_fetcher_;
    }
    size_t probe_index = probe_fetcher_ ? probe_fetcher_->index() : 0;
    order_.clear();
    for (size_t i = probe_index + 1; i < plan_.chunks.size(); ++i)
        order_.push_back(i);
    for (size_t i = 0; i < std::min(probe_index, plan_.chunks.size()); ++i)
        order_.push_back(i);
    if (probe_index < plan_.chunks.size()) chunk_started_[probe_index] = 1;
    if (plan_.chunks.size() > 0 && probe_index >= plan_.chunks.size()) {
        // The reader's first byte is beyond the end: nothing to fetch for it (a 416).
        finish(Status(Code::out_of_range, "the range starts beyond the object's end"),
               {416, "InvalidRange"});
        return;
    }
    decided();
}

void Download::decided() {
    // The owner decides first (cache it, pass it through, serve it from the cache), and only
    // then do readers learn the size and metadata: none answers before the decision.
    if (auto cb = std::move(on_info_)) cb();
    if (state() == State::probing) set_state(State::preparing);
}

void Download::verify_with(ThreadPool& pool, std::string sha224_hex) {
    hash_pool_ = &pool;
    expected_sha224_ = std::move(sha224_hex);
}

bool Download::attach_file(UniqueFd write_fd, UniqueFd read_fd, uint64_t data_offset,
                           bool direct_io) {
    fd_ = std::move(write_fd);
    read_fd_ = std::move(read_fd);
    data_offset_ = data_offset;
    direct_io_ = direct_io;
    if (finished_) return false;  // failed while the file was being made
    file_attached_ = true;
    set_state(State::running);
    if (probe_fetcher_) {
        auto probe = std::move(probe_fetcher_);
        probe->file_ready();
    }
    if (plan_.chunks.empty()) {
        all_written();
        return true;
    }
    // Readers woken by set_state() answer first; starting a few dozen transfers takes a while.
    auto self = shared_from_this();
    home_.ring->defer([self] { self->pump(); });
    return true;
}

void Download::redirect(Redirect where) {
    if (finished_) return;
    redirect_ = where;
    finished_ = true;
    for (auto& [i, f] : active_) {
        auto fetcher = f;
        fetcher->ring().post([fetcher] { fetcher->abort(); });
    }
    probe_fetcher_.reset();
    // The callbacks may hold the owner, which holds us: let go of them.
    on_info_ = nullptr;
    on_finished_ = nullptr;
    set_state(State::redirected);
}

void Download::fail(Status why) {
    if (home_.ring == nullptr || on_home_ring()) {
        finish(why);
        return;
    }
    auto self = shared_from_this();
    home_.ring->post([self, why] { self->finish(why); });
}

void Download::pump() {
    if (finished_ || !file_attached_) return;
    auto self = shared_from_this();
    while (active_.size() < plan_.concurrency) {
        size_t next = SIZE_MAX;
        {
            std::lock_guard lk(mu_);
            while (!wanted_.empty() && next == SIZE_MAX) {
                size_t w = *wanted_.begin();
                wanted_.erase(wanted_.begin());
                if (w < chunk_started_.size() && !chunk_started_[w]) next = w;
            }
        }
        while (next == SIZE_MAX && order_pos_ < order_.size()) {
            size_t c = order_[order_pos_++];
            if (!chunk_started_[c]) next = c;
        }
        if (next == SIZE_MAX) return;
        chunk_started_[next] = 1;
        FetchSlot slot = next_slot();
        const ChunkRange& r = plan_.chunks[next];
        auto f = std::make_shared<ChunkFetcher>(self, next, r.offset, r.length, slot, false);
        active_[next] = f;
        if (slot.ring == home_.ring)
            f->start();
        else
            slot.ring->post([f] { f->start(); });
    }
}

void Download::chunk_done(const std::shared_ptr<ChunkFetcher>& f, const Status& status,
                          const Refusal& refusal) {
    auto it = active_.find(f->index());
    if (it != active_.end() && it->second == f) active_.erase(it);
    if (probe_fetcher_ == f) probe_fetcher_.reset();
    if (finished_) return;
    if (!status.ok()) {
        finish(status, refusal);
        return;
    }
    if (f->index() >= plan_.chunks.size()) return;  // an empty object's probe
    ++chunks_done_;
    kick_hash();
    if (chunks_done_ == plan_.chunks.size())
        all_written();
    else
        pump();
}

void Download::all_written() {
    writing_done_ = true;
    if (hash_pool_ != nullptr)
        kick_hash();  // completes once the last bytes are hashed
    else
        finish(Status());
}

void Download::finish(const Status& status) {
    finish(status, Refusal{});
}

void Download::finish(const Status& status, Refusal refusal) {
    if (finished_) return;
    finished_ = true;
    if (!status.ok()) {
        XS3_TRACE("dl.failed", trace::f("dl", trace_id_), trace::f("error", status.to_string()),
                  trace::f("status", refusal.http_status));
        {
            std::lock_guard lk(mu_);
            failure_ = status;
            refusal_ = std::move(refusal);
        }
        for (auto& [i, f] : active_) {
            auto fetcher = f;
            if (&fetcher->ring() == ring::Ring::current())
                fetcher->ring().defer([fetcher] { fetcher->abort(); });
            else
                fetcher->ring().post([fetcher] { fetcher->abort(); });
        }
        probe_fetcher_.reset();
        set_state(State::failed);
    } else {
        set_state(State::complete);
    }
    // Before the file exists the owner is waiting for on_info (or is making the file, and sees
    // the state when it attaches); after, it waits for on_finished.
    if (auto cb = std::move(on_info_)) cb();
    auto done = std::move(on_finished_);
    on_finished_ = nullptr;
    if (file_attached_ && done) done(status);
}

// --- verification ------------------------------------------------------------------------------

void Download::kick_hash() {
    if (hash_pool_ == nullptr || hash_running_ || finished_ || !file_attached_) return;
    bool more = progress_.contiguous_prefix() > hashed_;
    bool final = writing_done_ && hashed_ == size_;
    if (!more && !final) return;
    if (final) {
        std::string got = hex_lower(hasher_.finish());
        if (got == expected_sha224_) {
            verified_.store(true);
            finish(Status());
        } else {
            verify_failed_.store(true);
            XS3_LOG_WARN("sha224 mismatch: the download is discarded", kv("object", name_),
                         kv("expected", expected_sha224_), kv("got", got));
            finish(Status(Code::invalid_argument,
                          "the object's bytes do not match its x-amz-meta-sha224"));
        }
        return;
    }
    hash_running_ = true;
    auto self = shared_from_this();
    hash_pool_->submit([self] { self->hash_step(); });
}

void Download::hash_step() {
    // On the hashing pool: at most 64 MiB per step so other work on the pool interleaves.
    static thread_local std::vector<char> buf(1 << 20);
    uint64_t avail = progress_.contiguous_prefix();
    uint64_t budget = 64ULL << 20;
    Status error;
    while (hashed_ < avail && budget > 0) {
        size_t want =
            static_cast<size_t>(std::min<uint64_t>({avail - hashed_, buf.size(), budget}));
        ssize_t got =
            ::pread(read_fd_.get(), buf.data(), want, static_cast<off_t>(data_offset_ + hashed_));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            error = got < 0 ? status_from_errno(errno, "read temp file for sha224")
                            : Status(Code::io_error, "temp file shorter than its written bytes");
            break;
        }
        hasher_.update(std::string_view(buf.data(), static_cast<size_t>(got)));
        hashed_ += static_cast<uint64_t>(got);
        budget -= std::min<uint64_t>(budget, static_cast<uint64_t>(got));
    }
    auto self = shared_from_this();
    home_.ring->post([self, error] {
        self->hash_running_ = false;
        if (!error.ok()) {
            self->finish(error);
            return;
        }
        self->kick_hash();
    });
}

}  // namespace xs3::fetch
