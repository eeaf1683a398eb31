// Tests of the trace emit interface: nothing is evaluated or sent while off; lines are one JSON
// object each with t, w and ev first, strings escaped, numbers bare.
#include "xs3/base/trace.hpp"

#include <doctest/doctest.h>

#include <mutex>
#include <string>
#include <vector>

#include "xs3/base/log.hpp"

using namespace xs3;

namespace {

struct Capture final : trace::Sink {
    std::mutex mu;
    std::vector<std::string> lines;
    void submit(std::string line) noexcept override {
        std::lock_guard lk(mu);
        lines.push_back(std::move(line));
    }
};

// The line without its "t" value, which changes: {"t":<digits>,... -> {"t":T,...
std::string without_time(const std::string& line) {
    REQUIRE(line.rfind("{\"t\":", 0) == 0);
    size_t comma = line.find(',');
    REQUIRE(comma != std::string::npos);
    for (size_t i = 5; i < comma; ++i)
        REQUIRE(isdigit(static_cast<unsigned char>(line[i])));
    return "{\"t\":T" + line.substr(comma);
}

struct Installed {
    explicit Installed(trace::Sink* s) { trace::install(s); }
    ~Installed() { trace::install(nullptr); }
};

}  // namespace

TEST_CASE("off: XS3_TRACE evaluates nothing and sends nothing") {
    REQUIRE_FALSE(trace::enabled());
    int evaluated = 0;
    auto costly = [&] {
        ++evaluated;
        return 1;
    };
    XS3_TRACE("x", trace::f("n", costly()));
    CHECK(evaluated == 0);
}

TEST_CASE("on: one JSON object per line, fields in order, strings escaped") {
    Capture cap;
    Installed on(&cap);
    REQUIRE(trace::enabled());
    set_log_worker_id(3);
    XS3_TRACE("req.recv", trace::f("req", uint64_t{42}), trace::f("stream", int32_t{-1}),
              trace::f("ok", true), trace::f("target", std::string("/a\"b\\c\n\x01")),
              trace::f("proto", "h1"), trace::f("ratio", 0.25));
    set_log_worker_id(-1);
    XS3_TRACE("cache.evict", trace::f("key", std::string_view("abc")));
    REQUIRE(cap.lines.size() == 2);
    CHECK(without_time(cap.lines[0]) ==
          "{\"t\":T,\"w\":3,\"ev\":\"req.recv\",\"req\":42,\"stream\":-1,\"ok\":true,"
          "\"target\":\"/a\\\"b\\\\c\\u000a\\u0001\",\"proto\":\"h1\",\"ratio\":0.25}\n");
    CHECK(without_time(cap.lines[1]) ==
          "{\"t\":T,\"w\":-1,\"ev\":\"cache.evict\",\"key\":\"abc\"}\n");
}

TEST_CASE("timestamps are monotonic microseconds; ids are unique and never 0") {
    uint64_t a = trace::now_us();
    uint64_t b = trace::now_us();
    CHECK(b >= a);
    CHECK(a > 0);
    uint64_t i = trace::next_id(), j = trace::next_id();
    CHECK(i != 0);
    CHECK(j != i);
}
