// H2BodyQueue: pieces in body order; memory in front of a file region after a read.
#include "xs3/proxy/h2_body_queue.hpp"

namespace xs3::proxy {

void H2BodyQueue::push_data(std::string bytes) {
    if (bytes.empty()) return;
    auto owned = std::make_shared<std::string>(std::move(bytes));
    const char* data = owned->data();
    size_t n = owned->size();
    push_memory(data, n, std::move(owned));
}

void H2BodyQueue::push_memory(const char* data, size_t n, Keep keep) {
    if (n == 0) return;
    Piece p;
    p.in_memory = true;
    p.data = data;
    p.file.length = n;
    p.file.keep = std::move(keep);
    queued_ += n;
    pieces_.push_back(std::move(p));
}

void H2BodyQueue::push_file(int fd, uint64_t file_offset, uint64_t length, Keep keep) {
    if (length == 0) return;
    queued_ += length;
    // The next bytes of the same file (a download's progress, a body pulled in parts): one
    // region, so it is read in large blocks.
    if (!pieces_.empty()) {
        FileRegion& last = pieces_.back().file;
        if (!pieces_.back().in_memory && last.fd == fd &&
            last.offset + last.length == file_offset && last.keep == keep) {
            last.length += length;
            return;
        }
    }
    Piece p;
    p.file = FileRegion{fd, file_offset, length, std::move(keep)};
    pieces_.push_back(std::move(p));
}

uint64_t H2BodyQueue::memory_end() const noexcept {
    uint64_t end = begin_;
    for (const Piece& p : pieces_) {
        if (!p.in_memory) break;
        end += p.length();
    }
    return end;
}

const H2BodyQueue::FileRegion* H2BodyQueue::first_file() const noexcept {
    for (const Piece& p : pieces_)
        if (!p.in_memory) return &p.file;
    return nullptr;
}

bool H2BodyQueue::fill(int fd, uint64_t file_offset, const char* data, size_t n, Keep keep) {
    auto it = pieces_.begin();
    while (it != pieces_.end() && it->in_memory)
        ++it;
    if (it == pieces_.end() || n == 0 || it->file.fd != fd || it->file.offset != file_offset ||
        it->file.length < n)
        return false;
    Piece m;
    m.in_memory = true;
    m.data = data;
    m.file.length = n;
    m.file.keep = std::move(keep);
    it->file.offset += n;
    it->file.length -= n;
    if (it->file.length == 0)
        *it = std::move(m);
    else
        pieces_.insert(it, std::move(m));
    return true;
}

void H2BodyQueue::clear() noexcept {
    pieces_.clear();
    begin_ += queued_;
    queued_ = 0;
}

}  // namespace xs3::proxy
