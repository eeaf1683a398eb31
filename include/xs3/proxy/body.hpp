// Body: where a response's bytes come from, independent of the transport that sends them
// (HTTP/1.1 connection or HTTP/2 stream). A transport pulls pieces with next() as it has room:
// a file region (sent with splice or read+send straight from the cache or temp file), bytes in
// memory, "wait" (nothing ready yet: register a wake-up), the end, or an error (the response
// cannot be completed and must be cut off, never padded).
//
// Implementations: MemoryBody (small answers), FileBody (a cached object), DownloadBody (an
// object being downloaded: waits on the download's progress), StreamBody (stream_body.hpp:
// bytes of an origin GET relayed as they arrive).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "xs3/base/status.hpp"
#include "xs3/cache/index.hpp"
#include "xs3/cache/store.hpp"
#include "xs3/fetch/download.hpp"
#include "xs3/ring/ring.hpp"

namespace xs3::proxy {

struct BodyChunk {
    enum class Kind { file, data, wait, end, error };
    explicit BodyChunk(Kind k = Kind::end) : kind(k) {}
    Kind kind;
    // file: `length` bytes of `fd` from `offset`; `keep` keeps the descriptor open until they are
    // sent.
    int fd = -1;
    uint64_t offset = 0;
    uint64_t length = 0;
    std::shared_ptr<const void> keep;
    // data: the bytes themselves.
    std::string data;
    // error: why the body cannot be completed.
    Status error;

    static BodyChunk wait() { return BodyChunk(Kind::wait); }
    static BodyChunk end() { return BodyChunk(Kind::end); }
    static BodyChunk failed(Status why) {
        BodyChunk c(Kind::error);
        c.error = std::move(why);
        return c;
    }
};

class Body {
  public:
    virtual ~Body() = default;
    // At most `max` (> 0) bytes of what is ready now; the body moves past what it returns.
    virtual BodyChunk next(uint64_t max) noexcept = 0;
    // After next() returned wait: `wake` runs later on the ring the body was created on, once
    // next() may return something else. At most one wake is pending; a new one replaces it.
    virtual void wait(std::function<void()> wake) noexcept = 0;
    // Bytes next() has not returned yet.
    virtual uint64_t remaining() const noexcept = 0;
};

// A small body held in memory (error XML, health checks).
class MemoryBody final : public Body {
  public:
    explicit MemoryBody(std::string bytes) : bytes_(std::move(bytes)), size_(bytes_.size()) {}
    BodyChunk next(uint64_t max) noexcept override;
    void wait(std::function<void()>) noexcept override {}
    uint64_t remaining() const noexcept override { return size_ - pos_; }

  private:
    std::string bytes_;
    size_t size_;
    size_t pos_ = 0;
};

// Object bytes [first, end) of a cached file. The pin keeps the evictor off the object while it
// is served (an unlinked file would still be readable through the descriptor; this only saves
// evicting what is in use).
class FileBody final : public Body {
  public:
    FileBody(std::shared_ptr<const cache::Entry> entry, uint64_t first, uint64_t end,
             cache::Pin pin = {})
        : entry_(std::move(entry)), pos_(first), end_(end), pin_(std::move(pin)) {}
    BodyChunk next(uint64_t max) noexcept override;
    void wait(std::function<void()>) noexcept override {}
    uint64_t remaining() const noexcept override { return end_ - pos_; }

  private:
    std::shared_ptr<const cache::Entry> entry_;
    uint64_t pos_;
    uint64_t end_;
    cache::Pin pin_;
};

// Object bytes [first, end) of a download in progress, read from its temp file as they land
// (it may not have a file yet: the answer goes out as soon as size and metadata are known).
// If the download fails because of the cache (a write failed: no space, I/O error), or is
// redirected (the cache would not take it), and a fallback is given, the rest comes from it (an
// origin GET of [pos, end)); any other failure, or a failing fallback, fails the body.
class DownloadBody final : public Body {
  public:
    using Fallback = std::function<std::unique_ptr<Body>(uint64_t first, uint64_t end)>;
    // `trace_id`: the request's, for the read.wait / read.wake trace events.
    DownloadBody(ring::Ring& ring, std::shared_ptr<fetch::Download> download, uint64_t first,
                 uint64_t end, Fallback fallback = {}, uint64_t trace_id = 0);
    ~DownloadBody() override;
    BodyChunk next(uint64_t max) noexcept override;
    void wait(std::function<void()> wake) noexcept override;
    uint64_t remaining() const noexcept override { return end_ - pos_; }

  private:
    ring::Ring& ring_;
    std::shared_ptr<fetch::Download> download_;
    std::shared_ptr<void> reader_;  // counts us as a reader of the download
    uint64_t pos_;
    uint64_t end_;
    Fallback fallback_;
    std::unique_ptr<Body> rest_;  // the fallback, once switched to
    uint64_t trace_id_;
    // The registered wake-up goes through this token, so one that fires after the body is gone
    // (or after a newer wait) does nothing.
    std::shared_ptr<std::function<void()>> wake_;
};

}  // namespace xs3::proxy
