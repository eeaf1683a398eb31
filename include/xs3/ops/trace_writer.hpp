// TraceWriter: the sink of --debug-trace (base/trace.hpp). Events reach it from any thread
// through a bounded lock-free queue and are written to the trace file by one thread of its own,
// so a ring never waits for the disk: when the queue is full an event is dropped and counted
// (and the file gets a "trace.dropped" line saying how many went missing).
//
// The file is opened for appending; reopen() (SIGHUP, or POST /debug/trace/reopen on the admin
// listener) makes the thread open the path again, so a rotated or removed file is replaced by a
// new one. Every opening starts with a "trace.open" line that ties the monotonic clock of the
// events to the wall clock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "xs3/base/status.hpp"
#include "xs3/base/trace.hpp"

namespace xs3::ops {

struct TraceWriterOptions {
    std::string path;
    // Events the queue holds (rounded up to a power of two, at least 2).
    size_t queue_events = 65536;
    // The longest the thread sleeps when there is nothing to write (it sleeps less while
    // events keep coming), i.e. how stale the file may be.
    std::chrono::milliseconds max_idle{100};
};

class TraceWriter final : public trace::Sink {
  public:
    // Opens the file (the error names it) and starts the thread.
    static Result<std::unique_ptr<TraceWriter>> start(TraceWriterOptions options);
    ~TraceWriter();  // stop()
    TraceWriter(const TraceWriter&) = delete;
    TraceWriter& operator=(const TraceWriter&) = delete;

    // Queues one line; drops it (counted) when the queue is full. Never blocks.
    void submit(std::string line) noexcept override;
    // Asks the thread to reopen the path (rotation). Returns at once.
    void reopen() noexcept;
    // Writes what is queued and stops the thread, waiting at most `deadline` for a file that
    // does not take writes (a full pipe, a hung mount); then the thread is left behind, and
    // what it still holds is lost. Idempotent.
    void stop(std::chrono::milliseconds deadline = std::chrono::milliseconds(2000));

    struct Stats {
        uint64_t written = 0;       // lines written
        uint64_t dropped = 0;       // lines dropped because the queue was full
        uint64_t reopened = 0;      // successful reopenings
        uint64_t write_errors = 0;  // failed writes or reopenings
    };
    Stats stats() const noexcept;
    const std::string& path() const noexcept;

    struct State;

  private:
    explicit TraceWriter(std::shared_ptr<State> state);
    std::shared_ptr<State> state_;  // shared with the thread, which may outlive us (see stop)
};

}  // namespace xs3::ops
