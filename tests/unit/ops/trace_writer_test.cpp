// Tests of the trace writer: every line written once and whole, in each producer's order, from
// many threads; a full queue drops and counts instead of waiting; reopen starts a new file;
// stop() flushes, and gives up on a file that takes no writes.
#include "xs3/ops/trace_writer.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace xs3;
using namespace xs3::ops;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
    char tmpl[] = "/tmp/xs3-trace-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    return tmpl;
}

std::vector<std::string> read_lines(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

std::string line_of(int producer, int n) {
    return "{\"t\":1,\"w\":" + std::to_string(producer) +
           ",\"ev\":\"x\",\"n\":" + std::to_string(n) + "}\n";
}

}  // namespace

TEST_CASE("a trace file starts with trace.open; stop writes everything queued") {
    fs::path dir = temp_dir();
    auto w = TraceWriter::start({(dir / "t.jsonl").string(), 1024});
    REQUIRE(w.ok());
    for (int i = 0; i < 100; ++i)
        (*w)->submit(line_of(0, i));
    (*w)->stop();
    auto lines = read_lines(dir / "t.jsonl");
    REQUIRE(lines.size() == 101);
    CHECK(lines[0].find("\"ev\":\"trace.open\"") != std::string::npos);
    CHECK(lines[0].find("\"pid\":" + std::to_string(getpid())) != std::string::npos);
    CHECK(lines[0].find("\"wall_us\":") != std::string::npos);
    for (int i = 0; i < 100; ++i)
        CHECK(lines[static_cast<size_t>(i) + 1] + "\n" == line_of(0, i));
    auto st = (*w)->stats();
    CHECK(st.written == 100);
    CHECK(st.dropped == 0);
    fs::remove_all(dir);
}

TEST_CASE("a file that cannot be opened is a clear error") {
    auto w = TraceWriter::start({"/nonexistent-dir/x/t.jsonl", 16});
    REQUIRE_FALSE(w.ok());
    CHECK(w.status().message().find("/nonexistent-dir/x/t.jsonl") != std::string::npos);
}

TEST_CASE("many producers: every line once, whole, in each producer's order") {
    fs::path dir = temp_dir();
    constexpr int kProducers = 4, kEach = 20000;
    // Big enough that nothing is dropped: this checks delivery, not the bound.
    auto w = TraceWriter::start({(dir / "t.jsonl").string(), kProducers * kEach});
    REQUIRE(w.ok());
    std::vector<std::thread> ts;
    for (int p = 0; p < kProducers; ++p)
        ts.emplace_back([&, p] {
            for (int i = 0; i < kEach; ++i)
                (*w)->submit(line_of(p, i));
        });
    for (auto& t : ts)
        t.join();
    (*w)->stop();
    auto lines = read_lines(dir / "t.jsonl");
    REQUIRE(lines.size() == 1 + kProducers * kEach);
    std::map<int, int> next;
    for (size_t i = 1; i < lines.size(); ++i) {
        int p = -1, n = -1;
        REQUIRE(std::sscanf(lines[i].c_str(), "{\"t\":1,\"w\":%d,\"ev\":\"x\",\"n\":%d}", &p, &n) ==
                2);
        CHECK(n == next[p]);
        next[p] = n + 1;
    }
    for (int p = 0; p < kProducers; ++p)
        CHECK(next[p] == kEach);
    CHECK((*w)->stats().written == uint64_t{kProducers} * kEach);
    fs::remove_all(dir);
}

TEST_CASE("a file that takes no writes: the queue fills, lines are dropped and counted") {
    signal(SIGPIPE, SIG_IGN);
    fs::path dir = temp_dir();
    fs::path fifo = dir / "fifo";
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    // A reader that never reads: the pipe fills (64 KiB) and the writer thread blocks in write.
    int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    REQUIRE(reader >= 0);
    auto w = TraceWriter::start({fifo.string(), 64});
    REQUIRE(w.ok());
    std::string big(1000, 'x');
    big = "{\"t\":1,\"w\":0,\"ev\":\"x\",\"pad\":\"" + big + "\"}\n";
    uint64_t submitted = 0;
    for (int i = 0; i < 5000; ++i, ++submitted)
        (*w)->submit(big);  // returns whatever the writer thread is doing
    auto st = (*w)->stats();
    CHECK(st.dropped > 0);
    CHECK(st.dropped < submitted);
    // stop() gives up on a file that does not drain; the thread is left blocked in write.
    auto t0 = std::chrono::steady_clock::now();
    (*w)->stop(std::chrono::milliseconds(200));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    // Closing the reader ends its write (EPIPE) and lets the left-behind thread finish.
    ::close(reader);
    w->reset();
    fs::remove_all(dir);
}

TEST_CASE("reopen: a removed file is replaced by a new one") {
    fs::path dir = temp_dir();
    fs::path p = dir / "t.jsonl";
    auto w = TraceWriter::start({p.string(), 1024});
    REQUIRE(w.ok());
    (*w)->submit(line_of(0, 1));
    // Rotation: the file is moved away, the writer is told, and goes on in a new file.
    for (int i = 0; i < 200 && read_lines(p).size() < 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    fs::rename(p, dir / "t.jsonl.1");
    (*w)->reopen();
    for (int i = 0; i < 200 && !fs::exists(p); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(fs::exists(p));
    (*w)->submit(line_of(0, 2));
    (*w)->stop();
    auto old_lines = read_lines(dir / "t.jsonl.1");
    auto new_lines = read_lines(p);
    REQUIRE(old_lines.size() == 2);
    CHECK(old_lines[1] + "\n" == line_of(0, 1));
    REQUIRE(new_lines.size() == 2);
    CHECK(new_lines[0].find("\"ev\":\"trace.open\"") != std::string::npos);
    CHECK(new_lines[1] + "\n" == line_of(0, 2));
    CHECK((*w)->stats().reopened == 1);
    fs::remove_all(dir);
}

TEST_CASE("every line is written or counted as dropped, and the file says how many dropped") {
    fs::path dir = temp_dir();
    auto w = TraceWriter::start({(dir / "t.jsonl").string(), 2});
    REQUIRE(w.ok());
    constexpr int kLines = 20000;
    for (int i = 0; i < kLines; ++i)
        (*w)->submit(line_of(0, i));
    (*w)->stop();
    auto st = (*w)->stats();
    CHECK(st.written + st.dropped == kLines);
    uint64_t reported = 0, data = 0;
    for (const auto& line : read_lines(dir / "t.jsonl")) {
        unsigned long long count = 0, total = 0;
        if (std::sscanf(line.c_str(),
                        "{\"t\":%*u,\"w\":-1,\"ev\":\"trace.dropped\",\"count\":%llu,"
                        "\"total\":%llu}",
                        &count, &total) == 2) {
            reported += count;
            CHECK(total == reported);
        } else if (line.find("\"ev\":\"x\"") != std::string::npos) {
            ++data;
        }
    }
    CHECK(reported == st.dropped);
    CHECK(data == st.written);
    fs::remove_all(dir);
}
