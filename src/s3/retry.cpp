// Standard-mode retry classification, full-jitter backoff and the retry token bucket.
#include "xs3/s3/retry.hpp"

#include <algorithm>
#include <random>

namespace xs3::s3 {
namespace {

bool is_throttling_code(std::string_view code) noexcept {
    static constexpr std::string_view codes[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    };
    return std::find(std::begin(codes), std::end(codes), code) != std::end(codes);
}

bool is_transient_code(std::string_view code) noexcept {
    // IDPCommunicationError: STS could not reach the web identity provider.
    static constexpr std::string_view codes[] = {"RequestTimeout", "RequestTimeoutException",
                                                 "InternalError", "IDPCommunicationError"};
    return std::find(std::begin(codes), std::end(codes), code) != std::end(codes);
}

}  // namespace

std::string_view retry_kind_name(RetryKind kind) noexcept {
    switch (kind) {
        case RetryKind::none:
            return "none";
        case RetryKind::transient:
            return "transient";
        case RetryKind::throttling:
            return "throttling";
        case RetryKind::timeout:
            return "timeout";
    }
    return "none";
}

std::string_view retry_reason_name(RetryDecision::Reason reason) noexcept {
    switch (reason) {
        case RetryDecision::Reason::retry:
            return "retry";
        case RetryDecision::Reason::not_retryable:
            return "not_retryable";
        case RetryDecision::Reason::attempts_exhausted:
            return "attempts_exhausted";
        case RetryDecision::Reason::budget_exhausted:
            return "budget_exhausted";
    }
    return "not_retryable";
}

RetryPolicy::RetryPolicy(RetryOptions options) : options_(options) {
    if (options_.max_attempts == 0) options_.max_attempts = 1;
}

RetryKind RetryPolicy::classify(const AttemptOutcome& o) noexcept {
    switch (o.transport) {
        case Code::ok:
            break;
        case Code::timeout:
            return RetryKind::timeout;
        case Code::unavailable:
            return RetryKind::transient;
        default:
            return RetryKind::none;  // bad URL, cancelled, internal: the same again fails again
    }
    const long s = o.http_status;
    if (s < 400) return RetryKind::none;
    if (is_throttling_code(o.error_code)) return RetryKind::throttling;
    if (is_transient_code(o.error_code)) return RetryKind::transient;
    if (s == 429 || s == 503) return RetryKind::throttling;
    if (s == 408) return RetryKind::transient;
    if (s >= 500 && s <= 599 && s != 501 && s != 505) return RetryKind::transient;
    return RetryKind::none;
}

std::chrono::milliseconds RetryPolicy::backoff(unsigned retry, RetryKind kind,
                                               double random01) const noexcept {
    const std::chrono::milliseconds base =
        kind == RetryKind::throttling ? options_.throttling_base_delay : options_.base_delay;
    const double cap = static_cast<double>(options_.max_delay.count());
    double ceiling = static_cast<double>(base.count());
    // Doubling stops at the cap, so a large retry number cannot overflow.
    for (unsigned i = 1; i < retry && ceiling < cap; ++i)
        ceiling *= 2;
    ceiling = std::min(ceiling, cap);
    const double r = std::clamp(random01, 0.0, 1.0);
    return std::chrono::milliseconds(static_cast<int64_t>(r * ceiling));
}

RetryDecision RetryPolicy::decide(unsigned attempts, const AttemptOutcome& outcome,
                                  RetryBudget* budget, double random01) const noexcept {
    RetryDecision d;
    d.kind = classify(outcome);
    if (d.kind == RetryKind::none) {
        d.reason = RetryDecision::Reason::not_retryable;
        return d;
    }
    if (attempts >= options_.max_attempts) {
        d.reason = RetryDecision::Reason::attempts_exhausted;
        return d;
    }
    if (budget != nullptr) {
        d.cost = budget->try_acquire(d.kind);
        if (d.cost == 0) {
            d.reason = RetryDecision::Reason::budget_exhausted;
            return d;
        }
    }
    d.retry = true;
    d.reason = RetryDecision::Reason::retry;
    d.delay = backoff(attempts, d.kind, random01);
    return d;
}

RetryBudget::RetryBudget(Options options) noexcept : options_(options), tokens_(options.capacity) {
    // A cost of 0 would read as "refused"; a free retry is not a thing the SDKs have either.
    options_.retry_cost = std::max(1u, options_.retry_cost);
    options_.timeout_cost = std::max(1u, options_.timeout_cost);
}

unsigned RetryBudget::try_acquire(RetryKind kind) noexcept {
    const unsigned cost = kind == RetryKind::timeout ? options_.timeout_cost : options_.retry_cost;
    if (options_.capacity == 0) return cost;
    unsigned have = tokens_.load(std::memory_order_relaxed);
    for (;;) {
        if (have < cost) {
            refused_.fetch_add(1, std::memory_order_relaxed);
            return 0;
        }
        if (tokens_.compare_exchange_weak(have, have - cost, std::memory_order_relaxed))
            return cost;
    }
}

void RetryBudget::on_success(unsigned refund) noexcept {
    if (options_.capacity == 0) return;
    const unsigned add = refund > 0 ? refund : options_.success_increment;
    unsigned have = tokens_.load(std::memory_order_relaxed);
    for (;;) {
        const unsigned next = std::min(options_.capacity, have + std::min(add, options_.capacity));
        if (next == have) return;
        if (tokens_.compare_exchange_weak(have, next, std::memory_order_relaxed)) return;
    }
}

RetryDecision RetryState::on_failure(const AttemptOutcome& outcome, double random01) noexcept {
    ++attempts_;
    RetryDecision d = policy_->decide(attempts_, outcome, budget_, random01);
    if (d.retry) held_ = d.cost;
    return d;
}

RetryDecision RetryState::on_failure(const AttemptOutcome& outcome) noexcept {
    return on_failure(outcome, retry_jitter());
}

void RetryState::on_success() noexcept {
    ++attempts_;
    if (budget_ != nullptr) budget_->on_success(held_);
    held_ = 0;
}

double retry_jitter() noexcept {
    thread_local std::mt19937_64 gen{std::random_device{}()};
    const double r = std::uniform_real_distribution<double>(0.0, 1.0)(gen);
    // generate_canonical may round up to exactly 1.0; the contract is [0, 1).
    return r < 1.0 ? r : 0.0;
}

}  // namespace xs3::s3
