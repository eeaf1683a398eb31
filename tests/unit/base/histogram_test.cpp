// Tests of the lock-free histograms: bucket placement at the bounds, cumulative snapshots, sums,
// counts from many threads, and the family registry.
#include "xs3/base/histogram.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "xs3/base/log.hpp"

using namespace xs3;

TEST_CASE("observations land in the first bucket whose bound they do not exceed") {
    Histogram h({10, 100, 1000});
    for (uint64_t us : {0, 10, 11, 100, 101, 1000, 1001, 5000000})
        h.observe_us(us);
    auto s = h.snapshot();
    REQUIRE(s.cumulative.size() == 4);
    CHECK(s.cumulative[0] == 2);  // 0, 10
    CHECK(s.cumulative[1] == 4);  // + 11, 100
    CHECK(s.cumulative[2] == 6);  // + 101, 1000
    CHECK(s.cumulative[3] == 8);  // + 1001, 5 s (+Inf)
    CHECK(s.count == 8);
    CHECK(s.sum_us == 0 + 10 + 11 + 100 + 101 + 1000 + 1001 + 5000000);
    h.observe(std::chrono::milliseconds(2));
    CHECK(h.snapshot().cumulative[2] == 6);
    CHECK(h.snapshot().count == 9);
}

TEST_CASE("bounds must ascend and fit") {
    CHECK_THROWS(Histogram({10, 10}));
    CHECK_THROWS(Histogram(std::vector<uint64_t>(Histogram::kMaxBounds + 1, 1)));
    CHECK(latency_bounds_us().size() <= Histogram::kMaxBounds);
    auto b = latency_bounds_us();
    CHECK(std::is_sorted(b.begin(), b.end()));
}

TEST_CASE("threads counting at once lose nothing") {
    Histogram h({100, 1000});
    constexpr int kThreads = 6, kEach = 20000;
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
        ts.emplace_back([&h, t] {
            set_log_worker_id(t);  // workers count on their own shards
            for (int i = 0; i < kEach; ++i)
                h.observe_us(static_cast<uint64_t>(i % 3) * 500);  // 0, 500, 1000
        });
    // Snapshots while they run never go backwards.
    uint64_t last = 0;
    for (int i = 0; i < 50; ++i) {
        uint64_t c = h.snapshot().count;
        CHECK(c >= last);
        last = c;
    }
    for (auto& t : ts)
        t.join();
    auto s = h.snapshot();
    CHECK(s.count == uint64_t{kThreads} * kEach);
    uint64_t zeros = 0;
    for (int i = 0; i < kEach; ++i)
        zeros += i % 3 == 0;
    CHECK(s.cumulative[0] == kThreads * zeros);
    CHECK(s.cumulative[1] == uint64_t{kThreads} * kEach);
}

TEST_CASE("a family registers itself and keeps one series per label values") {
    static HistogramFamily fam("xs3_test_family_seconds", "help", {"outcome"}, {1000});
    Histogram& ok = fam.series({"ok"});
    CHECK(&fam.series({"ok"}) == &ok);
    Histogram& bad = fam.series({"bad"});
    CHECK(&bad != &ok);
    CHECK_THROWS(fam.series({"a", "b"}));
    auto all = fam.all_series();
    REQUIRE(all.size() == 2);
    CHECK(all[0]->label_values == std::vector<std::string>{"ok"});
    auto fams = histogram_families();
    CHECK(std::find(fams.begin(), fams.end(), &fam) != fams.end());
}
