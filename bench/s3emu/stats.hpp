// Stats: the emulator's counters, shared by all worker threads (relaxed atomics), rendered as the
// JSON of GET /__stats. Counters add up: the per-status counts sum to requests_total and the
// per-object body bytes sum to body_bytes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "catalog.hpp"
#include "faults.hpp"

namespace xs3::s3emu {

enum class StatMethod { get = 0, head = 1, other = 2 };

class Stats {
  public:
    void record_response(StatMethod m, int status) noexcept;
    void add_ranged() noexcept { ranged_.fetch_add(1, std::memory_order_relaxed); }
    void add_body_bytes(uint64_t n) noexcept {
        body_bytes_.fetch_add(n, std::memory_order_relaxed);
    }
    void add_head_bytes(uint64_t n) noexcept {
        head_bytes_.fetch_add(n, std::memory_order_relaxed);
    }
    void add_truncated() noexcept { truncated_.fetch_add(1, std::memory_order_relaxed); }
    void connection_opened() noexcept;
    void connection_closed() noexcept { conn_current_.fetch_sub(1, std::memory_order_relaxed); }
    void connection_rejected() noexcept { conn_rejected_.fetch_add(1, std::memory_order_relaxed); }

    uint64_t requests_total() const noexcept;
    uint64_t count(StatMethod m, int status) const noexcept;
    uint64_t body_bytes() const noexcept { return body_bytes_.load(std::memory_order_relaxed); }
    int64_t connections_current() const noexcept { return conn_current_.load(); }
    int64_t connections_peak() const noexcept { return conn_peak_.load(); }

    // Zeroes everything but the current connection count; the peak restarts from it. Also
    // zeroes the per-object counters and fault fire counts.
    void reset(Catalog& catalog, FaultPlan& faults) noexcept;
    std::string to_json(Catalog& catalog, const FaultPlan& faults) const;

  private:
    static constexpr int kStatuses = 600;
    std::array<std::array<std::atomic<uint64_t>, kStatuses>, 3> by_status_{};
    std::atomic<uint64_t> ranged_{0};
    std::atomic<uint64_t> body_bytes_{0};
    std::atomic<uint64_t> head_bytes_{0};
    std::atomic<uint64_t> truncated_{0};
    std::atomic<int64_t> conn_current_{0};
    std::atomic<int64_t> conn_peak_{0};
    std::atomic<uint64_t> conn_accepted_{0};
    std::atomic<uint64_t> conn_rejected_{0};
};

}  // namespace xs3::s3emu
