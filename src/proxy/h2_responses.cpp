// H2Connection's response side: a stream's answer handed to the codec, its body pulled into the
// stream's H2BodyQueue within the connection's memory budget, body_available() for the codec,
// and (copy mode) file bytes read ahead into pooled blocks. The transport, stream lifetimes
// and output are in h2_connection.cpp.
#include <algorithm>
#include <charconv>
#include <cstring>

#include "xs3/base/log.hpp"
#include "xs3/proxy/h2_connection.hpp"
#include "xs3/proxy/worker.hpp"

#include "h2_stream.hpp"

namespace xs3::proxy {
namespace {
// Body bytes pulled ahead per stream (file regions cost nothing; data chunks are bounded by
// their producers and the budget below).
constexpr uint64_t kPullAhead = 1024 * 1024;
// Body memory per connection: read buffers (blocks being read, framed or waiting to be sent) and
// data chunks. Enough for the output high-water mark plus a block and a half per stream of a
// handful of busy streams.
constexpr uint64_t kBodyBudget = 8 * 1024 * 1024;
// A body no larger than this that one READ reads whole sends its HEADERS with its DATA.
constexpr uint64_t kHoldHeadersUpTo = 64 * 1024;
}  // namespace

namespace h2_detail {
// A buffer file bytes are read into, from the worker's pool (a block, or a smaller pooled buffer
// for a small read). Counted in the connection's budget while it lives, and in the pool's.
struct ReadBuffer {
    ReadBuffer(ring::BlockPool& pool, ring::BlockPool::Buffer buffer,
               std::shared_ptr<uint64_t> budget)
        : pool_(pool), buffer_(std::move(buffer)), budget_(std::move(budget)) {
        *budget_ += buffer_.capacity;
    }
    ~ReadBuffer() {
        *budget_ -= buffer_.capacity;
        pool_.release(std::move(buffer_));
    }
    ReadBuffer(const ReadBuffer&) = delete;
    ReadBuffer& operator=(const ReadBuffer&) = delete;
    char* data() noexcept { return buffer_.data(); }

    ring::BlockPool& pool_;
    ring::BlockPool::Buffer buffer_;
    std::shared_ptr<uint64_t> budget_;
};
}  // namespace h2_detail

namespace {
using h2_detail::ReadBuffer;

// A body's data chunk (passthrough bytes, an error document), counted like a read buffer.
struct CountedBytes {
    CountedBytes(std::string b, std::shared_ptr<uint64_t> budget)
        : bytes(std::move(b)), budget_(std::move(budget)) {
        *budget_ += bytes.size();
    }
    ~CountedBytes() { *budget_ -= bytes.size(); }
    CountedBytes(const CountedBytes&) = delete;
    CountedBytes& operator=(const CountedBytes&) = delete;

    std::string bytes;
    std::shared_ptr<uint64_t> budget_;
};
}  // namespace

// ---- responses and bodies -----------------------------------------------------------------

void H2Connection::on_response(Stream& s, http::ResponseHead head,
                               std::unique_ptr<Body> body) noexcept {
    if (s.responded || state_ == State::closed) {
        if (body) w_.ring().dispose_later(std::move(body));
        return;
    }
    s.responded = true;
    s.access.answered(head, s.exchange ? s.exchange->cache_status() : "");
    if (head.status == 204 || head.status == 304) body.reset();
    head.headers.add("Server", std::string(http::server_header_value()));
    head.headers.add("Date", w_.dates().now());
    // The body is held to the Content-Length the client is told (the codec resets a stream
    // whose body ends short and cuts one that offers more); without one, to what it says it has.
    std::optional<uint64_t> length;
    if (body) {
        length = body->remaining();
        if (const std::string* cl = head.headers.get("content-length")) {
            uint64_t v = 0;
            auto [end, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), v);
            if (ec == std::errc() && end == cl->data() + cl->size()) length = v;
        }
    }
    // Whether this answer is the connection's only work: nothing being sent or read. Then a
    // small body's HEADERS wait for its READ (a ring turn on the page cache) and leave in the
    // same send as its DATA instead of a send of their own. With other work under way they go
    // at once, gathered with whatever else is sent next.
    const bool alone = output_.idle() && std::none_of(reads_.begin(), reads_.end(),
                                                      [](const auto& r) { return r->busy; });
    s.body = std::move(body);
    if (s.body) top_up(s);
    if (s.failed) return;  // cut off before its HEADERS: the stream is reset
    if (alone && s.reading && s.body_end && s.queue.end() - s.queue.begin() <= kHoldHeadersUpTo) {
        s.held = std::make_unique<HeldResponse>(HeldResponse{std::move(head), length});
        arm_stall_check();
        return;
    }
    if (!submit_head(s, head, length)) return;
    schedule_pump();
    arm_stall_check();
}

bool H2Connection::submit_head(Stream& s, const http::ResponseHead& head,
                               std::optional<uint64_t> length) noexcept {
    Status st = codec_.submit_response(s.id, head, s.body ? this : nullptr, length);
    if (!st.ok()) {
        XS3_LOG_DEBUG("h2 response not sent", kv("conn", id_), kv("stream", s.id),
                      kv("error", st.to_string()));
        if (s.body) w_.ring().dispose_later(std::move(s.body));
        s.queue.clear();
        s.failed = true;  // a read still in the kernel finds nothing to do
        return false;
    }
    return true;
}

void H2Connection::top_up(Stream& s) noexcept {
    // Pull again only once half of what was pulled is gone, so file regions (and the reads of
    // them) stay large instead of a frame's worth each.
    bool pull = s.queue.queued() < kPullAhead / 2;
    while (pull && s.body && !s.failed && !s.body_end && !s.waiting &&
           s.queue.queued() < kPullAhead) {
        if (*budget_ >= kBodyBudget) {
            starve(s);  // a data chunk would go over: wait for bytes to leave
            break;
        }
        BodyChunk c = s.body->next(kPullAhead - s.queue.queued());
        switch (c.kind) {
            case BodyChunk::Kind::file:
                s.queue.push_file(c.fd, c.offset, c.length, std::move(c.keep));
                break;
            case BodyChunk::Kind::data: {
                auto counted = std::make_shared<CountedBytes>(std::move(c.data), budget_);
                const char* data = counted->bytes.data();
                size_t n = counted->bytes.size();
                s.queue.push_memory(data, n, std::move(counted));
                break;
            }
            case BodyChunk::Kind::wait:
                s.waiting = true;
                s.body->wait(for_stream(s.id, [](H2Connection& conn, Stream& st) {
                    if (!st.waiting) return;
                    st.waiting = false;
                    conn.top_up(st);
                    conn.body_ready(st);
                }));
                break;
            case BodyChunk::Kind::end:
                s.body_end = true;
                break;
            case BodyChunk::Kind::error:
                fail_stream(s, "the body cannot be completed", c.error);
                return;
        }
    }
    if (frame_from_memory_) read_ahead(s);
}

void H2Connection::starve(Stream& s) noexcept {
    if (s.starved) return;
    s.starved = true;
    starved_.push_back(s.id);
}

void H2Connection::fail_stream(Stream& s, const char* why, const Status& status) noexcept {
    if (s.failed) return;
    s.failed = true;
    w_.shared().counters.responses_cut.fetch_add(1, std::memory_order_relaxed);
    XS3_LOG_WARN("response cut off", kv("conn", id_), kv("stream", s.id),
                 kv("key", s.exchange ? s.exchange->key() : std::string()), kv("why", why),
                 kv("error", status.ok() ? std::string("-") : status.to_string()));
    // Inside produce() the codec hears it from body_available(); otherwise reset now, so a
    // stream without flow-control window is not left hanging. Bytes already handed to the
    // output go first; the RST_STREAM follows them.
    if (!in_produce_) {
        Status st = codec_.reset_stream(s.id, http::h2_error::internal_error);
        (void)st;
        schedule_pump();
    }
}

http::H2BodyChunk H2Connection::body_available(int32_t stream_id, uint64_t offset,
                                               size_t max) noexcept {
    Stream* s = find_stream(stream_id);
    // Frames already promised in this produce() are still queued (they are taken after it):
    // `offset` is at or after the queue's front.
    if (s == nullptr || s->failed || offset < s->queue.begin()) return http::H2BodyChunk::error();
    auto ready = [&]() -> uint64_t {
        uint64_t end = frame_from_memory_ ? s->queue.memory_end() : s->queue.end();
        return end > offset ? end - offset : 0;
    };
    if (ready() == 0) top_up(*s);
    if (s->failed) return http::H2BodyChunk::error();
    if (uint64_t n = ready(); n > 0) {
        n = std::min<uint64_t>(n, max);
        s->access.sent = offset + n;
        return http::H2BodyChunk::ready(n);
    }
    if (s->body_end && s->queue.empty()) return http::H2BodyChunk::eof();
    s->deferred = true;
    return http::H2BodyChunk::deferred();
}

bool H2Connection::body_ready_now(const Stream& s) const noexcept {
    if (s.failed || (s.body_end && s.queue.empty())) return true;
    return (frame_from_memory_ ? s.queue.memory_end() : s.queue.end()) > s.queue.begin();
}

void H2Connection::resume(Stream& s) noexcept {
    s.deferred = false;
    codec_.resume_data(s.id);
}

void H2Connection::body_ready(Stream& s) noexcept {
    if (s.deferred) resume(s);
    schedule_pump();
}

// ---- reading file bytes ahead into blocks --------------------------------------------------

void H2Connection::read_ahead(Stream& s) noexcept {
    if (s.reading || s.failed || s.closed || state_ == State::closed) return;
    const uint64_t block = w_.copy_blocks().block_size();
    // Read the next block once less than half a block is left in memory.
    if (s.queue.memory_end() - s.queue.begin() >= block / 2) return;
    const H2BodyQueue::FileRegion* f = s.queue.first_file();
    if (f == nullptr) return;
    uint64_t length = std::min<uint64_t>(f->length, block);
    uint64_t cost = length > block / 4 ? block : length;
    // Within the connection's budget and the worker's, or the only buffer of the connection (so
    // one stream always makes progress).
    if (*budget_ > 0 && *budget_ + cost > kBodyBudget) {
        starve(s);
        return;
    }
    ring::BlockPool::Buffer memory =
        w_.copy_blocks().acquire_buffer(static_cast<size_t>(length), *budget_ == 0);
    if (!memory) {
        if (*budget_ == 0) {
            fail_stream(s, "no memory for a read buffer", Status(Code::internal, "out of memory"));
            return;
        }
        starve(s);
        return;
    }
    length = std::min<uint64_t>(length, memory.capacity);  // a forced buffer may be smaller
    BlockRead* r = nullptr;
    for (auto& slot : reads_)
        if (!slot->busy) {
            r = slot.get();
            break;
        }
    if (r == nullptr) {
        reads_.push_back(std::make_unique<BlockRead>(*this));
        r = reads_.back().get();
    }
    auto buffer = std::make_shared<ReadBuffer>(w_.copy_blocks(), std::move(memory), budget_);
    io_uring_sqe* sqe = w_.ring().get_sqe(&r->op);
    io_uring_prep_read(sqe, f->fd, buffer->data(), static_cast<unsigned>(length), f->offset);
    r->busy = true;
    r->stream_id = s.id;
    r->fd = f->fd;
    r->file_offset = f->offset;
    r->length = length;
    r->buffer = std::move(buffer);
    r->file_keep = f->keep;
    s.reading = true;
    op_started();
}

void H2Connection::on_read(BlockRead& r, int res) noexcept {
    r.busy = false;
    std::shared_ptr<ReadBuffer> buffer = std::move(r.buffer);
    H2BodyQueue::Keep file_keep = std::move(r.file_keep);
    op_finished();  // when closed, the connection may now be forgotten (it is freed next turn)
    if (state_ == State::closed) return;
    Stream* s = find_stream(r.stream_id);
    if (s == nullptr) {  // reset while the read was in the kernel: its budget is free again
        buffer.reset();
        pump();
        return;
    }
    s->reading = false;
    if (res == -EINTR || res == -EAGAIN) {
        read_ahead(*s);
        return;
    }
    if (res <= 0) {
        fail_stream(*s,
                    res == 0 ? "a file ended before the bytes it should hold" : "file read failed",
                    res == 0 ? Status(Code::io_error, "short file")
                             : Status(Code::io_error, std::strerror(-res)));
        return;
    }
    const char* data = buffer->data();
    if (!s->queue.fill(r.fd, r.file_offset, data, static_cast<size_t>(res), std::move(buffer))) {
        fail_stream(*s, "read does not match the body", Status(Code::internal, "queue mismatch"));
        return;
    }
    if (s->held) {
        std::unique_ptr<HeldResponse> held = std::move(s->held);
        if (!submit_head(*s, held->head, held->length)) return;  // its body is gone
    }
    read_ahead(*s);
    body_ready(*s);
}

void H2Connection::retry_starved() noexcept {
    if (starved_.empty() || *budget_ + w_.copy_blocks().block_size() > kBodyBudget) return;
    std::vector<int32_t> ids;
    ids.swap(starved_);
    for (int32_t id : ids) {
        if (Stream* s = find_stream(id)) {
            s->starved = false;
            top_up(*s);
            if (s->deferred && body_ready_now(*s)) resume(*s);
        }
    }
}

}  // namespace xs3::proxy
