// Download::ChunkFetcher's writes: the attempt's bytes from the two write_size buffers to the
// chunk's place in the temp file through the slot's ring (with O_DIRECT whole blocks, the
// unaligned tail carried into the other buffer), each completed write published as progress.
// The attempts themselves are in chunk_fetcher.cpp.
#include <algorithm>
#include <cstring>

#include "xs3/base/log.hpp"
#include "xs3/base/trace.hpp"

#include "chunk_fetcher.hpp"

namespace xs3::fetch {
namespace {

using chunk_detail::kBlock;

// chunk.progress is coarse: an event each time an eighth of the chunk more is on file, but at
// least every MiB and at most every 64 KiB (a few events per chunk, enough to draw its bytes).
uint64_t progress_step(uint64_t chunk_length) noexcept {
    return std::clamp<uint64_t>(chunk_length / 8, 64 << 10, 1 << 20);
}

}  // namespace

void Download::ChunkFetcher::maybe_flush(bool final) noexcept {
    if (!attached() || write_in_flight_ || aborted_) return;
    size_t n = fill_[cur_];
    if (n == 0) return;
    bool at_end = final && received_ == length_;
    size_t first = std::max<size_t>(d_->options_.first_write, d_->direct_io_ ? kBlock : 1);
    if (!at_end && n < ws_ && (flushed_once_ || n < first)) return;
    flush(at_end);
}

// Writes the current buffer (whole blocks of it with O_DIRECT, padding the object's end) and
// makes the other buffer current, carrying over an unaligned tail.
void Download::ChunkFetcher::flush(bool at_end) noexcept {
    size_t n = fill_[cur_];
    size_t real = n;
    size_t len = n;
    size_t tail = 0;
    if (d_->direct_io_) {
        if (!at_end) {
            real = n / kBlock * kBlock;
            tail = n - real;
            len = real;
        } else {
            len = (n + kBlock - 1) / kBlock * kBlock;
            std::memset(bufs_[cur_].get() + n, 0, len - n);
        }
    }
    if (len == 0) return;
    int other = cur_ ^ 1;
    if (tail > 0) std::memcpy(bufs_[other].get(), bufs_[cur_].get() + real, tail);
    wbuf_ = cur_;
    cur_ = other;
    fill_[cur_] = tail;
    fill_[wbuf_] = 0;
    write_len_ = len;
    write_real_ = real;
    write_done_ = 0;
    write_in_flight_ = true;
    flushed_once_ = true;
    issue_write();
}

void Download::ChunkFetcher::issue_write() noexcept {
    io_uring_sqe* sqe = ring().get_sqe(&write_op_);  // never null (ring.hpp)
    io_uring_prep_write(sqe, d_->fd_.get(), bufs_[wbuf_].get() + write_done_,
                        static_cast<unsigned>(write_len_ - write_done_),
                        d_->data_offset_ + offset_ + written_ + write_done_);
}

void Download::ChunkFetcher::on_write(int res, uint32_t) noexcept {
    if (res == -EINTR || res == -EAGAIN) {
        issue_write();
        return;
    }
    if (res > 0) write_done_ += static_cast<size_t>(res);
    bool misaligned = d_->direct_io_ && write_done_ < write_len_ && write_done_ % kBlock != 0;
    if (res <= 0 || misaligned) {
        write_in_flight_ = false;
        error_ = res < 0 ? status_from_errno(res, "cache file write")
                         : Status(Code::io_error, "cache file write made no progress");
        fatal_ = true;  // a local disk problem is not fixed by refetching
        local_failure_ = true;
        if (phase_ == Phase::fetching) stop_transfer();
        settle();
        return;
    }
    if (write_done_ < write_len_) {
        issue_write();  // short write: the rest
        return;
    }
    // The bytes were the owning attempt's: a new attempt starts only once no write is in
    // flight, and buffers are emptied when it does.
    write_in_flight_ = false;
    written_ += write_real_;
    d_->progress_.publish(index_, written_);
    if (trace::enabled() && written_ - progress_traced_ >= progress_step(length_)) {
        progress_traced_ = written_;
        XS3_TRACE("chunk.progress", trace::f("dl", d_->trace_id()), trace::f("chunk", index_),
                  trace::f("written", written_));
    }
    if (phase_ == Phase::fetching) {
        maybe_flush(false);
        resume_if_paused();
    } else {
        settle();
    }
}

void Download::ChunkFetcher::resume_if_paused() noexcept {
    if (paused_ && phase_ == Phase::fetching) {
        paused_ = false;
        slot_.curl->resume(tid_);
    }
}

}  // namespace xs3::fetch
