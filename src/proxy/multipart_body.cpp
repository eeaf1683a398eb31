// MultipartBody and random_boundary.
#include "xs3/proxy/multipart_body.hpp"

#include <algorithm>
#include <random>

namespace xs3::proxy {

MultipartBody::MultipartBody(http::MultipartLayout layout, PartSource source)
    : layout_(std::move(layout)), source_(std::move(source)) {
    if (layout_.parts.empty()) step_ = Step::done;
}

BodyChunk MultipartBody::bytes_of(const std::string& s, uint64_t max) {
    BodyChunk c(BodyChunk::Kind::data);
    size_t n = static_cast<size_t>(std::min<uint64_t>(max, s.size() - offset_));
    c.data.assign(s, offset_, n);
    offset_ += n;
    sent_ += n;
    return c;
}

BodyChunk MultipartBody::next(uint64_t max) noexcept {
    for (;;) {
        switch (step_) {
            case Step::head: {
                const std::string& head = layout_.part_heads[part_];
                if (offset_ < head.size()) return bytes_of(head, max);
                offset_ = 0;
                step_ = Step::bytes;
                const auto& r = layout_.parts[part_];
                current_ = source_(r.first, r.last + 1);
                if (!current_)
                    return BodyChunk::failed(
                        Status(Code::internal, "no source for part " + std::to_string(part_)));
                break;
            }
            case Step::bytes: {
                BodyChunk c = current_->next(max);
                if (c.kind == BodyChunk::Kind::end) {
                    if (current_->remaining() != 0)
                        return BodyChunk::failed(Status(Code::internal, "a part ended short"));
                    current_.reset();
                    ++part_;
                    step_ = part_ < layout_.parts.size() ? Step::head : Step::tail;
                    break;
                }
                if (c.kind == BodyChunk::Kind::file) sent_ += c.length;
                if (c.kind == BodyChunk::Kind::data) sent_ += c.data.size();
                return c;
            }
            case Step::tail:
                if (offset_ < layout_.tail.size()) return bytes_of(layout_.tail, max);
                step_ = Step::done;
                break;
            case Step::done:
                return BodyChunk::end();
        }
    }
}

void MultipartBody::wait(std::function<void()> wake) noexcept {
    // Only a part's body ever says wait.
    if (current_) current_->wait(std::move(wake));
}

std::string random_boundary() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char hex[] = "0123456789abcdef";
    std::string b = "xs3-";
    for (int i = 0; i < 2; ++i) {
        uint64_t v = rng();
        for (int j = 0; j < 12; ++j, v >>= 4)
            b += hex[v & 15];
    }
    return b;
}

}  // namespace xs3::proxy
