// H2Output: what an HTTP/2 connection has to write, in order, as segments: bytes (frames nghttp2
// serialized) and DATA payload placeholders ("N bytes of stream S's body from offset O") that the
// transport fills from the body's file right after the 9-byte DATA frame header before them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace xs3::http {

struct H2Segment {
    enum class Kind { bytes, payload };
    Kind kind = Kind::bytes;
    std::string_view bytes;  // bytes: the part not consumed yet
    int32_t stream_id = 0;   // payload
    uint64_t offset = 0;     // payload: body offset of the first byte not consumed yet
    size_t length = 0;       // either kind: bytes not consumed yet
};

class H2Output {
  public:
    // Closes the current bytes segment: later bytes go to a new one. Memory of a bytes segment
    // never moves or changes once it is closed, so a transport may write straight from it while
    // more output is produced; H2Codec closes the tail at the start of every produce().
    void close_tail() noexcept { tail_open_ = false; }
    void append_bytes(const void* data, size_t n);
    void append_payload(int32_t stream_id, uint64_t offset, size_t n);

    // Marks the first n bytes (across segments) as written; returns how many were (at most
    // queued()).
    size_t consume(size_t n) noexcept;

    bool empty() const noexcept { return segments_.empty(); }
    size_t segment_count() const noexcept { return segments_.size(); }
    // 0 is the front: the next thing to write.
    H2Segment segment(size_t i) const noexcept;
    size_t queued() const noexcept { return size_t(appended_ - consumed_); }
    // Bytes ever appended / consumed, payload included: positions in the connection's output.
    uint64_t appended() const noexcept { return appended_; }
    uint64_t consumed() const noexcept { return consumed_; }

  private:
    struct Piece {
        H2Segment::Kind kind;
        std::string data;  // bytes
        int32_t stream_id = 0;
        uint64_t offset = 0;
        size_t length = 0;  // payload
        size_t done = 0;    // consumed so far
        size_t size() const noexcept {
            return kind == H2Segment::Kind::bytes ? data.size() : length;
        }
    };
    std::deque<Piece> segments_;
    bool tail_open_ = false;
    uint64_t appended_ = 0;
    uint64_t consumed_ = 0;
};

}  // namespace xs3::http
