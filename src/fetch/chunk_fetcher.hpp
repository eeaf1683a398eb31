// Download::ChunkFetcher: one chunk of a download fetched with ranged GETs (attempts, sources,
// retries, the stall watchdog) and written to the temp file through its slot's ring. Internal
// to fetch: included by download.cpp, chunk_fetcher.cpp and chunk_writer.cpp only.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "xs3/fetch/download.hpp"
#include "xs3/ring/block_pool.hpp"

namespace xs3::fetch {

namespace chunk_detail {
inline constexpr size_t kBlock = 4096;  // O_DIRECT alignment of offsets, lengths and buffers
}  // namespace chunk_detail

// Fetches one chunk with ranged GETs, one attempt at a time: each attempt is a curl transfer of
// the chunk's bytes from the first one not yet on file to its end. The body is copied into two
// write_size buffers: one is being written to the file while the other fills; when both are busy
// the transfer is paused, so memory per chunk is 2 x write_size whatever the object size. Lives on
// its slot's ring: every method runs there. It reports back to the download's home ring once, when
// it retires.
//
// Who may touch the chunk's bytes. A chunk has one owner at a time: its current attempt. Only
// that attempt's transfer feeds the buffers, and only bytes from the buffers are written and
// published (ChunkProgress). Three rules keep it so:
//  - Every attempt has a number. curl calls the attempt's own Transfer, which passes a callback
//    on only while its number is current and the chunk is fetching; timers carry the attempt they
//    were armed for. A superseded or finished attempt can neither feed bytes nor decide anything.
//  - An attempt leaves `fetching` exactly once (its transfer completed, or we cancelled it), and
//    the next attempt starts only from `waiting`. So there is at most one transfer per chunk.
//  - What happens after an attempt (done, retry, give up) is decided in one place, decide(), when
//    its transfer is over and its good bytes are on file; deciding moves the phase on, so events
//    that arrive afterwards (a write completing, the probe's file appearing) cannot decide again.
// Without them (as it once was) a probe cut before its temp file existed was retried twice —
// once when the cut arrived, again when the file appeared — and the two transfers filled the same
// buffers: clients got 200, the full length and wrong bytes, and the forgotten transfer's late
// callbacks ran on a freed fetcher.
class Download::ChunkFetcher final : public std::enable_shared_from_this<ChunkFetcher> {
  public:
    ChunkFetcher(std::shared_ptr<Download> d, size_t index, uint64_t offset, uint64_t length,
                 FetchSlot slot, bool probe);
    ~ChunkFetcher();
    size_t index() const noexcept { return index_; }
    ring::Ring& ring() const noexcept { return *slot_.ring; }
    void start() noexcept;
    void abort() noexcept;
    void file_ready() noexcept;

  private:
    enum class Phase {
        idle,      // made, not started
        fetching,  // attempt attempt_'s transfer runs; its bytes fill the buffers
        settling,  // that transfer is over: its good bytes go to the file, then decide()
        waiting,   // a retry is scheduled (retry_timer_)
        retired,   // reported to the home ring; nothing more happens
    };

    // The curl handler of one attempt. The fetcher keeps its current attempt's; a new attempt
    // replaces it only after the old transfer completed or was cancelled, when curl is done with
    // it.
    class Transfer final : public s3::TransferHandler {
      public:
        Transfer(ChunkFetcher& f, unsigned attempt) : f_(f), attempt_(attempt) {}
        void on_head(const s3::HttpResponseHead& head) noexcept override {
            if (f_.owns(attempt_)) f_.on_head(head);
        }
        size_t on_body(const char* data, size_t len) noexcept override {
            return f_.owns(attempt_) ? f_.on_body(data, len) : len;
        }
        void on_complete(const Status& status) noexcept override {
            if (f_.owns(attempt_)) f_.on_transfer_end(status);
        }

      private:
        ChunkFetcher& f_;
        const unsigned attempt_;
    };

    bool owns(unsigned attempt) const noexcept;
    bool attached() const noexcept { return d_->file_attached_ || !probe_; }
    bool can_switch() const noexcept { return attached() && !write_in_flight_; }
    void begin_attempt() noexcept;
    const ChunkSource& source() const noexcept { return *d_->sources_[source_]; }
    bool last_source() const noexcept { return source_ + 1 >= d_->sources_.size(); }
    void report(bool ok) noexcept;
    void stop_transfer() noexcept;

    // --- the current attempt's transfer ---

    void on_head(const s3::HttpResponseHead& head) noexcept;
    size_t on_body(const char* data, size_t len) noexcept;
    size_t take_body(const char* data, size_t len) noexcept;
    bool whole_answer() const noexcept { return head_status_ == 200; }
    void on_transfer_end(const Status& status) noexcept;
    void append(const char* data, size_t n) noexcept;
    void probe_head(const s3::HttpResponseHead& head) noexcept;
    void refuse_or_retry(long status) noexcept;

    // --- writing ---

    void maybe_flush(bool final) noexcept;
    void flush(bool at_end) noexcept;
    void issue_write() noexcept;
    void on_write(int res, uint32_t) noexcept;
    void resume_if_paused() noexcept;

    // --- the end of an attempt ---

    void settle() noexcept;
    void decide() noexcept;
    void next_source() noexcept;
    void arm_stall_check() noexcept;
    void check_stall(unsigned attempt) noexcept;
    void maybe_retire() noexcept;
    void retire(Status status, Refusal refusal) noexcept;
    static uint64_t us_since(std::chrono::steady_clock::time_point t) noexcept;
    void trace_end(const Status& status, Phase was) noexcept;

    std::shared_ptr<Download> d_;
    size_t index_;     // both change once at most: a probe answered with the whole object
    uint64_t offset_;  // becomes chunk 0
    uint64_t length_;  // the probe learns it from the answer
    const FetchSlot slot_;
    const bool probe_;
    const size_t ws_;
    ring::BlockPool::Block bufs_[2];  // from this ring's pool while started, until retired
    size_t fill_[2] = {0, 0};
    int cur_ = 0;
    int wbuf_ = 0;
    size_t write_len_ = 0;   // bytes in the write (padded to a block at the end with O_DIRECT)
    size_t write_real_ = 0;  // object bytes in it
    size_t write_done_ = 0;
    bool write_in_flight_ = false;
    uint64_t written_ = 0;   // chunk-relative bytes on file (mirrors d_->written_[index_])
    uint64_t received_ = 0;  // chunk-relative position of the next byte to arrive
    bool flushed_once_ = false;
    bool trusted_ = true;      // the bytes received so far are the right ones, in order
    bool salvaged_ = false;    // this failed attempt's good bytes were written out
    uint64_t stall_mark_ = 0;  // received_ when progress was last seen
    ring::Clock::time_point last_progress_{};
    bool stall_timer_armed_once_ = false;
    ring::Ring::TimerId stall_timer_;
    bool paused_ = false;
    bool http_ok_ = false;
    bool fatal_ = false;
    bool local_failure_ = false;
    bool aborted_ = false;
    Phase phase_ = Phase::idle;
    unsigned attempt_ = 0;  // the attempt that owns the chunk (numbered from 1)
    std::chrono::steady_clock::time_point first_started_{};    // attempt 1's start
    std::chrono::steady_clock::time_point attempt_started_{};  // the current attempt's start
    uint64_t progress_traced_ = 0;  // written_ at the last chunk.progress
    size_t source_ = 0;             // the source of the current attempt (d_->sources_)
    bool peer_ = false;             // ... is a peer
    bool sent_ = true;              // its request went out
    bool reported_ = false;         // its outcome went to the source
    bool wrong_version_ = false;    // its answer named another ETag
    uint64_t attempt_bytes_ = 0;    // object bytes it received
    std::chrono::milliseconds stall_limit_{0};
    std::unique_ptr<Transfer> transfer_;  // its curl handler
    s3::RetryState retry_;
    int head_status_ = 0;
    uint64_t skip_ = 0;  // bytes of a whole-object answer still to drop before this chunk's
    s3::HttpResponseHead head_;
    std::string error_body_;
    Status error_;
    Refusal refusal_;
    s3::CurlClient::TransferId tid_ = 0;
    ring::Ring::TimerId retry_timer_;
    ring::MemberOp<ChunkFetcher, &ChunkFetcher::on_write> write_op_{this};
};

}  // namespace xs3::fetch
