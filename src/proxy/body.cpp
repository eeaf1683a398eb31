// MemoryBody, FileBody and DownloadBody.
#include "xs3/proxy/body.hpp"

#include <algorithm>
#include <chrono>

#include "xs3/base/histogram.hpp"
#include "xs3/base/trace.hpp"

namespace xs3::proxy {
namespace {

// How long readers of a download in progress wait for bytes that are not written yet.
Histogram& reader_wait_histogram() {
    static HistogramFamily* family =
        new HistogramFamily("xs3_reader_wait_seconds",
                            "Time a response waited for bytes of a download in progress, per wait",
                            {}, latency_bounds_us());
    static Histogram& h = family->series({});
    return h;
}
[[maybe_unused]] const bool g_registered = (reader_wait_histogram(), true);

}  // namespace

BodyChunk MemoryBody::next(uint64_t max) noexcept {
    if (pos_ >= size_) return BodyChunk::end();
    BodyChunk c(BodyChunk::Kind::data);
    size_t n = static_cast<size_t>(std::min<uint64_t>(max, size_ - pos_));
    if (pos_ == 0 && n == size_)
        c.data = std::move(bytes_);  // the usual case: all of it at once, no copy
    else
        c.data.assign(bytes_, pos_, n);
    pos_ += n;
    return c;
}

BodyChunk FileBody::next(uint64_t max) noexcept {
    if (pos_ >= end_) return BodyChunk::end();
    BodyChunk c(BodyChunk::Kind::file);
    c.fd = entry_->fd.get();
    c.offset = entry_->data_offset + pos_;
    c.length = std::min(max, end_ - pos_);
    c.keep = entry_;
    pos_ += c.length;
    return c;
}

DownloadBody::DownloadBody(ring::Ring& ring, std::shared_ptr<fetch::Download> download,
                           uint64_t first, uint64_t end, Fallback fallback, uint64_t trace_id)
    : ring_(ring),
      download_(std::move(download)),
      reader_(download_->reader_token()),
      pos_(first),
      end_(end),
      fallback_(std::move(fallback)),
      trace_id_(trace_id) {}

DownloadBody::~DownloadBody() {
    if (wake_) *wake_ = nullptr;
}

BodyChunk DownloadBody::next(uint64_t max) noexcept {
    if (rest_) {
        BodyChunk c = rest_->next(max);
        if (c.kind == BodyChunk::Kind::data || c.kind == BodyChunk::Kind::file)
            pos_ += c.kind == BodyChunk::Kind::data ? c.data.size() : c.length;
        return c;
    }
    if (pos_ >= end_) return BodyChunk::end();
    uint64_t avail = std::min(end_ - pos_, download_->available_from(pos_));
    if (avail == 0) {
        auto st = download_->state();
        // Redirected after the answer started (the cache could not take the object, or found it
        // under another name), or failed on the cache: the rest comes from the fallback.
        if (st == fetch::Download::State::redirected || st == fetch::Download::State::failed) {
            Status why = st == fetch::Download::State::redirected
                             ? Status(Code::io_error, "the download was redirected")
                             : download_->failure();
            bool local = why.code() == Code::io_error || why.code() == Code::no_space;
            if (local && fallback_) {
                rest_ = fallback_(pos_, end_);
                fallback_ = nullptr;
                if (rest_) {
                    reader_.reset();
                    return next(max);
                }
            }
            return BodyChunk::failed(why);
        }
        if (st == fetch::Download::State::complete)
            return BodyChunk::failed(Status(
                Code::internal, "download complete but bytes missing at " + std::to_string(pos_)));
        return BodyChunk::wait();
    }
    BodyChunk c(BodyChunk::Kind::file);
    c.fd = download_->fd();
    c.offset = download_->data_offset() + pos_;
    c.length = std::min(max, avail);
    c.keep = download_;
    pos_ += c.length;
    return c;
}

void DownloadBody::wait(std::function<void()> wake) noexcept {
    if (rest_) {
        rest_->wait(std::move(wake));
        return;
    }
    if (wake_) *wake_ = nullptr;
    wake_ = std::make_shared<std::function<void()>>(std::move(wake));
    std::weak_ptr<std::function<void()>> token = wake_;
    auto fire = [token] {
        if (auto w = token.lock()) {
            auto fn = std::move(*w);
            *w = nullptr;
            if (fn) fn();
        }
    };
    // A registered wait is timed from here to its wake-up (for the histogram and the trace).
    auto since = std::chrono::steady_clock::now();
    uint64_t pos = pos_, req = trace_id_, dl = download_->trace_id();
    auto timed = [fire, since, pos, req, dl] {
        auto waited = std::chrono::steady_clock::now() - since;
        reader_wait_histogram().observe(waited);
        XS3_TRACE("read.wake", trace::f("req", req), trace::f("dl", dl), trace::f("off", pos),
                  trace::f("waited_us",
                           std::chrono::duration_cast<std::chrono::microseconds>(waited).count()));
        fire();
    };
    if (download_->wait(pos_, ring_, timed))
        XS3_TRACE("read.wait", trace::f("req", req), trace::f("dl", dl), trace::f("off", pos));
    else
        ring_.defer(fire);
}

}  // namespace xs3::proxy
