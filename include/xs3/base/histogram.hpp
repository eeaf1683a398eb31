// Latency histograms for /metrics: fixed buckets, counted without locks.
//
// A HistogramFamily is one metric name (xs3_request_duration_seconds) with its label names and
// bucket bounds; its series (one per combination of label values) are made at set-up time and
// observed on the hot path. Families register themselves in a process-wide list the /metrics
// page walks (ops/prometheus renders them), so any layer can own its histograms.
//
// observe() is a short scan of the bounds and two relaxed fetch_adds on counters of the calling
// thread's shard: each worker thread counts on its own cache lines, so rings never contend.
// A snapshot sums the shards; it may miss an observation in flight, never double-count one.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace xs3 {

class Histogram {
  public:
    static constexpr size_t kMaxBounds = 24;
    static constexpr size_t kShards = 8;

    // Bounds: ascending upper bounds in microseconds (at most kMaxBounds); +Inf is implied.
    explicit Histogram(std::vector<uint64_t> bounds_us);
    Histogram(const Histogram&) = delete;
    Histogram& operator=(const Histogram&) = delete;

    void observe_us(uint64_t us) noexcept;
    void observe(std::chrono::steady_clock::duration d) noexcept {
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
        observe_us(us < 0 ? 0 : static_cast<uint64_t>(us));
    }

    struct Snapshot {
        std::vector<uint64_t> bounds_us;
        std::vector<uint64_t> cumulative;  // per bound, then +Inf (== count)
        uint64_t count = 0;
        uint64_t sum_us = 0;
    };
    Snapshot snapshot() const;
    const std::vector<uint64_t>& bounds_us() const noexcept { return bounds_; }

  private:
    struct alignas(64) Shard {
        std::array<std::atomic<uint64_t>, kMaxBounds + 1> counts{};
        std::atomic<uint64_t> sum_us{0};
    };
    std::vector<uint64_t> bounds_;
    std::unique_ptr<Shard[]> shards_;
};

class HistogramFamily {
  public:
    // Registers the family (the object must live as long as the process may render /metrics:
    // make it a static). Label names must be valid Prometheus label names.
    HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                    std::vector<uint64_t> bounds_us);
    HistogramFamily(const HistogramFamily&) = delete;
    HistogramFamily& operator=(const HistogramFamily&) = delete;

    // The series for these label values (one per label name), made on first ask. Not for the
    // hot path: keep the reference.
    Histogram& series(const std::vector<std::string>& label_values);

    const std::string& name() const noexcept { return name_; }
    const std::string& help() const noexcept { return help_; }
    const std::vector<std::string>& label_names() const noexcept { return label_names_; }
    struct Series {
        Series(std::vector<std::string> values, std::vector<uint64_t> bounds_us)
            : label_values(std::move(values)), histogram(std::move(bounds_us)) {}
        std::vector<std::string> label_values;
        Histogram histogram;
    };
    // Every series made so far, in the order made.
    std::vector<const Series*> all_series() const;

  private:
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    std::vector<uint64_t> bounds_;
    mutable std::mutex mu_;
    std::deque<Series> series_;  // never moves an element: references stay valid
};

// Every registered family, in registration order.
std::vector<HistogramFamily*> histogram_families();

// Bucket bounds in microseconds: 100 µs .. 60 s, for request and origin latencies.
std::vector<uint64_t> latency_bounds_us();

}  // namespace xs3
