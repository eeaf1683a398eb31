// Download: chunk fetchers writing through the ring, progress atomics, waiters.
#include "xs3/fetch/download.hpp"

#include <unistd.h>

#include <cstring>
#include <random>

#include "xs3/base/log.hpp"

namespace xs3::fetch {

// Fetches one chunk: a ranged GET whose body is copied into two write_size buffers; one is being
// written to the file while the other fills. When both are busy the transfer is paused, so memory
// per chunk is 2 x write_size whatever the object size.
class Download::ChunkFetcher final : public s3::TransferHandler {
  public:
    ChunkFetcher(std::shared_ptr<Download> d, size_t index)
        : d_(std::move(d)),
          index_(index),
          offset_(d_->plan_.chunks[index].offset),
          length_(d_->plan_.chunks[index].length),
          ws_(d_->options_.write_size) {
        bufs_[0].reset(new char[ws_]);
        bufs_[1].reset(new char[ws_]);
    }

    size_t index() const noexcept { return index_; }
    bool retired() const noexcept { return retired_; }

    void start() noexcept {
        uint64_t done = d_->written_[index_].load(std::memory_order_relaxed);
        queued_ = done;
        fill_[0] = fill_[1] = 0;
        cur_ = 0;
        http_ok_ = false;
        error_ = Status();
        fatal_ = false;
        ++attempt_;
        s3::HttpRequest req = d_->factory_(offset_ + done, offset_ + length_ - 1);
        req.connect_timeout = d_->options_.connect_timeout;
        req.low_speed_timeout = d_->options_.low_speed_timeout;
        transfer_active_ = true;
        tid_ = d_->client_->start(std::move(req), this);
    }

    // The download failed elsewhere: stop without calling back into it.
    void abort() noexcept {
        aborted_ = true;
        if (transfer_active_) {
            d_->client_->cancel(tid_);
            transfer_active_ = false;
        }
        d_->ring_->cancel_timer(retry_timer_);
        maybe_retire();
    }

    void on_head(const s3::HttpResponseHead& head) noexcept override {
        uint64_t first = offset_ + queued_;
        if (head.status == 206) {
            // Content-Range must name exactly the bytes we asked for.
            const std::string* cr = head.get("content-range");
            std::string want = "bytes " + std::to_string(first) + "-" +
                               std::to_string(offset_ + length_ - 1) + "/" +
                               std::to_string(d_->size_);
            if (cr == nullptr || *cr != want) {
                error_ = Status(Code::unavailable, "unexpected Content-Range '" +
                                                       (cr ? *cr : std::string("(none)")) +
                                                       "', wanted '" + want + "'");
                return;
            }
            http_ok_ = true;
        } else if (head.status == 200 && first == 0 && length_ == d_->size_) {
            http_ok_ = true;  // the whole object, as asked
        } else if (head.status == 412) {
            error_ = Status(Code::precondition_failed,
                            "object changed while downloading (If-Match failed)");
            fatal_ = true;
        } else if (head.status == 403 || head.status == 404) {
            error_ = Status(head.status == 403 ? Code::access_denied : Code::not_found,
                            "chunk GET answered " + std::to_string(head.status));
            fatal_ = true;
        } else {
            error_ = Status(Code::unavailable, "chunk GET answered " + std::to_string(head.status));
        }
    }

    size_t on_body(const char* data, size_t len) noexcept override {
        const size_t taken = len;
        if (!http_ok_ || aborted_) return len;  // error body: drained, ignored
        if (queued_ + len > length_) {
            error_ = Status(Code::unavailable, "upstream sent more bytes than the range");
            return len;
        }
        size_t space = ws_ - fill_[cur_] + (write_in_flight_ ? 0 : ws_);
        if (len > space) {
            paused_ = true;
            return 0;
        }
        while (len > 0) {
            size_t n = std::min(len, ws_ - fill_[cur_]);
            std::memcpy(bufs_[cur_].get() + fill_[cur_], data, n);
            fill_[cur_] += n;
            queued_ += n;
            data += n;
            len -= n;
            d_->bytes_fetched_.fetch_add(n, std::memory_order_relaxed);
            if (fill_[cur_] == ws_ && !write_in_flight_) submit_write();
        }
        return taken;
    }

    void on_complete(const Status& status) noexcept override {
        transfer_active_ = false;
        if (aborted_) {
            maybe_retire();
            return;
        }
        if (error_.ok() && !status.ok()) error_ = status;
        if (error_.ok() && queued_ != length_)
            error_ = Status(Code::unavailable, "short body: got " + std::to_string(queued_) +
                                                   " of " + std::to_string(length_) + " bytes");
        if (error_.ok() && fill_[cur_] > 0 && !write_in_flight_) submit_write();
        settle();
    }

  private:
    // Called whenever the transfer or a write ends: decides what the chunk does next.
    void settle() noexcept {
        if (aborted_) {
            maybe_retire();
            return;
        }
        if (transfer_active_ || write_in_flight_) return;
        if (error_.ok()) {
            if (fill_[cur_] > 0) {
                submit_write();
                return;
            }
            retired_ = true;
            d_->chunk_done(this, Status());
            return;
        }
        // Failed attempt: what is written stays; buffered bytes are dropped and refetched.
        fill_[0] = fill_[1] = 0;
        if (fatal_ || attempt_ >= d_->options_.max_attempts) {
            retired_ = true;
            d_->chunk_done(this, error_);
            return;
        }
        d_->retries_.fetch_add(1, std::memory_order_relaxed);
        auto base = d_->options_.backoff * (1u << std::min(attempt_ - 1, 6u));
        static thread_local std::minstd_rand rng(std::random_device{}());
        auto delay = std::chrono::milliseconds(
            std::uniform_int_distribution<int64_t>(base.count() / 2, base.count())(rng));
        XS3_LOG_WARN("chunk fetch failed; retrying", kv("object", d_->name_), kv("chunk", index_),
                     kv("attempt", attempt_), kv("delay_ms", delay.count()),
                     kv("error", error_.to_string()));
        retry_timer_ = d_->ring_->add_timer(delay, [this] {
            retry_timer_ = {};
            if (!aborted_) start();
        });
    }

    void submit_write() noexcept {
        wbuf_ = cur_;
        cur_ ^= 1;
        write_in_flight_ = true;
        write_done_ = 0;
        issue_write();
    }

    void issue_write() noexcept {
        uint64_t written = d_->written_[index_].load(std::memory_order_relaxed);
        io_uring_sqe* sqe = d_->ring_->get_sqe(&write_op_);
        if (sqe == nullptr) {
            d_->ring_->defer([this] { issue_write(); });
            return;
        }
        io_uring_prep_write(sqe, d_->fd_, bufs_[wbuf_].get() + write_done_,
                            static_cast<unsigned>(fill_[wbuf_] - write_done_),
                            d_->data_offset_ + offset_ + written + write_done_);
    }

    void on_write(int res, uint32_t) noexcept {
        if (res == -EINTR || res == -EAGAIN) {
            issue_write();
            return;
        }
        if (res <= 0) {
            write_in_flight_ = false;
            error_ = res == 0 ? Status(Code::io_error, "cache write made no progress")
                              : status_from_errno(res, "cache file write");
            fatal_ = true;  // a local disk problem is not fixed by refetching
            if (transfer_active_) {
                d_->client_->cancel(tid_);
                transfer_active_ = false;
            }
            settle();
            return;
        }
        write_done_ += static_cast<size_t>(res);
        if (write_done_ < fill_[wbuf_]) {
            issue_write();  // short write: the rest
            return;
        }
        uint64_t w = d_->written_[index_].load(std::memory_order_relaxed) + fill_[wbuf_];
        d_->written_[index_].store(w, std::memory_order_release);
        fill_[wbuf_] = 0;
        write_in_flight_ = false;
        if (!aborted_) d_->notify_waiters();
        if (!aborted_ && error_.ok() && fill_[cur_] == ws_) submit_write();
        if (paused_ && transfer_active_) {
            paused_ = false;
            d_->client_->resume(tid_);
        }
        settle();
    }

    void maybe_retire() noexcept {
        if (!transfer_active_ && !write_in_flight_ && !retired_) {
            retired_ = true;
            d_->chunk_done(this, Status(Code::cancelled, "aborted"));
        }
    }

    std::shared_ptr<Download> d_;
    const size_t index_;
    const uint64_t offset_;
    const uint64_t length_;
    const size_t ws_;
    std::unique_ptr<char[]> bufs_[2];
    size_t fill_[2] = {0, 0};
    int cur_ = 0;
    int wbuf_ = 0;
    size_t write_done_ = 0;
    bool write_in_flight_ = false;
    uint64_t queued_ = 0;  // chunk-relative position of the next byte to arrive
    bool paused_ = false;
    bool transfer_active_ = false;
    bool http_ok_ = false;
    bool fatal_ = false;
    bool aborted_ = false;
    bool retired_ = false;
    unsigned attempt_ = 0;
    Status error_;
    s3::CurlClient::TransferId tid_ = 0;
    ring::Ring::TimerId retry_timer_;
    ring::MemberOp<ChunkFetcher, &ChunkFetcher::on_write> write_op_{this};
};

Download::Download(std::string name, uint64_t size, DownloadOptions options)
    : name_(std::move(name)), size_(size), options_(std::move(options)) {
    plan_ = plan_chunks(size_, options_.planner);
    written_.reset(new std::atomic<uint64_t>[plan_.chunks.size() + 1]);
    for (size_t i = 0; i <= plan_.chunks.size(); ++i)
        written_[i].store(0);
    chunk_started_.assign(plan_.chunks.size(), 0);
}

Download::~Download() {
    if (fd_ >= 0) ::close(fd_);
    if (read_fd_ >= 0) ::close(read_fd_);
}

Status Download::failure() const {
    std::lock_guard lk(mu_);
    return failure_;
}

void Download::attach_file(int write_fd, int read_fd, uint64_t data_offset) {
    fd_ = write_fd;
    read_fd_ = read_fd;
    data_offset_ = data_offset;
    set_state(State::running);
}

void Download::set_state(State s) {
    state_.store(s, std::memory_order_release);
    notify_waiters();
}

void Download::notify_waiters() {
    std::vector<Waiter> ws;
    {
        std::lock_guard lk(mu_);
        ws.swap(waiters_);
    }
    for (auto& w : ws)
        w.ring->post(std::move(w.wake));
}

uint64_t Download::available_from(uint64_t pos) const noexcept {
    if (pos >= size_ || plan_.chunk_size == 0) return 0;
    size_t i = static_cast<size_t>(pos / plan_.chunk_size);
    uint64_t start = plan_.chunks[i].offset;
    uint64_t w = written_[i].load(std::memory_order_acquire);
    return start + w > pos ? start + w - pos : 0;
}

bool Download::wait(uint64_t pos, ring::Ring& ring, std::function<void()> wake) {
    std::lock_guard lk(mu_);
    State s = state_.load(std::memory_order_acquire);
    if (s == State::complete || s == State::failed) return false;
    if (s == State::running && available_from(pos) > 0) return false;
    waiters_.push_back({pos, &ring, std::move(wake)});
    return true;
}

void Download::prioritize(uint64_t pos) noexcept {
    if (plan_.chunk_size == 0 || pos >= size_) return;
    priority_chunk_.store(static_cast<size_t>(pos / plan_.chunk_size), std::memory_order_relaxed);
}

void Download::start(ring::Ring& ring, s3::CurlClient& client, RangeRequestFactory factory,
                     std::function<void(const Status&)> on_finished) {
    ring_ = &ring;
    client_ = &client;
    factory_ = std::move(factory);
    on_finished_ = std::move(on_finished);
    if (plan_.chunks.empty()) {
        auto self = shared_from_this();
        ring.defer([self] { self->finish(Status()); });
        return;
    }
    pump();
}

void Download::pump() {
    if (finished_) return;
    while (active_.size() < plan_.concurrency) {
        size_t next = SIZE_MAX;
        size_t pri = priority_chunk_.exchange(SIZE_MAX, std::memory_order_relaxed);
        if (pri < chunk_started_.size() && !chunk_started_[pri]) next = pri;
        if (next == SIZE_MAX) {
            for (size_t i = 0; i < chunk_started_.size(); ++i)
                if (!chunk_started_[i]) {
                    next = i;
                    break;
                }
        }
        if (next == SIZE_MAX) return;
        chunk_started_[next] = 1;
        active_.push_back(std::make_unique<ChunkFetcher>(shared_from_this(), next));
        active_.back()->start();
    }
}

void Download::chunk_done(ChunkFetcher* f, const Status& status) {
    // The fetcher is still on its own call stack: free it on the next turn.
    for (auto it = active_.begin(); it != active_.end(); ++it) {
        if (it->get() == f) {
            std::unique_ptr<ChunkFetcher> dead = std::move(*it);
            active_.erase(it);
            ring_->dispose_later(std::move(dead));
            break;
        }
    }
    if (finished_) return;
    if (!status.ok()) {
        finish(status);
        return;
    }
    ++chunks_done_;
    if (chunks_done_ == plan_.chunks.size())
        finish(Status());
    else
        pump();
}

void Download::fail(Status why) {
    if (ring_ != nullptr) {
        finish(why);
        return;
    }
    {
        std::lock_guard lk(mu_);
        failure_ = std::move(why);
    }
    finished_ = true;
    set_state(State::failed);
}

void Download::abandon() {
    finish(Status(Code::cancelled, "abandoned: every reader left"));
}

void Download::finish(const Status& status) {
    if (finished_) return;
    finished_ = true;
    if (!status.ok()) {
        {
            std::lock_guard lk(mu_);
            failure_ = status;
        }
        // abort() may retire a fetcher synchronously, which edits active_.
        std::vector<ChunkFetcher*> live;
        for (auto& f : active_)
            live.push_back(f.get());
        for (auto* f : live)
            f->abort();
        set_state(State::failed);
    } else {
        set_state(State::complete);
    }
    auto cb = std::move(on_finished_);
    if (cb) cb(status);
}

std::pair<std::shared_ptr<Download>, bool> DownloadManager::get_or_create(
    const std::string& key, const std::function<std::shared_ptr<Download>()>& make) {
    std::lock_guard lk(mu_);
    auto it = downloads_.find(key);
    if (it != downloads_.end()) return {it->second, false};
    auto d = make();
    downloads_.emplace(key, d);
    return {d, true};
}

void DownloadManager::remove(const std::string& key, const Download* d) {
    std::lock_guard lk(mu_);
    auto it = downloads_.find(key);
    if (it != downloads_.end() && it->second.get() == d) downloads_.erase(it);
}

size_t DownloadManager::active() const {
    std::lock_guard lk(mu_);
    return downloads_.size();
}

}  // namespace xs3::fetch
