// RetryPolicy classification and backoff, RetryBudget arithmetic (also from several threads) and
// RetryState's refunds.
#include "xs3/s3/retry.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace xs3;
using namespace xs3::s3;
using namespace std::chrono_literals;

namespace {

RetryKind kind_of(long status, std::string_view code = {}) {
    return RetryPolicy::classify(AttemptOutcome::http(status, code));
}

}  // namespace

TEST_CASE("classify: transport failures") {
    CHECK(RetryPolicy::classify(AttemptOutcome::failed(Status(Code::timeout, "t"))) ==
          RetryKind::timeout);
    CHECK(RetryPolicy::classify(AttemptOutcome::failed(Status(Code::unavailable, "reset"))) ==
          RetryKind::transient);
    CHECK(RetryPolicy::classify(AttemptOutcome::failed(Status(Code::invalid_argument, "url"))) ==
          RetryKind::none);
    CHECK(RetryPolicy::classify(AttemptOutcome::failed(Status(Code::cancelled, "c"))) ==
          RetryKind::none);
    CHECK(RetryPolicy::classify(AttemptOutcome::failed(Status(Code::internal, "i"))) ==
          RetryKind::none);
    // A "failure" with an ok status is a caller bug, never a reason to hammer S3.
    CHECK(RetryPolicy::classify(AttemptOutcome::failed(Status())) == RetryKind::none);
}

TEST_CASE("classify: HTTP statuses and AWS error codes") {
    for (long ok : {200L, 204L, 206L, 301L, 304L})
        CHECK(kind_of(ok) == RetryKind::none);
    // 4xx are final: the same request gets the same answer...
    for (long final_status : {400L, 401L, 403L, 404L, 405L, 409L, 412L, 416L})
        CHECK(kind_of(final_status) == RetryKind::none);
    CHECK(kind_of(403, "AccessDenied") == RetryKind::none);
    CHECK(kind_of(403, "SignatureDoesNotMatch") == RetryKind::none);
    CHECK(kind_of(404, "NoSuchKey") == RetryKind::none);
    CHECK(kind_of(412, "PreconditionFailed") == RetryKind::none);
    // ...except 408, 429 and the codes S3 and STS send with 400 for transient trouble.
    CHECK(kind_of(408) == RetryKind::transient);
    CHECK(kind_of(429) == RetryKind::throttling);
    CHECK(kind_of(400, "RequestTimeout") == RetryKind::transient);
    CHECK(kind_of(400, "IDPCommunicationError") == RetryKind::transient);
    CHECK(kind_of(400, "SlowDown") == RetryKind::throttling);
    CHECK(kind_of(400, "ThrottlingException") == RetryKind::throttling);
    CHECK(kind_of(400, "Throttling") == RetryKind::throttling);
    CHECK(kind_of(400, "RequestLimitExceeded") == RetryKind::throttling);
    // 5xx: 503 is S3's "slow down" (HEAD answers carry no code), 501/505 never change.
    CHECK(kind_of(500) == RetryKind::transient);
    CHECK(kind_of(500, "InternalError") == RetryKind::transient);
    CHECK(kind_of(502) == RetryKind::transient);
    CHECK(kind_of(503) == RetryKind::throttling);
    CHECK(kind_of(503, "SlowDown") == RetryKind::throttling);
    CHECK(kind_of(503, "ServiceUnavailable") == RetryKind::throttling);
    CHECK(kind_of(504) == RetryKind::transient);
    CHECK(kind_of(599) == RetryKind::transient);
    CHECK(kind_of(501) == RetryKind::none);
    CHECK(kind_of(505) == RetryKind::none);
    CHECK(retry_kind_name(RetryKind::throttling) == "throttling");
}

TEST_CASE("backoff: full jitter over an exponential ceiling, capped") {
    RetryPolicy p;  // 100 ms base, 500 ms throttling base, 20 s cap
    CHECK(p.backoff(1, RetryKind::transient, 0.5) == 50ms);
    CHECK(p.backoff(2, RetryKind::transient, 0.5) == 100ms);
    CHECK(p.backoff(3, RetryKind::transient, 0.5) == 200ms);
    CHECK(p.backoff(3, RetryKind::timeout, 0.25) == 100ms);
    CHECK(p.backoff(1, RetryKind::throttling, 0.5) == 250ms);
    CHECK(p.backoff(2, RetryKind::throttling, 1.0) == 1000ms);
    CHECK(p.backoff(1, RetryKind::transient, 0.0) == 0ms);
    // 100 ms * 2^9 = 51.2 s > 20 s: capped; huge retry numbers do not overflow.
    CHECK(p.backoff(10, RetryKind::transient, 0.5) == 10000ms);
    CHECK(p.backoff(4000000000u, RetryKind::throttling, 0.5) == 10000ms);
    CHECK(p.backoff(10, RetryKind::transient, 0.999) <= 20000ms);
    CHECK(p.backoff(10, RetryKind::transient, 0.999) >= 19980ms);

    RetryOptions o = RetryOptions::standard(4, 10ms, 35ms);
    CHECK(o.max_attempts == 4);
    CHECK(o.throttling_base_delay == 50ms);
    CHECK(RetryPolicy(o).backoff(1, RetryKind::throttling, 1.0) == 35ms);  // 50 ms, capped
    RetryPolicy q(o);
    CHECK(q.backoff(1, RetryKind::transient, 1.0) == 10ms);
    CHECK(q.backoff(2, RetryKind::transient, 1.0) == 20ms);
    CHECK(q.backoff(3, RetryKind::transient, 1.0) == 35ms);
}

TEST_CASE("decide: attempts, retryability and the budget") {
    RetryPolicy p;  // 3 attempts
    auto slow = AttemptOutcome::http(503, "SlowDown");
    RetryDecision d = p.decide(1, slow, nullptr, 0.5);
    CHECK(d.retry);
    CHECK(d.kind == RetryKind::throttling);
    CHECK(d.delay == 250ms);
    CHECK(d.reason == RetryDecision::Reason::retry);
    d = p.decide(2, slow, nullptr, 0.5);
    CHECK(d.retry);
    CHECK(d.delay == 500ms);
    d = p.decide(3, slow, nullptr, 0.5);
    CHECK_FALSE(d.retry);
    CHECK(d.reason == RetryDecision::Reason::attempts_exhausted);
    CHECK(retry_reason_name(d.reason) == "attempts_exhausted");

    d = p.decide(1, AttemptOutcome::http(404, "NoSuchKey"), nullptr, 0.5);
    CHECK_FALSE(d.retry);
    CHECK(d.reason == RetryDecision::Reason::not_retryable);

    RetryOptions one;
    one.max_attempts = 1;
    CHECK_FALSE(RetryPolicy(one).decide(1, slow, nullptr, 0.5).retry);
    one.max_attempts = 0;  // treated as 1
    CHECK(RetryPolicy(one).options().max_attempts == 1);

    RetryBudget budget(RetryBudget::Options{12, 5, 10, 1});
    d = p.decide(1, AttemptOutcome::failed(Status(Code::timeout, "t")), &budget, 0.5);
    CHECK(d.retry);
    CHECK(d.cost == 10);
    CHECK(budget.available() == 2);
    // 2 tokens cannot pay for a 5-token retry: the budget says no, and counts it.
    d = p.decide(1, AttemptOutcome::http(500), &budget, 0.5);
    CHECK_FALSE(d.retry);
    CHECK(d.reason == RetryDecision::Reason::budget_exhausted);
    CHECK(budget.refused() == 1);
    CHECK(budget.available() == 2);
    // A non-retryable failure never touches the budget.
    d = p.decide(1, AttemptOutcome::http(403), &budget, 0.5);
    CHECK(d.reason == RetryDecision::Reason::not_retryable);
    CHECK(budget.refused() == 1);
}

TEST_CASE("RetryBudget: standard-mode token arithmetic") {
    RetryBudget b;  // 500 tokens, 5 per retry, 10 per timeout retry, +1 per clean success
    CHECK(b.available() == 500);
    for (int i = 0; i < 100; ++i)
        CHECK(b.try_acquire(RetryKind::transient) == 5);
    CHECK(b.available() == 0);
    CHECK(b.try_acquire(RetryKind::throttling) == 0);
    CHECK(b.refused() == 1);
    b.on_success(5);  // a retried request succeeded: its retry's cost comes back
    CHECK(b.available() == 5);
    b.on_success(0);  // a request that needed no retry adds the increment
    CHECK(b.available() == 6);
    CHECK(b.try_acquire(RetryKind::timeout) == 0);  // 6 < 10
    CHECK(b.try_acquire(RetryKind::transient) == 5);
    CHECK(b.available() == 1);
    // Never above capacity.
    RetryBudget full(RetryBudget::Options{20, 5, 10, 1});
    full.on_success(0);
    full.on_success(7);
    CHECK(full.available() == 20);
    CHECK(full.try_acquire(RetryKind::timeout) == 10);
    full.on_success(1000);
    CHECK(full.available() == 20);

    // Capacity 0: no budget; every retry is paid, nothing is counted.
    RetryBudget off(RetryBudget::Options{0, 5, 10, 1});
    for (int i = 0; i < 1000; ++i)
        CHECK(off.try_acquire(RetryKind::timeout) == 10);
    CHECK(off.refused() == 0);
    // A zero cost would read as a refusal; it is raised to 1.
    RetryBudget cheap(RetryBudget::Options{3, 0, 0, 1});
    CHECK(cheap.try_acquire(RetryKind::transient) == 1);
    CHECK(cheap.available() == 2);
}

TEST_CASE("RetryState: refunds the last retry's cost on success only") {
    RetryPolicy p;
    RetryBudget b;
    {
        RetryState s(p, &b);
        CHECK(s.on_failure(AttemptOutcome::http(500), 0.0).retry);
        CHECK(s.on_failure(AttemptOutcome::failed(Status(Code::timeout, "t")), 0.0).retry);
        CHECK(b.available() == 485);
        s.on_success();
        CHECK(s.attempts() == 3);
        CHECK(b.available() == 495);  // the timeout retry's 10 came back, the first 5 did not
    }
    {
        RetryState s(p, &b);
        s.on_success();  // clean success: +1
        CHECK(b.available() == 496);
    }
    {
        RetryState s(p, &b);
        CHECK(s.on_failure(AttemptOutcome::http(503), 0.0).retry);
        CHECK(s.on_failure(AttemptOutcome::http(503), 0.0).retry);
        RetryDecision last = s.on_failure(AttemptOutcome::http(503), 0.0);
        CHECK_FALSE(last.retry);
        CHECK(last.reason == RetryDecision::Reason::attempts_exhausted);
        CHECK(b.available() == 486);  // a failed operation keeps what it spent
    }
    {
        RetryState s(p, nullptr);  // no budget
        CHECK(s.on_failure(AttemptOutcome::http(500)).retry);
        s.on_success();
        CHECK(s.attempts() == 2);
    }
}

TEST_CASE("RetryBudget: concurrent acquisitions never overdraw") {
    RetryBudget b(RetryBudget::Options{1000, 5, 10, 1});
    std::atomic<unsigned> taken{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            while (unsigned c = b.try_acquire(RetryKind::transient))
                taken.fetch_add(c);
        });
    for (auto& t : threads)
        t.join();
    CHECK(taken.load() == 1000);
    CHECK(b.available() == 0);
    CHECK(b.refused() == 4);

    threads.clear();
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i)
                b.on_success(5);
        });
    for (auto& t : threads)
        t.join();
    CHECK(b.available() == 1000);
}

TEST_CASE("retry_jitter stays in [0, 1)") {
    for (int i = 0; i < 10000; ++i) {
        double r = retry_jitter();
        REQUIRE(r >= 0.0);
        REQUIRE(r < 1.0);
    }
}
