// H2Output: the segment queue.
#include "xs3/http/h2_output.hpp"

#include <algorithm>

namespace xs3::http {

void H2Output::append_bytes(const void* data, size_t n) {
    if (n == 0) return;
    if (!tail_open_ || segments_.empty() || segments_.back().kind != H2Segment::Kind::bytes) {
        segments_.push_back(Piece{H2Segment::Kind::bytes, {}, 0, 0, 0, 0});
        tail_open_ = true;
    }
    segments_.back().data.append(static_cast<const char*>(data), n);
    appended_ += n;
}

void H2Output::append_payload(int32_t stream_id, uint64_t offset, size_t n) {
    if (n == 0) return;
    segments_.push_back(Piece{H2Segment::Kind::payload, {}, stream_id, offset, n, 0});
    // Bytes after a payload start a new segment, so they never share memory with bytes before it.
    tail_open_ = false;
    appended_ += n;
}

size_t H2Output::consume(size_t n) noexcept {
    size_t total = 0;
    while (n > 0 && !segments_.empty()) {
        Piece& p = segments_.front();
        size_t take = std::min(n, p.size() - p.done);
        p.done += take;
        n -= take;
        total += take;
        if (p.done == p.size()) {
            segments_.pop_front();
            if (segments_.empty()) tail_open_ = false;
        }
    }
    consumed_ += total;
    return total;
}

H2Segment H2Output::segment(size_t i) const noexcept {
    H2Segment s;
    if (i >= segments_.size()) return s;
    const Piece& p = segments_[i];
    s.kind = p.kind;
    s.length = p.size() - p.done;
    if (p.kind == H2Segment::Kind::bytes) {
        s.bytes = std::string_view(p.data).substr(p.done);
    } else {
        s.stream_id = p.stream_id;
        s.offset = p.offset + p.done;
    }
    return s;
}

}  // namespace xs3::http
