// H2BodyQueue: the bytes of one HTTP/2 stream's response body between its Body (pulled chunks)
// and the codec's DATA payload placeholders ("N bytes of stream S from body offset O"). Chunks go
// in in body order — bytes in memory (a data chunk, or file bytes read into a block) and file
// regions not read yet — and take() hands exactly a placeholder's bytes to the socket output:
// memory as views (no copy; the piece's keep holds the memory until it is sent), file regions as
// file segments. A file region can also be turned into memory in front (fill(), after a read),
// so DATA frames can be framed from memory. No ring, no codec: a plain queue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

namespace xs3::proxy {

class H2BodyQueue {
  public:
    using Keep = std::shared_ptr<const void>;

    struct FileRegion {
        int fd = -1;
        uint64_t offset = 0;  // in the file
        uint64_t length = 0;
        Keep keep;
    };

    void push_data(std::string bytes);
    // n bytes at `data`, which `keep` holds (the caller's own accounting object, say).
    void push_memory(const char* data, size_t n, Keep keep);
    void push_file(int fd, uint64_t file_offset, uint64_t length, Keep keep);

    // Body offsets: of the first byte queued, one past the last, and one past the memory bytes
    // before the first file region (what can be framed from memory now).
    uint64_t begin() const noexcept { return begin_; }
    uint64_t end() const noexcept { return begin_ + queued_; }
    uint64_t memory_end() const noexcept;
    uint64_t queued() const noexcept { return queued_; }
    bool empty() const noexcept { return pieces_.empty(); }

    // The first file region, or nullptr.
    const FileRegion* first_file() const noexcept;
    // The first n bytes of the first file region were read into `data` (kept by `keep`): they
    // become memory. False (nothing changes) when the first file region does not start at
    // (fd, file_offset) or is shorter than n.
    bool fill(int fd, uint64_t file_offset, const char* data, size_t n, Keep keep);

    // Hands the n bytes at body offset `offset` (which must be begin()) to `out` — its
    // push_view(data, n, keep) for memory and push_file(fd, offset, n, keep) for file regions —
    // and drops them. False (nothing handed out) when offset is not begin() or fewer than n
    // bytes are queued.
    template <class Out>
    bool take(uint64_t offset, uint64_t n, Out& out);

    void clear() noexcept;

  private:
    struct Piece {
        bool in_memory = false;
        const char* data = nullptr;  // in_memory
        FileRegion file;             // otherwise (file.length is the length of either kind)
        Keep& keep() noexcept { return file.keep; }
        uint64_t length() const noexcept { return file.length; }
    };

    std::deque<Piece> pieces_;
    uint64_t begin_ = 0;
    uint64_t queued_ = 0;
};

template <class Out>
bool H2BodyQueue::take(uint64_t offset, uint64_t n, Out& out) {
    if (offset != begin_ || n > queued_) return false;
    while (n > 0) {
        Piece& p = pieces_.front();
        uint64_t k = p.length() < n ? p.length() : n;
        if (p.in_memory) {
            out.push_view(p.data, static_cast<size_t>(k), p.keep());
            p.data += k;
        } else {
            out.push_file(p.file.fd, p.file.offset, k, p.keep());
            p.file.offset += k;
        }
        p.file.length -= k;
        begin_ += k;
        queued_ -= k;
        n -= k;
        if (p.length() == 0) pieces_.pop_front();
    }
    return true;
}

}  // namespace xs3::proxy
