// Download: one in-flight fetch of one object into one temp file, shared by every reader of it.
//
// Chunks are fetched with ranged GETs (planner.hpp) on a ring, written to the file through that
// ring, and each chunk publishes its contiguous written length in an atomic. Readers on any ring
// ask available_from(pos); when nothing is there they call wait(), which registers a wake-up
// under the same lock the writer takes after publishing progress, so a wake-up cannot be lost:
//   reader: lock; re-check atomics; enqueue waiter; unlock; sleep
//   writer: store progress (release); lock; take waiters; unlock; post each to its ring (eventfd)
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "xs3/base/status.hpp"
#include "xs3/fetch/planner.hpp"
#include "xs3/ring/ring.hpp"
#include "xs3/s3/curl_client.hpp"

namespace xs3::fetch {

struct DownloadOptions {
    PlannerOptions planner;
    unsigned max_attempts = 4;               // per chunk, first try included
    std::chrono::milliseconds backoff{100};  // doubled per attempt, with jitter
    size_t write_size = 256 * 1024;          // bytes per file write
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds low_speed_timeout{30000};
};

// Builds the signed ranged GET for object bytes [first, last] (with If-Match on the ETag).
using RangeRequestFactory = std::function<s3::HttpRequest(uint64_t first, uint64_t last)>;

class Download : public std::enable_shared_from_this<Download> {
  public:
    enum class State { creating, running, complete, failed };

    Download(std::string name, uint64_t size, DownloadOptions options);
    ~Download();
    Download(const Download&) = delete;
    Download& operator=(const Download&) = delete;

    // --- owner side ---
    // The temp file is ready: `write_fd` for the fetchers and `read_fd` for readers (both owned
    // by the Download from now on; the cache opens temp files write-only, possibly O_DIRECT),
    // with object byte 0 at `data_offset`. Moves creating -> running (readers may start).
    void attach_file(int write_fd, int read_fd, uint64_t data_offset);
    // Starts the chunk fetches on `ring` (its thread only from here on). `on_finished` runs on
    // that ring once every byte is written (ok) or the download failed for good.
    void start(ring::Ring& ring, s3::CurlClient& client, RangeRequestFactory factory,
               std::function<void(const Status&)> on_finished);
    // Fails the download (from the fetch ring, or before start from anywhere).
    void fail(Status why);
    // Stops fetching because nobody wants the bytes any more (abandon_on_disconnect).
    void abandon();

    // --- reader side (any thread) ---
    const std::string& name() const noexcept { return name_; }
    uint64_t size() const noexcept { return size_; }
    State state() const noexcept { return state_.load(std::memory_order_acquire); }
    Status failure() const;                       // valid when state() == failed
    int fd() const noexcept { return read_fd_; }  // for readers
    uint64_t data_offset() const noexcept { return data_offset_; }
    // Contiguous object bytes available starting at `pos` (0 if none yet).
    uint64_t available_from(uint64_t pos) const noexcept;
    // Registers `wake` to run on `ring` after progress at or past `pos`, or a state change.
    // Returns false (and registers nothing) if there is something to do already.
    bool wait(uint64_t pos, ring::Ring& ring, std::function<void()> wake);
    // Readers that want bytes from `pos` first: the next chunk to start is the one holding it.
    void prioritize(uint64_t pos) noexcept;

    // Counters for tests and metrics.
    uint64_t bytes_fetched() const noexcept { return bytes_fetched_.load(); }
    unsigned retries() const noexcept { return retries_.load(); }

  private:
    struct Chunk;
    class ChunkFetcher;
    friend class ChunkFetcher;

    void set_state(State s);
    void notify_waiters();
    void pump();  // starts chunk fetches up to the concurrency limit
    void chunk_done(ChunkFetcher* f, const Status& status);
    void finish(const Status& status);

    const std::string name_;
    const uint64_t size_;
    const DownloadOptions options_;
    ChunkPlan plan_;
    std::unique_ptr<std::atomic<uint64_t>[]> written_;  // per chunk, contiguous bytes on file

    std::atomic<State> state_{State::creating};
    mutable std::mutex mu_;
    Status failure_;
    struct Waiter {
        uint64_t pos;
        ring::Ring* ring;
        std::function<void()> wake;
    };
    std::vector<Waiter> waiters_;
    std::atomic<size_t> priority_chunk_{SIZE_MAX};

    int fd_ = -1;  // write side
    int read_fd_ = -1;
    uint64_t data_offset_ = 0;

    // Fetch side, touched only on the fetch ring.
    ring::Ring* ring_ = nullptr;
    s3::CurlClient* client_ = nullptr;
    RangeRequestFactory factory_;
    std::function<void(const Status&)> on_finished_;
    std::vector<uint8_t> chunk_started_;
    size_t chunks_done_ = 0;
    std::vector<std::unique_ptr<ChunkFetcher>> active_;
    bool finished_ = false;
    std::atomic<uint64_t> bytes_fetched_{0};
    std::atomic<unsigned> retries_{0};
};

// One Download per cache key across all workers. A concurrent miss joins the running one.
class DownloadManager {
  public:
    // Returns the running download for `key`, or creates one with `make` (second = true).
    std::pair<std::shared_ptr<Download>, bool> get_or_create(
        const std::string& key, const std::function<std::shared_ptr<Download>()>& make);
    // Forgets `key` if it still maps to `d` (after it completed or failed).
    void remove(const std::string& key, const Download* d);
    size_t active() const;

  private:
    mutable std::mutex mu_;
    std::unordered_map<std::string, std::shared_ptr<Download>> downloads_;
};

}  // namespace xs3::fetch
