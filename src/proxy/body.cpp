// MemoryBody, FileBody and DownloadBody.
#include "xs3/proxy/body.hpp"

#include <algorithm>

namespace xs3::proxy {

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
                           uint64_t first, uint64_t end)
    : ring_(ring), download_(std::move(download)), pos_(first), end_(end) {}

DownloadBody::~DownloadBody() {
    if (wake_) *wake_ = nullptr;
}

BodyChunk DownloadBody::next(uint64_t max) noexcept {
    if (pos_ >= end_) return BodyChunk::end();
    uint64_t avail = std::min(end_ - pos_, download_->available_from(pos_));
    if (avail == 0) {
        auto st = download_->state();
        if (st == fetch::Download::State::failed) return BodyChunk::failed(download_->failure());
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
    if (!download_->wait(pos_, ring_, fire)) ring_.defer(fire);
}

}  // namespace xs3::proxy
