// What the fetch tests share: the S3 emulator (bench/s3emu) running in-process, a ring and its
// curl client on a thread of their own (like a worker), a temp dir, and checks of object bytes.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../../../bench/s3emu/catalog.hpp"
#include "../../../bench/s3emu/faults.hpp"
#include "../../../bench/s3emu/server.hpp"
#include "../../../bench/s3emu/stats.hpp"
#include "xs3/fetch/download.hpp"
#include "xs3/fetch/fetch_slots.hpp"

namespace xs3::test {

using namespace std::chrono_literals;

inline constexpr uint64_t kChunk = 1 << 20;  // the tests' chunk size (the planner's minimum)

class Emulator {
  public:
    Emulator(const std::vector<std::string>& objects, const std::vector<std::string>& faults) {
        for (const auto& spec : objects) {
            auto parsed = s3emu::parse_object_spec(spec);
            REQUIRE_MESSAGE(parsed.ok(), parsed.status().to_string());
            for (auto& o : *parsed)
                REQUIRE(catalog_.add(o).ok());
        }
        catalog_.start_hasher();
        catalog_.wait_hasher_idle();
        std::vector<s3emu::FaultRule> rules;
        for (const auto& f : faults) {
            auto r = s3emu::parse_fault_rule(f);
            REQUIRE_MESSAGE(r.ok(), r.status().to_string());
            rules.push_back(*r);
        }
        faults_ = std::make_unique<s3emu::FaultPlan>(std::move(rules), 1);
        s3emu::ServerOptions so;
        so.port = 0;
        server_ = std::make_unique<s3emu::Server>(so, catalog_, *faults_, stats_,
                                                  s3emu::HandlerOptions{});
        REQUIRE(server_->start().ok());
    }
    ~Emulator() { server_->stop(); }

    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
    std::string url(const std::string& name) const { return endpoint() + "/bench/" + name; }
    s3emu::Object& object(const std::string& name) { return *catalog_.find(name); }
    uint64_t body_bytes(const std::string& name) {
        return object(name).counters().body_bytes.load();
    }
    uint64_t gets(const std::string& name) { return object(name).counters().get.load(); }
    uint64_t heads(const std::string& name) { return object(name).counters().head.load(); }
    // GET answers with this status, over all objects (faulted answers included).
    uint64_t answers(int status) { return stats_.count(s3emu::StatMethod::get, status); }

  private:
    s3emu::Catalog catalog_;
    std::unique_ptr<s3emu::FaultPlan> faults_;
    s3emu::Stats stats_;
    std::unique_ptr<s3emu::Server> server_;
};

// A ring and its curl client on their own thread, like a worker.
class RingThread {
  public:
    RingThread() {
        thread_ = std::thread([this] {
            auto r = ring::Ring::create({});
            REQUIRE(r.ok());
            ring_ = std::move(r).value();
            auto c = s3::CurlClient::create(*ring_, {});
            REQUIRE(c.ok());
            curl_ = std::move(c).value();
            ready_.store(true);
            ring_->run();
            curl_.reset();
            for (int i = 0; i < 20; ++i)
                ring_->run_once(1ms);
        });
        while (!ready_.load())
            std::this_thread::sleep_for(1ms);
    }
    ~RingThread() {
        ring_->stop();
        thread_.join();
    }
    fetch::FetchSlot slot() { return {ring_.get(), curl_.get()}; }
    ring::Ring& ring() { return *ring_; }

  private:
    std::unique_ptr<ring::Ring> ring_;
    std::unique_ptr<s3::CurlClient> curl_;
    std::atomic<bool> ready_{false};
    std::thread thread_;
};

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/xs3-fetch-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

inline fetch::DownloadOptions test_download_options() {
    fetch::DownloadOptions o;
    o.planner.chunk_size = kChunk;
    o.planner.min_chunk_size = kChunk;
    o.planner.max_concurrency = 4;
    o.retry = s3::RetryOptions::standard(4, 10ms, 1000ms);
    o.low_speed_timeout = 1000ms;
    return o;
}

// `bytes` hold exactly the object's bytes of generation `gen` (O_DIRECT may pad the end: the
// owner truncates on publish, so compare the object's length).
inline void check_bytes(Emulator& emu, const std::string& name, const std::string& bytes,
                        uint64_t gen = 0) {
    auto& obj = emu.object(name);
    REQUIRE(bytes.size() >= obj.size());
    auto pattern = obj.pattern(gen);
    CHECK(pattern.verify(bytes.data(), 0, obj.size()) == obj.size());
}

}  // namespace xs3::test
