// TraceWriter: a bounded multi-producer queue (Vyukov's array queue: a sequence number per cell,
// producers claim a position with one CAS, the single consumer needs none) and the thread that
// empties it into the trace file.
#include "xs3/ops/trace_writer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>

#include "xs3/base/log.hpp"
#include "xs3/base/unique_fd.hpp"
#include "xs3_build_config.h"

namespace xs3::ops {

struct TraceWriter::State {
    struct Cell {
        std::atomic<size_t> seq{0};
        std::string line;
    };

    TraceWriterOptions options;
    std::unique_ptr<Cell[]> cells;
    size_t mask = 0;
    alignas(64) std::atomic<size_t> enqueue_pos{0};
    alignas(64) size_t dequeue_pos = 0;  // the thread only

    UniqueFd fd;   // the thread only (after start)
    UniqueFd efd;  // wakes the thread for reopen and stop
    std::atomic<bool> reopen_wanted{false};
    std::atomic<bool> stop_wanted{false};
    std::atomic<uint64_t> written{0};
    std::atomic<uint64_t> dropped{0};
    std::atomic<uint64_t> reopened{0};
    std::atomic<uint64_t> write_errors{0};
    uint64_t dropped_reported = 0;  // the thread only

    std::mutex done_mu;
    std::condition_variable done_cv;
    bool done = false;
    bool stopped = false;  // stop() ran (under done_mu)
    std::thread thread;

    bool push(std::string& line) noexcept {
        size_t pos = enqueue_pos.load(std::memory_order_relaxed);
        Cell* c;
        for (;;) {
            c = &cells[pos & mask];
            size_t seq = c->seq.load(std::memory_order_acquire);
            auto dif = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
            if (dif == 0) {
                if (enqueue_pos.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed))
                    break;
            } else if (dif < 0) {
                return false;  // full: the consumer has not freed this cell yet
            } else {
                pos = enqueue_pos.load(std::memory_order_relaxed);
            }
        }
        c->line = std::move(line);
        c->seq.store(pos + 1, std::memory_order_release);
        return true;
    }

    bool pop(std::string& out) noexcept {
        Cell& c = cells[dequeue_pos & mask];
        size_t seq = c.seq.load(std::memory_order_acquire);
        if (static_cast<intptr_t>(seq) - static_cast<intptr_t>(dequeue_pos + 1) < 0) return false;
        // Moved out so its memory is freed here, not by the producer that reuses the cell.
        std::string line = std::move(c.line);
        out.append(line);
        c.seq.store(dequeue_pos + mask + 1, std::memory_order_release);
        ++dequeue_pos;
        return true;
    }

    static int open_path(const std::string& path) {
        return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }

    std::string open_line() const {
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        uint64_t wall_us = static_cast<uint64_t>(wall.tv_sec) * 1000000u +
                           static_cast<uint64_t>(wall.tv_nsec) / 1000u;
        std::string line = "{\"t\":" + std::to_string(trace::now_us()) +
                           ",\"w\":-1,\"ev\":\"trace.open\",\"pid\":" + std::to_string(::getpid()) +
                           ",\"wall_us\":" + std::to_string(wall_us) + ",\"version\":";
        trace::detail::append_string(line, XS3_VERSION);
        line += ",\"path\":";
        trace::detail::append_string(line, options.path);
        line += "}\n";
        return line;
    }

    // Writes everything or gives up on this batch (counted): a trace must never hold the
    // process back, and a partial line at worst breaks one line.
    void write_out(std::string& buf) {
        const char* p = buf.data();
        size_t n = buf.size();
        while (n > 0) {
            ssize_t w = ::write(fd.get(), p, n);
            if (w < 0) {
                if (errno == EINTR) continue;
                write_errors.fetch_add(1, std::memory_order_relaxed);
                break;
            }
            p += w;
            n -= static_cast<size_t>(w);
        }
        buf.clear();
    }

    void do_reopen(std::string& buf) {
        UniqueFd nfd(open_path(options.path));
        if (!nfd) {
            int e = errno;
            write_errors.fetch_add(1, std::memory_order_relaxed);
            XS3_LOG_WARN("cannot reopen the trace file; still writing the old one",
                         kv("path", options.path), kv("error", std::string(strerror(e))));
            return;
        }
        fd = std::move(nfd);
        reopened.fetch_add(1, std::memory_order_relaxed);
        buf += open_line();
        XS3_LOG_INFO("trace file reopened", kv("path", options.path));
    }

    // Moves queued lines into buf (writing every ~1 MiB); returns how many.
    size_t drain(std::string& buf) {
        size_t n = 0;
        while (pop(buf)) {
            ++n;
            if (buf.size() >= (1u << 20)) {
                written.fetch_add(n, std::memory_order_relaxed);
                n = 0;
                write_out(buf);
            }
        }
        written.fetch_add(n, std::memory_order_relaxed);
        return n;
    }

    void report_drops(std::string& buf) {
        uint64_t d = dropped.load(std::memory_order_relaxed);
        if (d == dropped_reported) return;
        buf +=
            "{\"t\":" + std::to_string(trace::now_us()) +
            ",\"w\":-1,\"ev\":\"trace.dropped\",\"count\":" + std::to_string(d - dropped_reported) +
            ",\"total\":" + std::to_string(d) + "}\n";
        dropped_reported = d;
    }

    void run() {
        std::string buf;
        auto sleep = std::chrono::milliseconds(1);
        for (;;) {
            bool stop = stop_wanted.load(std::memory_order_acquire);
            if (reopen_wanted.exchange(false, std::memory_order_acq_rel)) {
                write_out(buf);
                do_reopen(buf);
            }
            size_t n = drain(buf);
            report_drops(buf);
            if (!buf.empty()) write_out(buf);
            if (stop) break;
            if (n > mask / 4) continue;  // busy: go round again at once
            // Sleep longer while nothing comes (a trace may be on for days on an idle proxy);
            // reopen and stop wake us through the eventfd. Producers never make a system call.
            sleep = n > 0 ? std::chrono::milliseconds(1) : std::min(sleep * 2, options.max_idle);
            pollfd p{efd.get(), POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(sleep.count())) > 0) {
                uint64_t v;
                (void)!::read(efd.get(), &v, sizeof v);
            }
        }
        std::lock_guard lk(done_mu);
        done = true;
        done_cv.notify_all();
    }

    void wake() noexcept {
        uint64_t one = 1;
        (void)!::write(efd.get(), &one, sizeof one);
    }
};

Result<std::unique_ptr<TraceWriter>> TraceWriter::start(TraceWriterOptions options) {
    auto st = std::make_shared<State>();
    size_t cap = 2;
    while (cap < options.queue_events)
        cap <<= 1;
    st->options = std::move(options);
    st->cells = std::make_unique<State::Cell[]>(cap);
    for (size_t i = 0; i < cap; ++i)
        st->cells[i].seq.store(i, std::memory_order_relaxed);
    st->mask = cap - 1;
    st->fd.reset(State::open_path(st->options.path));
    if (!st->fd) return status_from_errno(-errno, "--debug-trace: cannot open " + st->options.path);
    st->efd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!st->efd) return status_from_errno(-errno, "eventfd for the trace writer");
    std::string first = st->open_line();
    st->write_out(first);
    st->thread = std::thread([st] {
        set_log_worker_id(-1);
        st->run();
    });
    return std::unique_ptr<TraceWriter>(new TraceWriter(std::move(st)));
}

TraceWriter::TraceWriter(std::shared_ptr<State> state) : state_(std::move(state)) {}

TraceWriter::~TraceWriter() {
    stop();
}

void TraceWriter::submit(std::string line) noexcept {
    if (!state_->push(line)) state_->dropped.fetch_add(1, std::memory_order_relaxed);
}

void TraceWriter::reopen() noexcept {
    state_->reopen_wanted.store(true, std::memory_order_release);
    state_->wake();
}

void TraceWriter::stop(std::chrono::milliseconds deadline) {
    std::unique_lock lk(state_->done_mu);
    if (state_->stopped) return;
    state_->stopped = true;
    state_->stop_wanted.store(true, std::memory_order_release);
    state_->wake();
    bool finished = state_->done_cv.wait_for(lk, deadline, [&] { return state_->done; });
    lk.unlock();
    if (finished) {
        state_->thread.join();
    } else {
        XS3_LOG_WARN("the trace file does not take writes; leaving its writer behind",
                     kv("path", state_->options.path));
        state_->thread.detach();  // it holds the state; the process is ending anyway
    }
}

TraceWriter::Stats TraceWriter::stats() const noexcept {
    Stats s;
    s.written = state_->written.load(std::memory_order_relaxed);
    s.dropped = state_->dropped.load(std::memory_order_relaxed);
    s.reopened = state_->reopened.load(std::memory_order_relaxed);
    s.write_errors = state_->write_errors.load(std::memory_order_relaxed);
    return s;
}

const std::string& TraceWriter::path() const noexcept {
    return state_->options.path;
}

}  // namespace xs3::ops
