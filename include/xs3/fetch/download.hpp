// Download: one in-flight fetch of one object into one temp file, shared by every reader of it.
//
// A cold object starts with a probe: the ranged GET of the chunk holding the first byte a reader
// wants. Its answer tells the size, the ETag and the metadata, so no HEAD delays the first byte,
// and its body is that chunk's data. The other chunks (planner.hpp) are ranged GETs with
// If-Match on the probe's ETag, so every byte comes from one object version. They run on every
// worker's ring (FetchSlot), each fetch writing through its own ring; the bookkeeping (which
// chunk next, which ones are done) runs on the home ring only.
//
// Each chunk publishes its contiguous written length (ChunkProgress, progress.hpp). Readers on any
// ring ask available_from(pos); when nothing is there they call wait(), which cannot miss a
// wake-up (see progress.hpp for the protocol).
//
// When the object carries a SHA-224 (verify_with), the file is hashed on a thread pool as its
// contiguous prefix grows, and the download completes only if the digest matches.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "xs3/base/digest.hpp"
#include "xs3/base/status.hpp"
#include "xs3/base/thread_pool.hpp"
#include "xs3/base/trace.hpp"
#include "xs3/base/unique_fd.hpp"
#include "xs3/fetch/chunk_source.hpp"
#include "xs3/fetch/fetch_slots.hpp"
#include "xs3/fetch/planner.hpp"
#include "xs3/fetch/progress.hpp"
#include "xs3/ring/ring.hpp"
#include "xs3/s3/curl_client.hpp"
#include "xs3/s3/retry.hpp"

namespace xs3::fetch {

struct DownloadOptions {
    PlannerOptions planner;
    // Retries of a chunk GET: the SDKs' standard policy (which failures, how long to wait),
    // max_attempts per chunk (first try included); `budget` (shared by every request to S3 in
    // the process, may be null) keeps a failing S3 from being hit with ever more retries.
    s3::RetryOptions retry = s3::RetryOptions::standard(4, std::chrono::milliseconds(100),
                                                        std::chrono::milliseconds(20000));
    s3::RetryBudget* budget = nullptr;
    size_t write_size = 512 * 1024;  // bytes per file write (a multiple of 4096)
    // An attempt's first bytes are written as soon as this many have arrived, so a reader's
    // first byte does not wait for a full write_size buffer.
    size_t first_write = 16 * 1024;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds low_speed_timeout{30000};
    bool spread_across_slots = true;  // false: every chunk runs on the home ring
};

// The signed ranged GET of object bytes [first, last], with If-Match unless `if_match` is empty.
using RangeRequestFactory = FactorySource::Factory;

// A read-only look at one download in flight (GET /debug/downloads), taken from any thread.
struct DownloadView {
    uint64_t id = 0;  // the trace's dl
    std::string name;
    const char* state = "";
    bool size_known = false;
    uint64_t size = 0;
    std::chrono::milliseconds age{0};
    long readers = 0;    // responses reading it
    size_t waiters = 0;  // of them, waiting for bytes right now
    uint64_t bytes_fetched = 0;
    unsigned retries = 0;  // chunk GETs retried
    struct Chunk {
        uint64_t offset = 0;
        uint64_t length = 0;
        uint64_t written = 0;  // contiguous bytes on disk from offset
    };
    std::vector<Chunk> chunks;  // empty until size and plan are known
};

class Download : public std::enable_shared_from_this<Download> {
  public:
    enum class State {
        probing,     // the first GET is out (size and metadata not known yet), or the owner is
                     // deciding what to do with them
        preparing,   // size and metadata known; the owner is preparing the temp file
        running,     // the temp file exists: readers may read what is written
        complete,    // every byte is written (and verified)
        failed,      // for good: failure() says why
        redirected,  // no download after all (redirect() says where the bytes are)
    };
    enum class Redirect { none, cached, passthrough };

    // A cold object: the probe fetches the chunk holding `first_byte` (0 when the reader wants
    // the whole object or a suffix).
    static std::shared_ptr<Download> probe(std::string name, uint64_t first_byte,
                                           DownloadOptions options);
    // An object whose size and metadata a HEAD already gave.
    static std::shared_ptr<Download> known(std::string name, uint64_t size,
                                           s3::HttpResponseHead head, DownloadOptions options);
    ~Download();
    Download(const Download&) = delete;
    Download& operator=(const Download&) = delete;

    // --- owner side (home ring) ---
    // Starts: the probe (if any) on `home`, the other chunks later on `slots` (home if empty).
    // `on_info` runs on the home ring once size and metadata are known (size_known(), state
    // still probing; readers learn them only after it returns) or the probe failed for good
    // (state failed). In it or later, the owner calls attach_file, redirect or fail. `on_finished`
    // runs on the home ring when every byte is written (ok) or the download failed for good.
    // Every chunk GET (the probe's included) tries `sources` in order (chunk_source.hpp); the
    // last one is S3.
    void start(FetchSlot home, std::vector<FetchSlot> slots, ChunkSources sources,
               std::function<void()> on_info, std::function<void(const Status&)> on_finished);
    // One source made of a request factory.
    void start(FetchSlot home, std::vector<FetchSlot> slots, RangeRequestFactory factory,
               std::function<void()> on_info, std::function<void(const Status&)> on_finished) {
        start(home, std::move(slots),
              ChunkSources{std::make_shared<FactorySource>(std::move(factory))}, std::move(on_info),
              std::move(on_finished));
    }
    // Replaces the metadata answer (preparing only): an empty object's probe gets a 416 that
    // carries no metadata, so the owner asks a HEAD.
    void set_origin_head(s3::HttpResponseHead head) { origin_head_ = std::move(head); }
    // Verify the file against this SHA-224 (56 hex digits) before completing; hashing runs on
    // `pool`. Call before attach_file.
    void verify_with(ThreadPool& pool, std::string sha224_hex);
    // The temp file is ready: `write_fd` for the fetchers and `read_fd` for readers, object byte
    // 0 at `data_offset`. With `direct_io` the write descriptor is O_DIRECT: writes are whole
    // 4 KiB blocks from aligned buffers (the last block is padded; the owner truncates the file
    // when publishing). Moves to running. False when the download failed meanwhile: the owner
    // discards the file. Either way the Download keeps both descriptors until it is destroyed.
    bool attach_file(UniqueFd write_fd, UniqueFd read_fd, uint64_t data_offset, bool direct_io);
    // There will be no download: readers take the bytes from elsewhere.
    void redirect(Redirect where);
    // Chunk fetchers alive in the process (shutdown waits for 0 before stopping the rings).
    static size_t live_fetchers() noexcept;
    // Chunk write buffers the calling thread's pool keeps idle (tests: they are freed about a
    // second after the thread's last chunk ended).
    static size_t idle_chunk_buffers() noexcept;
    // Fails the download (home ring, or before start from anywhere).
    void fail(Status why);

    // --- reader side (any thread) ---
    const std::string& name() const noexcept { return name_; }
    // This download's id in the --debug-trace (dl), unique in the process.
    uint64_t trace_id() const noexcept { return trace_id_; }
    State state() const noexcept { return state_.load(std::memory_order_acquire); }
    // Valid once the state is past probing (and in failed when the origin told the size).
    bool size_known() const noexcept { return size_known_.load(std::memory_order_acquire); }
    uint64_t size() const noexcept { return size_; }
    // The origin's answer that gave size and metadata (the HEAD, or the probe's head).
    const s3::HttpResponseHead& origin_head() const noexcept { return origin_head_; }
    Redirect redirected_to() const noexcept { return redirect_; }
    // Valid when state() == failed. For refusals by the origin (404, 403, 416, 412) the HTTP
    // status and S3 error code are kept so readers can answer the same.
    Status failure() const;
    int refusal_status() const;
    std::string refusal_code() const;

    int fd() const noexcept { return read_fd_.get(); }
    uint64_t data_offset() const noexcept { return data_offset_; }
    // Contiguous object bytes available starting at `pos` (0 if none yet), within its chunk.
    uint64_t available_from(uint64_t pos) const noexcept;
    // Every byte of the object is on file (complete, or still being verified): a reader now is
    // served from the whole file.
    bool all_on_file() const noexcept;
    // Registers `wake` to run on `ring` after progress at or past `pos`, or a state change.
    // Returns false (and registers nothing) if there is something to do already.
    bool wait(uint64_t pos, ring::Ring& ring, std::function<void()> wake);
    // A reader wants bytes from `pos`: the chunk holding it starts before the others.
    void prioritize(uint64_t pos);

    // Readers hold a token while they read; when the last one lets go and abandon_when_unread
    // is set, the download stops (abandon_on_disconnect).
    std::shared_ptr<void> reader_token();
    void set_abandon_when_unread(bool on) noexcept { abandon_when_unread_ = on; }

    // A snapshot for /debug/downloads (download_view.cpp); safe from any thread.
    DownloadView view() const;
    static const char* state_name(State s) noexcept;

    // Counters for tests and metrics.
    uint64_t bytes_fetched() const noexcept { return bytes_fetched_.load(); }
    // Of those, the bytes that came from peers (ChunkSource::is_peer); the rest came from S3.
    uint64_t bytes_from_peers() const noexcept { return bytes_from_peers_.load(); }
    // The probe's answer (size, ETag, metadata) came from a peer. Valid once size_known().
    bool probe_from_peer() const noexcept { return probe_from_peer_.load(); }
    unsigned retries() const noexcept { return retries_.load(); }
    bool verified() const noexcept { return verified_.load(); }
    bool verify_failed() const noexcept { return verify_failed_.load(); }

  private:
    class ChunkFetcher;
    friend class ChunkFetcher;
    struct Refusal {
        int http_status = 0;
        std::string s3_code;
    };

    Download(std::string name, DownloadOptions options);
    void set_state(State s);
    void plan(uint64_t size);
    // From the probe fetcher (home ring): what the first answer said.
    void on_probe_head(const s3::HttpResponseHead& head, uint64_t size);
    void decided();
    void pump();
    void chunk_done(const std::shared_ptr<ChunkFetcher>& f, const Status& status,
                    const Refusal& refusal);
    void all_written();
    void finish(const Status& status);
    void finish(const Status& status, Refusal refusal);
    void kick_hash();
    void hash_step();
    FetchSlot next_slot();
    bool on_home_ring() const noexcept;
    void run_on_home(std::function<void()> task);
    void reader_left();

    const std::string name_;
    const uint64_t trace_id_ = trace::next_id();
    const std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
    const DownloadOptions options_;
    const s3::RetryPolicy retry_policy_;
    uint64_t size_ = 0;
    std::atomic<bool> size_known_{false};
    s3::HttpResponseHead origin_head_;
    std::string etag_;  // If-Match for every chunk after the probe ("": none usable)
    // The store ignored the probe's Range and sent the whole object: it is fetched as one chunk,
    // that answer (a store that does so cannot be asked for parts anyway).
    bool whole_object_ = false;
    ChunkPlan plan_;
    ChunkProgress progress_;
    uint64_t probe_first_byte_ = 0;
    bool probing_ = false;

    std::atomic<State> state_{State::probing};
    Redirect redirect_ = Redirect::none;
    mutable std::mutex mu_;
    Status failure_;
    Refusal refusal_;
    std::set<size_t> wanted_;  // chunks readers wait for (under mu_)

    // Closed when the Download goes: chunk writers and readers hold it (shared_ptr) while their
    // ops use these descriptors.
    UniqueFd fd_;  // write side
    UniqueFd read_fd_;
    uint64_t data_offset_ = 0;
    bool direct_io_ = false;

    // Home side, touched only on the home ring.
    FetchSlot home_;
    std::vector<FetchSlot> slots_;
    size_t slot_rr_ = 0;
    ChunkSources sources_;
    std::function<void()> on_info_;
    std::function<void(const Status&)> on_finished_;
    std::vector<uint8_t> chunk_started_;
    std::vector<size_t> order_;  // chunk indices in the order they start (after wanted ones)
    size_t order_pos_ = 0;
    size_t chunks_done_ = 0;
    std::unordered_map<size_t, std::shared_ptr<ChunkFetcher>> active_;
    std::shared_ptr<ChunkFetcher> probe_fetcher_;  // until the file is attached
    bool file_attached_ = false;
    bool finished_ = false;
    bool writing_done_ = false;

    // Verification: hashed by one task at a time on hash_pool_.
    ThreadPool* hash_pool_ = nullptr;
    std::string expected_sha224_;
    bool hash_running_ = false;  // home ring
    uint64_t hashed_ = 0;        // the running hash task only
    Sha224Hasher hasher_;        // the running hash task only
    std::atomic<bool> verified_{false};
    std::atomic<bool> verify_failed_{false};

    std::atomic<long> readers_{0};
    std::atomic<bool> abandon_when_unread_{false};
    std::atomic<uint64_t> bytes_fetched_{0};
    std::atomic<uint64_t> bytes_from_peers_{0};
    std::atomic<bool> probe_from_peer_{false};
    std::atomic<unsigned> retries_{0};
};

}  // namespace xs3::fetch
