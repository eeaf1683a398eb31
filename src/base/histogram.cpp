// Histogram and the registry of histogram families.
#include "xs3/base/histogram.hpp"

#include <stdexcept>

#include "xs3/base/log.hpp"

namespace xs3 {
namespace {

std::atomic<unsigned> g_next_shard{0};

// A worker counts on the shard of its id (workers never share one unless there are more than
// kShards); other threads take one in turn.
size_t this_thread_shard() noexcept {
    thread_local int shard = -1;
    if (shard < 0) {
        int w = log_worker_id();
        shard = w >= 0 ? w % static_cast<int>(Histogram::kShards)
                       : static_cast<int>(g_next_shard.fetch_add(1, std::memory_order_relaxed) %
                                          Histogram::kShards);
    }
    return static_cast<size_t>(shard);
}

struct Registry {
    std::mutex mu;
    std::vector<HistogramFamily*> families;
};

Registry& registry() {
    static Registry* r = new Registry();  // never destroyed: families are statics
    return *r;
}

}  // namespace

Histogram::Histogram(std::vector<uint64_t> bounds_us)
    : bounds_(std::move(bounds_us)), shards_(std::make_unique<Shard[]>(kShards)) {
    if (bounds_.size() > kMaxBounds) throw std::invalid_argument("too many histogram bounds");
    for (size_t i = 1; i < bounds_.size(); ++i)
        if (bounds_[i] <= bounds_[i - 1])
            throw std::invalid_argument("histogram bounds must ascend");
}

void Histogram::observe_us(uint64_t us) noexcept {
    size_t i = 0;
    while (i < bounds_.size() && us > bounds_[i])
        ++i;
    Shard& s = shards_[this_thread_shard()];
    s.counts[i].fetch_add(1, std::memory_order_relaxed);
    s.sum_us.fetch_add(us, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot snap;
    snap.bounds_us = bounds_;
    snap.cumulative.assign(bounds_.size() + 1, 0);
    for (size_t sh = 0; sh < kShards; ++sh) {
        const Shard& s = shards_[sh];
        for (size_t i = 0; i <= bounds_.size(); ++i)
            snap.cumulative[i] += s.counts[i].load(std::memory_order_relaxed);
        snap.sum_us += s.sum_us.load(std::memory_order_relaxed);
    }
    for (size_t i = 1; i < snap.cumulative.size(); ++i)
        snap.cumulative[i] += snap.cumulative[i - 1];
    snap.count = snap.cumulative.back();
    return snap;
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names,
                                 std::vector<uint64_t> bounds_us)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds_us)) {
    Registry& r = registry();
    std::lock_guard lk(r.mu);
    r.families.push_back(this);
}

Histogram& HistogramFamily::series(const std::vector<std::string>& label_values) {
    if (label_values.size() != label_names_.size())
        throw std::invalid_argument("histogram " + name_ + ": wrong number of label values");
    std::lock_guard lk(mu_);
    for (auto& s : series_)
        if (s.label_values == label_values) return s.histogram;
    series_.emplace_back(label_values, bounds_);
    return series_.back().histogram;
}

std::vector<const HistogramFamily::Series*> HistogramFamily::all_series() const {
    std::lock_guard lk(mu_);
    std::vector<const Series*> out;
    out.reserve(series_.size());
    for (const auto& s : series_)
        out.push_back(&s);
    return out;
}

std::vector<HistogramFamily*> histogram_families() {
    Registry& r = registry();
    std::lock_guard lk(r.mu);
    return r.families;
}

std::vector<uint64_t> latency_bounds_us() {
    return {100,    250,    500,    1000,    2500,    5000,    10000,    25000,    50000,
            100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000};
}

}  // namespace xs3
