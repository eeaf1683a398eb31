// Catalog: the objects the emulator serves. Each is declared by name, size and seed (bytes come
// from Pattern), and can be "overwritten" (generation bump: new bytes, new ETag, later
// Last-Modified). SHA-224 of every generation is computed by one background hasher thread: at
// start-up all generation-0 objects that ask for it are queued smallest first; a request that needs
// a digest that is not ready yet waits (the server re-checks on a ring timer), so nothing blocks a
// ring.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "pattern.hpp"
#include "xs3/base/status.hpp"

namespace xs3::s3emu {

struct ObjectSpec {
    std::string name;
    uint64_t size = 0;
    uint64_t seed = 0;
    bool sha224 = false;  // advertise x-amz-meta-sha224
    std::string content_type = "application/octet-stream";
};

// Parses "name=big.bin,size=1GiB,seed=7,sha224=yes[,content_type=..][,count=N]". With count=N the
// spec expands to N objects; "{i}" in the name is replaced by 0..N-1 (appended as "-{i}" if absent)
// and each gets seed + i.
Result<std::vector<ObjectSpec>> parse_object_spec(std::string_view text);
Result<bool> parse_bool(std::string_view text);

// 2024-01-01T00:00:00Z; every object's Last-Modified starts here and moves one minute per
// generation, so If-Modified-Since tests are reproducible.
inline constexpr std::time_t kBaseLastModified = 1704067200;

struct ObjectCounters {
    std::atomic<uint64_t> get{0};
    std::atomic<uint64_t> head{0};
    std::atomic<uint64_t> ranged{0};
    std::atomic<uint64_t> body_bytes{0};
    void reset() noexcept {
        get = 0;
        head = 0;
        ranged = 0;
        body_bytes = 0;
    }
};

class Object {
  public:
    explicit Object(ObjectSpec spec) : spec_(std::move(spec)) {}

    const ObjectSpec& spec() const noexcept { return spec_; }
    const std::string& name() const noexcept { return spec_.name; }
    uint64_t size() const noexcept { return spec_.size; }
    uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
    // Returns the new generation.
    uint64_t bump_generation() noexcept { return generation_.fetch_add(1) + 1; }

    Pattern pattern(uint64_t gen) const noexcept { return Pattern(spec_.name, spec_.seed, gen); }
    // Quoted, 32 hex digits, like a single-part S3 ETag.
    std::string etag(uint64_t gen) const;
    std::time_t last_modified(uint64_t gen) const noexcept {
        return kBaseLastModified + static_cast<std::time_t>(gen) * 60;
    }

    // Lower-case hex SHA-224 of generation `gen` if computed.
    std::optional<std::string> sha224(uint64_t gen) const;
    void set_sha224(uint64_t gen, std::string hex);

    ObjectCounters& counters() noexcept { return counters_; }

  private:
    ObjectSpec spec_;
    std::atomic<uint64_t> generation_{0};
    mutable std::mutex sha_mu_;
    std::map<uint64_t, std::string> sha_;
    ObjectCounters counters_;
};

// SHA-224 of the pattern bytes of (object, generation); a few seconds per GiB.
std::string compute_sha224_hex(const Object& obj, uint64_t gen);

class Catalog {
  public:
    Catalog() = default;
    ~Catalog();
    Catalog(const Catalog&) = delete;
    Catalog& operator=(const Catalog&) = delete;

    // Fails on a duplicate name.
    Status add(ObjectSpec spec);
    Object* find(std::string_view name) noexcept;
    const std::vector<std::unique_ptr<Object>>& objects() const noexcept { return objects_; }

    // Starts the hasher thread and queues generation 0 of every sha224 object, smallest first.
    void start_hasher();
    // Queues (object, gen) unless done or queued. Safe from any thread.
    void request_sha224(Object& obj, uint64_t gen);
    // Blocks until every queued digest is done (tests, and --sha224-sync start-up).
    void wait_hasher_idle();
    // Digests queued or being computed (the harness waits for 0 before measuring).
    size_t sha224_pending();

  private:
    void hasher_main();

    std::vector<std::unique_ptr<Object>> objects_;
    std::unordered_map<std::string, Object*> by_name_;

    std::mutex q_mu_;
    std::condition_variable q_cv_;
    std::condition_variable idle_cv_;
    std::deque<std::pair<Object*, uint64_t>> queue_;
    std::map<std::pair<Object*, uint64_t>, bool> queued_;
    bool busy_ = false;
    bool stop_ = false;
    std::thread hasher_;
};

}  // namespace xs3::s3emu
