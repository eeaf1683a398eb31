// RelayBody: a relayed S3 operation's answer, streamed or collected.
#include "xs3/proxy/relay.hpp"

#include <charconv>

namespace xs3::proxy {
namespace {

std::optional<uint64_t> content_length_of(const s3::HttpResponseHead& head) {
    const std::string* cl = head.get("content-length");
    if (cl == nullptr) return std::nullopt;
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), v);
    if (ec != std::errc() || end != cl->data() + cl->size()) return std::nullopt;
    return v;
}

}  // namespace

RelayBody::RelayBody(ring::Ring& ring, s3::CurlClient& curl, size_t collect_limit,
                     size_t buffer_limit)
    : ring_(ring), curl_(curl), collect_limit_(collect_limit), buffer_limit_(buffer_limit) {}

RelayBody::~RelayBody() {
    if (active_) curl_.cancel(tid_);
}

void RelayBody::start(s3::HttpRequest request, OnReady on_ready) {
    on_ready_ = std::move(on_ready);
    head_request_ = request.method == "HEAD";
    active_ = true;
    tid_ = curl_.start(std::move(request), this);
}

void RelayBody::ready() noexcept {
    if (!on_ready_) return;
    // The callee may keep us (a streamed answer) or drop us (our destructor cancels the transfer,
    // which CurlClient allows from inside its callbacks).
    auto cb = std::move(on_ready_);
    on_ready_ = nullptr;
    cb();
}

void RelayBody::on_head(const s3::HttpResponseHead& head) noexcept {
    head_ = head;
    if (head_request_ || head.status < 200 || head.status >= 300) return;
    if (auto cl = content_length_of(head)) {
        streaming_ = true;
        length_ = *cl;
        ready();
    }
}

size_t RelayBody::on_body(const char* data, size_t len) noexcept {
    if (!streaming_) {
        if (collected_.size() + len > collect_limit_) {
            failure_ = Status(Code::unavailable, "S3's answer is larger than " +
                                                     std::to_string(collect_limit_) + " bytes");
            return 1;  // anything but len or 0 fails the transfer
        }
        collected_.append(data, len);
        return len;
    }
    if (buffer_.size() >= buffer_limit_) {
        paused_ = true;
        return 0;  // curl hands the same bytes again after resume()
    }
    if (received_ + len > length_) {
        failure_ = Status(Code::unavailable, "S3 sent more bytes than its Content-Length");
        done_ = true;
        wake_reader();
        return 1;
    }
    buffer_.append(data, len);
    received_ += len;
    wake_reader();
    return len;
}

void RelayBody::on_complete(const Status& status) noexcept {
    active_ = false;
    done_ = true;
    if (failure_.ok() && !status.ok()) failure_ = status;
    if (streaming_) {
        if (failure_.ok() && received_ != length_)
            failure_ =
                Status(Code::unavailable, "S3's answer ended after " + std::to_string(received_) +
                                              " of " + std::to_string(length_) + " bytes");
        wake_reader();
        return;
    }
    length_ = collected_.size();
    ready();
}

BodyChunk RelayBody::next(uint64_t max) noexcept {
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
    if (done_) return BodyChunk::failed(Status(Code::internal, "relayed answer ended early"));
    return BodyChunk::wait();
}

void RelayBody::wait(std::function<void()> wake) noexcept {
    wake_ = std::move(wake);
}

void RelayBody::wake_reader() noexcept {
    if (!wake_) return;
    // Never re-enter the transport from inside curl's callback: run it on the next turn.
    ring_.defer(std::move(wake_));
    wake_ = nullptr;
}

http::ResponseHead relayed_head(const s3::HttpResponseHead& head, uint64_t content_length) {
    http::ResponseHead out;
    out.status = static_cast<int>(head.status);
    for (const auto& [name, value] : head.headers) {
        bool keep =
            name == "content-type" || name == "last-modified" || name == "etag" ||
            (name.rfind("x-amz-", 0) == 0 && name != "x-amz-request-id" && name != "x-amz-id-2");
        if (keep) out.headers.add(name, value);
    }
    out.headers.add("Content-Length", std::to_string(content_length));
    return out;
}

}  // namespace xs3::proxy
