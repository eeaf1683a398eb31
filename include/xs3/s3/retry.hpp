// Retry decisions for requests to S3 and the credential services, after the AWS SDKs' "standard"
// retry mode: which failures are worth another attempt, how long to wait (exponential backoff with
// full jitter), and a retry budget (a token bucket shared by every request to one service) so a
// failing S3 is not hit with ever more retries.
//
// Pure and thread-safe: RetryPolicy is immutable, RetryBudget is atomic, RetryState belongs to one
// operation on one thread. Nothing here sleeps or starts a timer; the caller schedules the retry.
//
//   RetryState state(policy, &budget);
//   on failure:  RetryDecision d = state.on_failure(outcome);
//                if (d.retry) ring.add_timer(d.delay, retry_fn); else answer the client
//   on success:  state.on_success();
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "xs3/base/status.hpp"

namespace xs3::s3 {

// Why an attempt failed, as far as retrying cares.
enum class RetryKind {
    none,        // it did not fail, or a retry cannot help (most 4xx, bad input, cancelled)
    transient,   // 500/502/504 and other 5xx, 408, RequestTimeout, connection refused/reset, DNS
    throttling,  // 429, 503 (S3's SlowDown) and the AWS throttling error codes: back off longer
    timeout,     // a transport timeout (connect, first byte, low speed, whole request)
};

std::string_view retry_kind_name(RetryKind kind) noexcept;

// One attempt's outcome.
struct AttemptOutcome {
    // ok when a response head arrived (http_status then says how it went); otherwise the
    // transport's status code (Code::timeout, Code::unavailable, ...).
    Code transport = Code::ok;
    long http_status = 0;
    // The AWS error code from the response body or x-amz-error-code; empty when unknown (HEAD
    // responses carry no body).
    std::string_view error_code;

    static AttemptOutcome http(long status, std::string_view code = {}) {
        return AttemptOutcome{Code::ok, status, code};
    }
    static AttemptOutcome failed(const Status& transport) {
        return AttemptOutcome{transport.ok() ? Code::internal : transport.code(), 0, {}};
    }
};

struct RetryOptions {
    unsigned max_attempts = 3;                             // first try included; 1: no retries
    std::chrono::milliseconds base_delay{100};             // transient errors and timeouts
    std::chrono::milliseconds throttling_base_delay{500};  // throttling errors
    std::chrono::milliseconds max_delay{20000};            // cap of one backoff

    // The configured knobs (--max-attempts, --retry-base-delay, --retry-max-delay) with the
    // SDKs' ratio: throttling errors back off from five times the base delay.
    static RetryOptions standard(unsigned max_attempts, std::chrono::milliseconds base_delay,
                                 std::chrono::milliseconds max_delay) {
        return RetryOptions{max_attempts, base_delay, base_delay * 5, max_delay};
    }
};

class RetryBudget;

struct RetryDecision {
    enum class Reason { retry, not_retryable, attempts_exhausted, budget_exhausted };
    bool retry = false;
    std::chrono::milliseconds delay{0};
    RetryKind kind = RetryKind::none;
    unsigned cost = 0;  // tokens this retry took from the budget
    Reason reason = Reason::not_retryable;
};

std::string_view retry_reason_name(RetryDecision::Reason reason) noexcept;

class RetryPolicy {
  public:
    explicit RetryPolicy(RetryOptions options = {});

    // Standard-mode classification. A 4xx is retried only when it is 408 or 429 or carries a
    // throttling code or RequestTimeout (S3 sends those with 400 or 503); 501 and 505 are final.
    static RetryKind classify(const AttemptOutcome& outcome) noexcept;

    // The wait before retry number `retry` (1 for the first retry): full jitter,
    // random01 * min(max_delay, base * 2^(retry-1)), where base depends on the kind. random01 is
    // in [0, 1); tests pass fixed values.
    std::chrono::milliseconds backoff(unsigned retry, RetryKind kind,
                                      double random01) const noexcept;

    // After `attempts` attempts (>= 1) the last of which ended with `outcome`: retry (taking its
    // cost from `budget`, which may be null for "no budget") or give up, and why.
    RetryDecision decide(unsigned attempts, const AttemptOutcome& outcome, RetryBudget* budget,
                         double random01) const noexcept;

    const RetryOptions& options() const noexcept { return options_; }

  private:
    RetryOptions options_;
};

// The retry quota of the SDKs' standard mode: a bucket of tokens; a retry costs retry_cost
// (timeout_cost after a timeout) and is refused when the bucket cannot pay; a success gives back
// what its last retry took, or success_increment when it needed no retry. capacity 0 disables the
// budget (every retry is paid for).
class RetryBudget {
  public:
    struct Options {
        unsigned capacity = 500;
        unsigned retry_cost = 5;
        unsigned timeout_cost = 10;
        unsigned success_increment = 1;
    };
    RetryBudget() : RetryBudget(Options{}) {}
    explicit RetryBudget(Options options) noexcept;

    // The tokens one retry after a failure of `kind` takes, or 0 when the budget cannot pay (do
    // not retry). With capacity 0 this returns the cost without taking anything.
    unsigned try_acquire(RetryKind kind) noexcept;
    // An operation succeeded; `refund` is what its last retry took (0 if it was not retried).
    void on_success(unsigned refund) noexcept;

    unsigned available() const noexcept { return tokens_.load(std::memory_order_relaxed); }
    uint64_t refused() const noexcept { return refused_.load(std::memory_order_relaxed); }
    const Options& options() const noexcept { return options_; }

  private:
    Options options_;
    std::atomic<unsigned> tokens_;
    std::atomic<uint64_t> refused_{0};
};

// One operation's retries: counts attempts and remembers what the budget lent it.
class RetryState {
  public:
    RetryState(const RetryPolicy& policy, RetryBudget* budget) noexcept
        : policy_(&policy), budget_(budget) {}

    // The attempt just made failed with `outcome`.
    RetryDecision on_failure(const AttemptOutcome& outcome, double random01) noexcept;
    RetryDecision on_failure(const AttemptOutcome& outcome) noexcept;
    // The operation succeeded (call once).
    void on_success() noexcept;

    // Attempts that ended so far.
    unsigned attempts() const noexcept { return attempts_; }

  private:
    const RetryPolicy* policy_;
    RetryBudget* budget_;
    unsigned attempts_ = 0;
    unsigned held_ = 0;  // cost of the last retry, refunded on success
};

// A uniform number in [0, 1) from a per-thread generator: the jitter source for callers.
double retry_jitter() noexcept;

}  // namespace xs3::s3
