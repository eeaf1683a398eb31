// Download::ChunkFetcher: the attempts of one chunk (see chunk_fetcher.hpp); their writes to the
// file are in chunk_writer.cpp.
#include "chunk_fetcher.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "xs3/base/histogram.hpp"
#include "xs3/base/log.hpp"
#include "xs3/base/trace.hpp"
#include "xs3/ring/block_pool.hpp"
#include "xs3/s3/errors.hpp"
#include "xs3/s3/object_extent.hpp"

namespace xs3::fetch {
namespace {

using chunk_detail::kBlock;

// Idle chunk buffers a ring keeps for the next chunks (per write size): the buffers of 32
// fetchers at the default write size. The chunks of a download start together and end together:
// with half as many kept, half of them went back to the allocator when a round ended and were
// mapped afresh for the next.
constexpr size_t kIdleBufferBytes = 32 << 20;

// The write buffers of the chunks a ring fetches, reused from chunk to chunk. A fresh buffer of
// write_size (512 KiB: above glibc's mmap threshold) was mapped, faulted in and zeroed page by
// page under the first copy into it, and unmapped, for every chunk: 10% of a cold GET's CPU
// (perf, one cold 1 GiB GET: page faults under the copy into the buffer 8.6%, munmap 1.9%).
// Taken and given back on the fetcher's own ring (one pool per thread, no locking).
struct ChunkBufferPools {
    std::vector<std::unique_ptr<ring::BlockPool>> pools;
    bool trim_armed = false;
};
ChunkBufferPools& chunk_pools() {
    thread_local ChunkBufferPools p;
    return p;
}
ring::BlockPool& chunk_buffers(size_t size) {
    auto& pools = chunk_pools().pools;
    for (auto& p : pools)
        if (p->block_size() == size) return *p;
    pools.push_back(
        std::make_unique<ring::BlockPool>(size, std::max<size_t>(2, kIdleBufferBytes / size)));
    return *pools.back();
}

// Once a ring's last chunk buffer is back, its idle ones are freed a second later unless a chunk
// took one meanwhile: the rounds of a download (which end together) still reuse them, but a
// burst of cold GETs must not leave up to 32 MiB per ring held for good — memory the heap
// trimmer cannot return while the pool holds it.
constexpr auto kIdleBufferTrim = std::chrono::seconds(1);
void trim_chunk_buffers_later(ring::Ring& r) {
    ChunkBufferPools& cp = chunk_pools();
    if (cp.trim_armed) return;
    cp.trim_armed = true;
    (void)r.add_timer(kIdleBufferTrim, [] {
        ChunkBufferPools& now = chunk_pools();  // the same thread: timers run on their ring
        now.trim_armed = false;
        for (auto& p : now.pools)
            if (p->outstanding() == 0) p->drop_idle();
    });
}

std::atomic<size_t> g_live_fetchers{0};

// How long each attempt of a chunk GET took, from its start to its end, by how it ended: ok
// (every byte of the chunk on file), retried (it failed and another attempt follows), failed
// (the chunk failed for good), aborted (the download ended first: failed elsewhere, redirected,
// abandoned).
struct ChunkTransferHistograms {
    HistogramFamily family{"xs3_chunk_transfer_seconds",
                           "Time from starting a chunk GET attempt until it ended, by outcome",
                           {"outcome"},
                           latency_bounds_us()};
    Histogram& ok = family.series({"ok"});
    Histogram& retried = family.series({"retried"});
    Histogram& failed = family.series({"failed"});
    Histogram& aborted = family.series({"aborted"});
};
ChunkTransferHistograms& chunk_histograms() {
    static auto* h = new ChunkTransferHistograms();  // lives as long as /metrics may ask
    return *h;
}
[[maybe_unused]] const bool g_registered = (chunk_histograms(), true);

}  // namespace

size_t Download::live_fetchers() noexcept {
    return g_live_fetchers.load(std::memory_order_acquire);
}

size_t Download::idle_chunk_buffers() noexcept {
    size_t n = 0;
    for (auto& p : chunk_pools().pools)
        n += p->idle();
    return n;
}

Download::ChunkFetcher::ChunkFetcher(std::shared_ptr<Download> d, size_t index, uint64_t offset,
                                     uint64_t length, FetchSlot slot, bool probe)
    : d_(std::move(d)),
      index_(index),
      offset_(offset),
      length_(length),
      slot_(slot),
      probe_(probe),
      ws_(std::max<size_t>(kBlock, d_->options_.write_size / kBlock * kBlock)),
      retry_(d_->retry_policy_, d_->options_.budget) {
    g_live_fetchers.fetch_add(1, std::memory_order_relaxed);
}

Download::ChunkFetcher::~ChunkFetcher() {
    g_live_fetchers.fetch_sub(1, std::memory_order_release);
}

void Download::ChunkFetcher::start() noexcept {
    if (phase_ != Phase::idle) return;  // aborted before it started
    ring::BlockPool& pool = chunk_buffers(ws_);
    bufs_[0] = pool.acquire();
    bufs_[1] = pool.acquire();
    if (!bufs_[0] || !bufs_[1]) {
        retire(Status(Code::internal, "out of memory for chunk buffers"), {});
        return;
    }
    begin_attempt();
}

// The download is over: stop without reporting anything but the retirement.
void Download::ChunkFetcher::abort() noexcept {
    if (aborted_ || phase_ == Phase::retired) return;
    aborted_ = true;
    if (phase_ == Phase::fetching) stop_transfer();
    ring().cancel_timer(retry_timer_);
    phase_ = Phase::settling;
    maybe_retire();
}

// The probe's file exists now: write what is buffered, take the rest of the body.
void Download::ChunkFetcher::file_ready() noexcept {
    if (aborted_) return;
    if (phase_ == Phase::fetching) {
        maybe_flush(false);
        resume_if_paused();
    } else {
        settle();  // a finished transfer waited for the file; else nothing to do
    }
}

bool Download::ChunkFetcher::owns(unsigned attempt) const noexcept {
    return attempt == attempt_ && phase_ == Phase::fetching;
}

// From idle or waiting, with nothing in flight: the next attempt takes the chunk.
void Download::ChunkFetcher::begin_attempt() noexcept {
    ++attempt_;
    received_ = written_;
    fill_[0] = fill_[1] = 0;
    cur_ = 0;
    http_ok_ = false;
    head_status_ = 0;
    skip_ = 0;
    head_ = {};
    error_ = Status();
    refusal_ = {};
    error_body_.clear();
    fatal_ = false;
    flushed_once_ = false;
    trusted_ = true;
    salvaged_ = false;
    paused_ = false;
    stall_timer_armed_once_ = false;
    wrong_version_ = false;
    attempt_bytes_ = 0;
    reported_ = false;
    sent_ = true;
    const ChunkSource& src = source();
    peer_ = src.is_peer();
    auto built = src.request(offset_ + received_, offset_ + length_ - 1, d_->etag_);
    if (!built.ok()) {
        // Nothing goes out: a failed attempt of this source (the next one takes the chunk).
        error_ = built.status();
        sent_ = false;
        phase_ = Phase::settling;
        settle();
        return;
    }
    s3::HttpRequest req = std::move(built).value();
    if (auto lim = src.limits()) {
        req.connect_timeout = lim->connect;
        req.first_byte_timeout = lim->first_byte;
        req.low_speed_timeout = lim->stall;
        req.low_speed_limit = lim->low_speed_limit;
        stall_limit_ = lim->stall;
    } else {
        req.connect_timeout = d_->options_.connect_timeout;
        req.low_speed_timeout = d_->options_.low_speed_timeout;
        stall_limit_ = d_->options_.low_speed_timeout;
    }
    transfer_ = std::make_unique<Transfer>(*this, attempt_);
    phase_ = Phase::fetching;
    attempt_started_ = std::chrono::steady_clock::now();
    if (first_started_ == std::chrono::steady_clock::time_point{})
        first_started_ = attempt_started_;
    XS3_TRACE("chunk.start", trace::f("dl", d_->trace_id()), trace::f("chunk", index_),
              trace::f("attempt", attempt_), trace::f("first", offset_ + received_),
              trace::f("last", offset_ + length_ - 1), trace::f("probe", probe_));
    tid_ = slot_.curl->start(std::move(req), transfer_.get());
    arm_stall_check();
}

// The attempt's outcome, to its source, once.
void Download::ChunkFetcher::report(bool ok) noexcept {
    if (reported_) return;
    reported_ = true;
    AttemptReport r;
    r.ok = ok;
    r.sent = sent_;
    if (!ok) r.error = error_;
    r.http_status = head_status_;
    r.wrong_version = wrong_version_ || head_status_ == 412;
    r.bytes = attempt_bytes_;
    source().attempt_done(r);
}

// Ends the current attempt's transfer early (a stall, a write error, an abort): curl makes no
// further callback for it.
void Download::ChunkFetcher::stop_transfer() noexcept {
    slot_.curl->cancel(tid_);
    ring().cancel_timer(stall_timer_);
    phase_ = Phase::settling;
}

void Download::ChunkFetcher::on_head(const s3::HttpResponseHead& head) noexcept {
    head_status_ = static_cast<int>(head.status);
    head_ = head;
    XS3_TRACE("chunk.head", trace::f("dl", d_->trace_id()), trace::f("chunk", index_),
              trace::f("attempt", attempt_), trace::f("status", head_status_),
              trace::f("latency_us", us_since(attempt_started_)));
    if (probe_ && !d_->size_known()) {
        probe_head(head);
        return;
    }
    if (head.status != 200 && head.status != 206) {
        refuse_or_retry(head.status);
        return;
    }
    // Exactly the bytes still missing, of the version being read (s3/object_extent reads
    // the answer the way stores send it: a 200 with the whole object is used too).
    const uint64_t first = offset_ + received_;
    const s3::ObjectVersion version = s3::version_of(d_->origin_head_);
    auto a = s3::read_range_answer({first, length_ - received_, d_->size_}, head, &version);
    using Kind = s3::RangeAnswer::Kind;
    if (a.kind == Kind::other_version) {
        // A store that does not honour If-Match (or got none: weak or missing ETags) must
        // not hand us another version's bytes.
        error_ =
            Status(Code::precondition_failed, "object changed while downloading (" + a.why + ")");
        refusal_ = {412, "PreconditionFailed"};
        fatal_ = true;
        wrong_version_ = true;
    } else if (a.kind != Kind::bytes || a.take != length_ - received_) {
        error_ = Status(Code::unavailable, "unusable chunk answer: " + a.why);
    } else {
        skip_ = a.skip;  // a 200 with the whole object: the bytes before this chunk's
        http_ok_ = true;
    }
}

size_t Download::ChunkFetcher::on_body(const char* data, size_t len) noexcept {
    if (!http_ok_) {
        if (error_body_.size() < 4096)
            error_body_.append(data, std::min(len, 4096 - error_body_.size()));
        return len;
    }
    if (skip_ == 0 || !error_.ok()) return take_body(data, len);
    // Bytes of a whole-object answer before this chunk: dropped (counted only once the call
    // is taken: a paused call is handed over again).
    size_t drop = static_cast<size_t>(std::min<uint64_t>(skip_, len));
    if (drop < len && take_body(data + drop, len - drop) == 0) return 0;
    skip_ -= drop;
    return len;
}

size_t Download::ChunkFetcher::take_body(const char* data, size_t len) noexcept {
    const size_t taken = len;
    if (!error_.ok()) return len;  // drained; the attempt failed already
    if (!attached()) {
        // The probe takes no bytes before its temp file exists. Taken, they would keep curl
        // reading this socket (it reads until the socket is empty or the buffer is full) and this
        // ring with it, while the answer to the readers waits its turn here: a cold GET's head
        // went out ~1 ms after the origin's at 100 MB/s. They wait in the socket; file_ready()
        // resumes the transfer.
        paused_ = true;
        return 0;
    }
    bool cut = false;
    if (received_ + len > length_) {
        if (!whole_answer()) {
            error_ = Status(Code::unavailable, "upstream sent more bytes than the range");
            trusted_ = false;
            return len;
        }
        // The rest of a whole-object answer is other chunks' bytes.
        len = static_cast<size_t>(length_ - received_);
        cut = true;
    }
    size_t room = ws_ - fill_[cur_];
    if (len > room) {
        // The current buffer cannot take it all: switch buffers if the other one is free,
        // else pause (curl hands the same bytes again on resume).
        if (!can_switch()) {
            paused_ = true;
            return 0;
        }
        append(data, room);
        flush(false);
        data += room;
        len -= room;
        received_ += room;
    }
    append(data, len);
    received_ += len;
    maybe_flush(false);
    if (cut) {
        stop_transfer();
        settle();
    }
    return taken;
}

// The transfer completed (curl is done with it): what did the attempt get?
void Download::ChunkFetcher::on_transfer_end(const Status& status) noexcept {
    ring().cancel_timer(stall_timer_);
    if (probe_ && head_status_ == 416 && !d_->size_known()) {
        auto a =
            s3::read_range_answer({offset_, length_, std::nullopt}, head_, nullptr, error_body_);
        using Kind = s3::RangeAnswer::Kind;
        if (a.kind == Kind::empty || a.kind == Kind::beyond_end) {
            d_->probe_from_peer_.store(peer_, std::memory_order_relaxed);
            d_->on_probe_head(head_, a.extent.size);  // the object is smaller than asked
            length_ = 0;
            received_ = 0;
            http_ok_ = true;
            error_ = Status();
        } else {
            // No size in the answer (size_unknown): readers learn it with a HEAD.
            error_ = Status(a.kind == Kind::size_unknown ? Code::out_of_range : Code::unavailable,
                            "a 416 answer to the first GET that does not say the size");
            refusal_ = {416, "InvalidRange"};
            fatal_ = true;
        }
    }
    if (refusal_.http_status != 0 && refusal_.s3_code.empty()) {
        auto err = s3::parse_error_xml(error_body_);
        refusal_.s3_code =
            err ? err->code : std::string(s3::s3_error_for_status(refusal_.http_status));
    }
    if (error_.ok() && !status.ok()) error_ = status;
    if (error_.ok() && !http_ok_)
        error_ = Status(Code::unavailable, "no usable answer to the chunk GET");
    if (error_.ok() && received_ != length_)
        error_ = Status(Code::unavailable, "short body: got " + std::to_string(received_) + " of " +
                                               std::to_string(length_) + " bytes");
    // Only now: on_probe_head above may have attached the file (file_ready) on this stack.
    phase_ = Phase::settling;
    settle();
}

void Download::ChunkFetcher::append(const char* data, size_t n) noexcept {
    std::memcpy(bufs_[cur_].get() + fill_[cur_], data, n);
    fill_[cur_] += n;
    attempt_bytes_ += n;
    d_->bytes_fetched_.fetch_add(n, std::memory_order_relaxed);
    if (peer_) d_->bytes_from_peers_.fetch_add(n, std::memory_order_relaxed);
}

// The probe's first answer: it tells the object's size and metadata.
void Download::ChunkFetcher::probe_head(const s3::HttpResponseHead& head) noexcept {
    if (head.status == 416) return;  // decided in on_transfer_end, with the error body
    if (head.status != 200 && head.status != 206) {
        refuse_or_retry(head.status);
        return;
    }
    using Kind = s3::RangeAnswer::Kind;
    auto a = s3::read_range_answer({offset_, length_, std::nullopt}, head);
    if (a.kind == Kind::empty) {
        // An empty object, however the store says it (s3rver's 206 "bytes 0-0/0" announces
        // a byte it never sends): nothing to read.
        d_->probe_from_peer_.store(peer_, std::memory_order_relaxed);
        d_->on_probe_head(head, 0);
        if (d_->finished_) {
            abort();  // decided on this stack (cached elsewhere, passthrough): not a failure
            return;
        }
        length_ = 0;
        http_ok_ = true;
        stop_transfer();
        settle();
        return;
    }
    if (a.extent.whole && (offset_ != 0 || a.extent.size > length_)) {
        // The store ignored Range and is sending the whole object: this fetch becomes the
        // download's one chunk (asking such a store for parts would send it whole each time).
        XS3_LOG_INFO("the origin ignores Range; fetching the object in one piece",
                     kv("object", d_->name_), kv("size", a.extent.size));
        d_->whole_object_ = true;
        index_ = 0;
        offset_ = 0;
        a.kind = Kind::bytes;
        a.skip = 0;
        a.take = a.extent.size;
    }
    if (a.kind != Kind::bytes) {
        error_ = Status(Code::unavailable, "unusable probe answer: " + a.why);
        fatal_ = true;
        return;
    }
    d_->probe_from_peer_.store(peer_, std::memory_order_relaxed);
    d_->on_probe_head(head, a.extent.size);
    if (d_->finished_) {
        // The download ended on this stack (a range beyond the end; a decision to pass the
        // object through or serve a cached copy): this transfer is over, not failed. Left
        // running, its body was drained as an error body and the attempt retried, a GET the
        // origin served for nothing.
        abort();
        return;
    }
    length_ = a.take;
    if (index_ >= d_->plan_.chunks.size() || length_ != d_->plan_.chunks[index_].length) {
        error_ = Status(Code::unavailable,
                        "the answer holds " + std::to_string(length_) + " bytes, not the chunk's");
        fatal_ = true;
        return;
    }
    http_ok_ = true;
}

void Download::ChunkFetcher::refuse_or_retry(long status) noexcept {
    if (status == 412) {
        error_ =
            Status(Code::precondition_failed, "object changed while downloading (If-Match failed)");
        refusal_ = {412, "PreconditionFailed"};
        fatal_ = true;
    } else if (status == 403 || status == 404 || status == 400 || status == 405 || status == 409 ||
               status == 410 || status == 411 || status == 416) {
        error_ = Status(status == 403   ? Code::access_denied
                        : status == 404 ? Code::not_found
                                        : Code::invalid_argument,
                        "chunk GET answered " + std::to_string(status));
        refusal_ = {static_cast<int>(status), ""};
        fatal_ = true;
    } else {
        // 5xx, 408, 429 and the like: worth another attempt. If it is the last, readers
        // answer with what S3 said (503 SlowDown tells SDK clients to back off too).
        error_ = Status(Code::unavailable, "chunk GET answered " + std::to_string(status));
        refusal_ = {static_cast<int>(status), ""};
    }
}

// The attempt's transfer is over: its good bytes go to the file first, then decide() runs,
// once. Called again by every event it waits for (a write, the probe's file).
void Download::ChunkFetcher::settle() noexcept {
    if (phase_ != Phase::settling) return;
    if (aborted_) {
        maybe_retire();
        return;
    }
    if (write_in_flight_) return;  // on_write comes back
    if (error_.ok()) {
        if (!attached()) return;  // the probe's file is not there yet: file_ready() comes back
        if (fill_[cur_] > 0) {
            maybe_flush(true);
            if (write_in_flight_) return;
        }
        if (written_ == length_) {
            if (last_source()) retry_.on_success();
            report(true);
            retire(Status(), {});
            return;
        }
        error_ = Status(Code::internal, "chunk transfer ended with bytes left unwritten");
        fatal_ = true;
    }
    // Failed attempt: what is written stays. Bytes that arrived in order before a transport
    // failure (a reset, a short body, a stall) are good: write them out first, so the
    // retry asks only for what never came. Anything else buffered is dropped.
    if (trusted_ && http_ok_ && attached() && fill_[cur_] > 0 && !salvaged_) {
        salvaged_ = true;
        flush(false);
        if (write_in_flight_) return;
    }
    fill_[0] = fill_[1] = 0;
    decide();
}

// The one place an attempt's failure is judged: give up, or schedule exactly one retry.
void Download::ChunkFetcher::decide() noexcept {
    report(false);
    if (!last_source() && !local_failure_) {
        next_source();
        return;
    }
    if (fatal_) {
        retire(error_, refusal_);
        return;
    }
    // What S3 answered (a status, maybe an error code) or how the transport failed decides
    // whether another attempt can help, how long to wait, and whether the budget allows it.
    std::string code;
    if (head_status_ >= 400) {
        auto err = s3::parse_error_xml(error_body_);
        if (err) code = err->code;
    }
    s3::AttemptOutcome outcome = head_status_ >= 400 && !http_ok_
                                     ? s3::AttemptOutcome::http(head_status_, code)
                                     : s3::AttemptOutcome::failed(error_);
    s3::RetryDecision decision = retry_.on_failure(outcome);
    if (!decision.retry) {
        if (decision.reason == s3::RetryDecision::Reason::budget_exhausted)
            XS3_LOG_WARN("chunk fetch failed; the retry budget is spent", kv("object", d_->name_),
                         kv("chunk", index_), kv("error", error_.to_string()));
        retire(error_, refusal_);
        return;
    }
    phase_ = Phase::waiting;
    d_->retries_.fetch_add(1, std::memory_order_relaxed);
    auto delay = decision.delay;
    chunk_histograms().retried.observe(std::chrono::steady_clock::now() - attempt_started_);
    XS3_TRACE("chunk.retry", trace::f("dl", d_->trace_id()), trace::f("chunk", index_),
              trace::f("attempt", attempt_), trace::f("status", head_status_),
              trace::f("error", error_.to_string()), trace::f("delay_ms", delay.count()),
              trace::f("written", written_));
    XS3_LOG_WARN("chunk fetch failed; retrying", kv("object", d_->name_), kv("chunk", index_),
                 kv("attempt", attempt_), kv("delay_ms", delay.count()),
                 kv("kind", std::string(s3::retry_kind_name(decision.kind))),
                 kv("error", error_.to_string()));
    std::weak_ptr<ChunkFetcher> weak = weak_from_this();
    retry_timer_ = ring().add_timer(delay, [weak, after = attempt_] {
        auto self = weak.lock();
        if (!self) return;
        self->retry_timer_ = {};
        if (self->phase_ == Phase::waiting && self->attempt_ == after && !self->aborted_)
            self->begin_attempt();
    });
}

// A source before the last failed: the next one takes the chunk from where it stands, now.
void Download::ChunkFetcher::next_source() noexcept {
    XS3_LOG_DEBUG("chunk source failed; the next one takes the chunk", kv("object", d_->name_),
                  kv("chunk", index_), kv("source", std::string(source().name())),
                  kv("error", error_.to_string()));
    ++source_;
    phase_ = Phase::waiting;
    std::weak_ptr<ChunkFetcher> weak = weak_from_this();
    // Not on this stack: it may be curl's completion callback.
    ring().defer([weak, after = attempt_] {
        auto self = weak.lock();
        if (self && self->phase_ == Phase::waiting && self->attempt_ == after && !self->aborted_)
            self->begin_attempt();
    });
}

// curl's own low-speed check averages over several seconds, so it misses a short stall
// after a fast start: watch the bytes ourselves. No new byte within the limit (while we are
// not holding the transfer back ourselves) fails the attempt as a timeout.
void Download::ChunkFetcher::arm_stall_check() noexcept {
    auto limit = stall_limit_;
    if (limit.count() <= 0) return;
    if (stall_mark_ != received_ || !stall_timer_armed_once_) {
        stall_mark_ = received_;
        last_progress_ = ring::Clock::now();
        stall_timer_armed_once_ = true;
    }
    auto every = std::max<std::chrono::milliseconds>(limit / 4, std::chrono::milliseconds(50));
    std::weak_ptr<ChunkFetcher> weak = weak_from_this();
    stall_timer_ = ring().add_timer(every, [weak, attempt = attempt_] {
        if (auto self = weak.lock()) {
            self->stall_timer_ = {};
            self->check_stall(attempt);
        }
    });
}

void Download::ChunkFetcher::check_stall(unsigned attempt) noexcept {
    if (!owns(attempt)) return;
    if (paused_) last_progress_ = ring::Clock::now();  // held back by us, not the origin
    bool stalled = received_ == stall_mark_ && ring::Clock::now() - last_progress_ >= stall_limit_;
    if (stalled) {
        stop_transfer();
        if (error_.ok())
            error_ =
                Status(Code::timeout, "no bytes from " + std::string(source().name()) + " for " +
                                          std::to_string(stall_limit_.count()) + " ms");
        settle();
        return;
    }
    arm_stall_check();
}

void Download::ChunkFetcher::maybe_retire() noexcept {
    if (!write_in_flight_ && phase_ != Phase::retired)
        retire(Status(Code::cancelled, "aborted"), {});
}

void Download::ChunkFetcher::retire(Status status, Refusal refusal) noexcept {
    Phase was = phase_;
    phase_ = Phase::retired;
    // Nothing is in flight from here on: the buffers go back to this ring's pool.
    ring::BlockPool& pool = chunk_buffers(ws_);
    pool.release(std::move(bufs_[0]));
    pool.release(std::move(bufs_[1]));
    if (pool.outstanding() == 0) trim_chunk_buffers_later(ring());
    ring().cancel_timer(stall_timer_);
    ring().cancel_timer(retry_timer_);
    if (local_failure_ && !status.ok())
        status = Status(status.code() == Code::no_space ? Code::no_space : Code::io_error,
                        status.message(), status.sys_errno());
    trace_end(status, was);
    // Leave this call stack first; then report on the home ring, which frees us.
    auto self = shared_from_this();
    ring().defer([self, status = std::move(status), refusal = std::move(refusal)] {
        Download* d = self->d_.get();
        d->run_on_home([self, status, refusal] { self->d_->chunk_done(self, status, refusal); });
    });
}

uint64_t Download::ChunkFetcher::us_since(std::chrono::steady_clock::time_point t) noexcept {
    auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t)
            .count();
    return us < 0 ? 0 : static_cast<uint64_t>(us);
}

// The chunk's end, once: done, failed for good, or aborted (the download ended first). An
// attempt that never started (aborted while idle, or a retry never begun) is not timed.
void Download::ChunkFetcher::trace_end(const Status& status, Phase was) noexcept {
    bool timed = attempt_ > 0 && was != Phase::idle && was != Phase::waiting;
    auto took = std::chrono::steady_clock::now() - attempt_started_;
    if (status.ok()) {
        chunk_histograms().ok.observe(took);
        XS3_TRACE("chunk.done", trace::f("dl", d_->trace_id()), trace::f("chunk", index_),
                  trace::f("attempt", attempt_), trace::f("written", written_),
                  trace::f("dur_us", us_since(first_started_)));
        return;
    }
    if (aborted_) {
        if (timed) chunk_histograms().aborted.observe(took);
    } else if (timed) {
        chunk_histograms().failed.observe(took);
    }
    XS3_TRACE("chunk.failed", trace::f("dl", d_->trace_id()), trace::f("chunk", index_),
              trace::f("attempt", attempt_), trace::f("status", head_status_),
              trace::f("error", status.to_string()));
}

}  // namespace xs3::fetch
