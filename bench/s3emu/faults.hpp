// Faults: rules that make the emulator misbehave on purpose, and the per-request decision.
//
//   --fault 503:rate=0.1                       SlowDown on ~10% of requests
//   --fault 500:object=big.bin,request=3       InternalError on the 3rd request for big.bin
//   --fault reset:object=big.bin,offset=1MiB   RST after sending bytes up to object offset 1 MiB
//   --fault short:rate=0.05                    close cleanly before Content-Length is reached
//   --fault stall:seconds=3,offset=0,count=1   pause the body for 3 s at offset 0, once
//   --fault etag-change:object=x,after=2       x is overwritten after its 2nd request
//
//   --fault 503:object=x,offset=2MiB,count=1    SlowDown to the first GET whose range holds 2 MiB
//   --fault etag-change:object=x,offset=1MiB,count=1   x changes just before the first GET whose
//                                              range holds 1 MiB is answered (its If-Match fails)
//
// A rule matches a request by object and method; `request=N` fires only on the N-th matching
// request (1-based, counted per rule), `after=N` is request=N+1, `rate=P` fires with probability P
// (a hash of the fault seed, the rule and the match number: the same run decides the same way),
// `count=K` caps how many times it fires. A rule with neither request nor rate fires on every
// match. Body faults (reset, short, stall) fire only when the response body covers their offset;
// without offset= reset and short hit the middle of the body and stall its first byte. Status
// faults (503, 500, etag-change) with offset= apply to GETs only and fire only when the bytes the
// GET asks for (its Range, else the whole object) hold that offset: this is how a test aims at one
// chunk of a download whatever order the chunks are fetched in.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xs3/base/status.hpp"

namespace xs3::s3emu {

enum class FaultType { slow_down, internal_error, reset, short_body, stall, etag_change };
inline constexpr size_t kFaultTypes = 6;
std::string_view fault_type_name(FaultType t) noexcept;  // "503", "500", "reset", ...

enum class FaultMethod { any, get, head };

struct FaultRule {
    FaultType type = FaultType::slow_down;
    std::string object;  // empty: any object
    FaultMethod method = FaultMethod::any;
    std::optional<double> rate;
    uint64_t request = 0;  // 0: any
    uint64_t count = 0;    // 0: unlimited
    std::optional<uint64_t> offset;
    std::chrono::milliseconds stall{5000};
};

Result<FaultRule> parse_fault_rule(std::string_view text);

// What happens to one request.
struct FaultDecision {
    bool etag_change = false;
    int error_status = 0;  // 503 or 500, or 0
    // Body faults as absolute object offsets; meaningful only after resolve_body().
    std::optional<uint64_t> reset_at;
    std::optional<uint64_t> short_at;
    std::optional<uint64_t> stall_at;
    std::chrono::milliseconds stall_for{0};
    // Rules whose body fault is pending resolution (indices into the plan).
    std::vector<size_t> body_rules;
    // Status rules with offset= waiting for the GET's requested bytes (resolve_request).
    std::vector<size_t> request_rules;
};

class FaultPlan {
  public:
    FaultPlan(std::vector<FaultRule> rules, uint64_t seed);

    bool empty() const noexcept { return rules_.empty(); }
    // Counts the request against every matching rule and decides the non-body faults.
    FaultDecision decide(std::string_view object, bool is_head) noexcept;
    // Decides the status faults aimed at an offset, for a GET asking for object bytes
    // [start, start + len). Call before answering (an ETag change must precede the If-Match check).
    void resolve_request(FaultDecision& d, uint64_t start, uint64_t len) noexcept;
    // Places pending body faults for a body of object bytes [start, start + len).
    void resolve_body(FaultDecision& d, uint64_t start, uint64_t len) noexcept;

    uint64_t fired(FaultType t) const noexcept {
        return fired_by_type_[static_cast<size_t>(t)].load(std::memory_order_relaxed);
    }
    void reset_fired() noexcept;

  private:
    struct RuleState {
        FaultRule rule;
        std::atomic<uint64_t> matches{0};
        std::atomic<uint64_t> fired{0};
        explicit RuleState(FaultRule r) : rule(std::move(r)) {}
    };
    bool take_fire(RuleState& s) noexcept;  // honours count=

    std::vector<std::unique_ptr<RuleState>> rules_;
    uint64_t seed_;
    std::array<std::atomic<uint64_t>, kFaultTypes> fired_by_type_{};
};

}  // namespace xs3::s3emu
