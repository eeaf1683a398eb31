// Server: the emulator's HTTP/1.1 front on io_uring. One worker thread per --threads, each with its
// own Ring, SO_REUSEPORT listener (multishot accept, re-armed when a CQE comes without F_MORE) and
// connections. A connection has at most one recv or send in flight; latency, pacing and stalls are
// ring timers, never sleeps. Body bytes are generated into the connection's send buffer from the
// pattern, so nothing is read from disk.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catalog.hpp"
#include "faults.hpp"
#include "handler.hpp"
#include "stats.hpp"
#include "xs3/base/status.hpp"

namespace xs3::s3emu {

struct ServerOptions {
    std::string bind = "127.0.0.1";
    uint16_t port = 9000;  // 0: pick a free port (all workers then share it)
    unsigned threads = 1;
    std::chrono::microseconds latency{0};  // before the first byte of every S3 reply
    std::chrono::microseconds jitter{0};   // plus uniform [0, jitter), from the seed
    uint64_t conn_bandwidth = 0;           // bytes/s per connection, 0: unlimited
    uint64_t total_bandwidth = 0;          // bytes/s over all connections, 0: unlimited
    uint64_t max_connections = 0;          // beyond it requests get 503 SlowDown; 0: unlimited
    size_t send_buffer = 256 * 1024;
    uint64_t seed = 1;
};

// Shared pacing for --total-bandwidth: each send reserves its slot on one timeline.
class BandwidthGate {
  public:
    explicit BandwidthGate(uint64_t bytes_per_second) : rate_(bytes_per_second) {}
    bool enabled() const noexcept { return rate_ != 0; }
    // When `bytes` may start going out (never earlier than now).
    std::chrono::steady_clock::time_point reserve(size_t bytes) noexcept;

  private:
    uint64_t rate_;
    std::atomic<int64_t> next_ns_{0};
};

class Worker;

class Server {
  public:
    Server(ServerOptions options, Catalog& catalog, FaultPlan& faults, Stats& stats,
           HandlerOptions handler_options);
    ~Server();

    // Binds every worker's listener and starts the threads.
    Status start();
    uint16_t port() const noexcept { return port_; }
    // Asks every worker to stop and joins them.
    void stop();

    const ServerOptions& options() const noexcept { return options_; }
    Catalog& catalog() noexcept { return catalog_; }
    FaultPlan& faults() noexcept { return faults_; }
    Stats& stats() noexcept { return stats_; }
    const HandlerOptions& handler_options() const noexcept { return handler_options_; }
    BandwidthGate& total_gate() noexcept { return total_gate_; }
    uint64_t next_request_seq() noexcept { return request_seq_.fetch_add(1) + 1; }

  private:
    ServerOptions options_;
    Catalog& catalog_;
    FaultPlan& faults_;
    Stats& stats_;
    HandlerOptions handler_options_;
    BandwidthGate total_gate_;
    std::atomic<uint64_t> request_seq_{0};
    uint16_t port_ = 0;
    std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace xs3::s3emu
