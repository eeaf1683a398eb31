// StreamBody: a passthrough origin GET as a pull-based response body.
#include "xs3/proxy/stream_body.hpp"

#include <algorithm>

namespace xs3::proxy {

StreamBody::StreamBody(ring::Ring& ring, s3::CurlClient& curl, size_t buffer_limit)
    : ring_(ring), curl_(curl), buffer_limit_(buffer_limit) {}

StreamBody::~StreamBody() {
    if (active_) curl_.cancel(tid_);
}

void StreamBody::start(s3::HttpRequest request, OnHead on_head, OnFailed on_failed) {
    on_head_ = std::move(on_head);
    on_failed_ = std::move(on_failed);
    active_ = true;
    tid_ = curl_.start(std::move(request), this);
}

void StreamBody::accept(uint64_t length, bool whole, uint64_t skip) {
    accepted_ = true;
    length_ = length;
    whole_ = whole;
    skip_ = skip;
    on_head_ = nullptr;
    on_failed_ = nullptr;
}

void StreamBody::on_head(const s3::HttpResponseHead& head) noexcept {
    head_ = head;
    ok_ = head.status >= 200 && head.status < 300;
    // The callee may accept (we live on) or drop us (our destructor cancels the transfer, which
    // CurlClient allows from inside its callbacks).
    if (ok_ && on_head_) {
        auto cb = std::move(on_head_);
        cb(head_);
    }
}

size_t StreamBody::on_body(const char* data, size_t len) noexcept {
    if (!ok_) {
        if (error_body_.size() < 64 * 1024)
            error_body_.append(data, std::min(len, 64 * 1024 - error_body_.size()));
        return len;
    }
    if (!accepted_) return len;  // nobody took the body (cannot happen: on_head decides)
    if (buffer_.size() >= buffer_limit_) {
        paused_ = true;
        return 0;  // curl hands the same bytes again after resume()
    }
    const size_t taken = len;
    if (skip_ > 0) {
        // A whole-object answer: the bytes before the ones asked for.
        size_t drop = static_cast<size_t>(std::min<uint64_t>(skip_, len));
        skip_ -= drop;
        data += drop;
        len -= drop;
    }
    bool cut = false;
    if (received_ + len > length_) {
        if (!whole_) {
            failure_ = Status(Code::unavailable, "origin sent more bytes than Content-Length");
            done_ = true;
            wake_reader();
            return taken;
        }
        len = static_cast<size_t>(length_ - received_);  // the rest is not asked for
        cut = true;
    }
    buffer_.append(data, len);
    received_ += len;
    if (cut && active_) {
        // Everything asked for is here: the rest of the object need not be sent.
        curl_.cancel(tid_);
        active_ = false;
        done_ = true;
    }
    wake_reader();
    return taken;
}

void StreamBody::on_complete(const Status& status) noexcept {
    active_ = false;
    if (!accepted_) {
        // Nobody took the body: it failed (a transport error, or a non-2xx answer).
        done_ = true;
        failure_ = !status.ok() ? status
                                : Status(Code::unavailable,
                                         "origin answered " + std::to_string(head_.status));
        if (on_failed_) {
            auto cb = std::move(on_failed_);
            cb(status.ok() && !ok_ ? Status() : status, head_, error_body_);
        }
        wake_reader();
        return;
    }
    done_ = true;
    if (failure_.ok()) {
        if (!status.ok())
            failure_ = status;
        else if (received_ != length_)
            failure_ =
                Status(Code::unavailable, "origin body ended after " + std::to_string(received_) +
                                              " of " + std::to_string(length_) + " bytes");
    }
    wake_reader();
}

BodyChunk StreamBody::next(uint64_t max) noexcept {
    if (!accepted_) {
        // Pulled before its head was accepted (a fallback body): wait for it, or fail.
        if (done_) return BodyChunk::failed(failure_);
        return BodyChunk::wait();
    }
    if (!buffer_.empty()) {
        BodyChunk c(BodyChunk::Kind::data);
        if (buffer_.size() <= max) {
            c.data = std::move(buffer_);
            buffer_.clear();
        } else {
            c.data.assign(buffer_, 0, static_cast<size_t>(max));
            buffer_.erase(0, static_cast<size_t>(max));
        }
        taken_ += c.data.size();
        if (paused_ && active_ && buffer_.size() < buffer_limit_) {
            paused_ = false;
            curl_.resume(tid_);
        }
        return c;
    }
    if (!failure_.ok()) return BodyChunk::failed(failure_);
    if (taken_ == length_) return BodyChunk::end();
    if (done_) return BodyChunk::failed(Status(Code::internal, "stream ended early"));
    return BodyChunk::wait();
}

void StreamBody::wait(std::function<void()> wake) noexcept {
    wake_ = std::move(wake);
}

void StreamBody::wake_reader() noexcept {
    if (!wake_) return;
    // Never re-enter the transport from inside curl's callback: run it on the next turn.
    ring_.defer(std::move(wake_));
    wake_ = nullptr;
}

}  // namespace xs3::proxy
