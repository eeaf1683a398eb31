// The static and refreshing providers, and the refresh schedule's pure timing decisions.
#include "xs3/s3/credentials_provider.hpp"

#include <doctest/doctest.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

using namespace xs3;
using namespace xs3::s3;
using namespace std::chrono_literals;
using std::chrono::system_clock;

namespace {

const SystemTime kT0 = system_clock::from_time_t(1700000000);

// A source whose answers the test scripts; counts calls and lets the test wait for them.
class ScriptedSource : public CredentialSource {
  public:
    using Script = std::function<Result<Credentials>(int call)>;
    explicit ScriptedSource(Script script, bool stable = false)
        : script_(std::move(script)), stable_(stable) {}

    std::string_view name() const noexcept override { return "scripted"; }
    bool static_stability() const noexcept override { return stable_; }
    Result<Credentials> fetch() override {
        int n;
        {
            std::lock_guard lk(mu_);
            n = ++calls_;
        }
        Result<Credentials> r = script_(n);
        cv_.notify_all();
        return r;
    }
    // Waits (up to a generous limit) until fetch() ran `n` times; false on timeout.
    bool wait_calls(int n, std::chrono::seconds limit = 20s) {
        std::unique_lock lk(mu_);
        return cv_.wait_for(lk, limit, [&] { return calls_ >= n; });
    }
    int calls() {
        std::lock_guard lk(mu_);
        return calls_;
    }

  private:
    Script script_;
    bool stable_;
    std::mutex mu_;
    std::condition_variable cv_;
    int calls_ = 0;
};

Credentials temp(std::string id, std::chrono::milliseconds valid_for) {
    Credentials c;
    c.access_key_id = std::move(id);
    c.secret_access_key = "secret";
    c.session_token = "token";
    c.expiration = system_clock::now() + valid_for;
    return c;
}

RefreshOptions fast() {
    RefreshOptions o;
    o.min_lead = 100ms;
    o.max_lead = 100ms;
    o.min_interval = 20ms;
    o.retry_base = 20ms;
    o.retry_max = 40ms;
    return o;
}

}  // namespace

TEST_CASE("static provider: the same credentials every time") {
    Credentials c;
    c.access_key_id = "AKID";
    c.secret_access_key = "s";
    auto p = make_static_provider(c, "config");
    CHECK(p->name() == "config");
    auto a = p->current();
    REQUIRE(a != nullptr);
    CHECK(a->access_key_id == "AKID");
    CHECK(a.get() == p->current().get());
    CHECK(p->stats().refreshes == 0);
    auto anon = make_static_provider(Credentials{}, "anonymous");
    CHECK(anon->current()->anonymous());
}

TEST_CASE("next_refresh_time: 5-15 minutes ahead, at most half the lifetime, never too soon") {
    RefreshOptions o;  // 5..15 min lead, 1 s minimum interval
    const SystemTime exp = kT0 + 1h;
    CHECK(next_refresh_time(o, kT0, exp, kT0, 0.0) == exp - 5min);
    CHECK(next_refresh_time(o, kT0, exp, kT0, 1.0) == exp - 15min);
    CHECK(next_refresh_time(o, kT0, exp, kT0, 0.5) == exp - 10min);
    // Short-lived credentials refresh halfway through their life.
    CHECK(next_refresh_time(o, kT0, kT0 + 6min, kT0, 0.5) == kT0 + 3min);
    CHECK(next_refresh_time(o, kT0, kT0 + 4s, kT0, 0.9) == kT0 + 2s);
    // Late (the refresh thread woke up after the window): as soon as allowed, not in the past.
    CHECK(next_refresh_time(o, kT0, exp, exp - 1min, 0.5) == exp - 1min + 1s);
    CHECK(next_refresh_time(o, kT0, exp, exp + 1h, 0.5) == exp + 1h + 1s);
    // Already-expired-at-receipt credentials (clock skew): no negative lead.
    CHECK(next_refresh_time(o, kT0, kT0 - 1s, kT0, 0.5) == kT0 + 1s);
}

TEST_CASE("refresh_retry_delay: doubling, capped, jittered, bounded by the time left") {
    RefreshOptions o;  // 1 s base, 60 s cap
    const SystemTime far = kT0 + 1h;
    CHECK(refresh_retry_delay(o, 1, far, kT0, 1.0) == 1000ms);
    CHECK(refresh_retry_delay(o, 1, far, kT0, 0.0) == 1000ms);  // 500 ms, raised to min_interval
    CHECK(refresh_retry_delay(o, 3, far, kT0, 0.0) == 2000ms);
    CHECK(refresh_retry_delay(o, 2, far, kT0, 1.0) == 2000ms);
    CHECK(refresh_retry_delay(o, 4, far, kT0, 1.0) == 8000ms);
    CHECK(refresh_retry_delay(o, 10, far, kT0, 1.0) == 60000ms);
    CHECK(refresh_retry_delay(o, 4000000000u, far, kT0, 1.0) == 60000ms);
    // 20 s left: never wait more than half of it.
    CHECK(refresh_retry_delay(o, 10, kT0 + 20s, kT0, 1.0) == 10000ms);
    // 1 s left: still at least min_interval.
    CHECK(refresh_retry_delay(o, 10, kT0 + 1s, kT0, 1.0) == 1000ms);
    // Expired: the plain backoff (keep trying, slowly).
    CHECK(refresh_retry_delay(o, 10, kT0 - 1s, kT0, 1.0) == 60000ms);
}

TEST_CASE("refreshing provider: credentials without expiry start no thread and stay") {
    auto* src = new ScriptedSource([](int) { return Result<Credentials>(temp("X", 1h)); });
    Credentials forever;
    forever.access_key_id = "AKID";
    forever.secret_access_key = "s";
    RefreshingCredentialsProvider p(std::unique_ptr<CredentialSource>(src), forever, fast());
    std::this_thread::sleep_for(100ms);
    CHECK(src->calls() == 0);
    CHECK(p.current()->access_key_id == "AKID");
    CHECK(p.name() == "scripted");
}

TEST_CASE("refreshing provider: refreshes in the background before expiry") {
    auto* src = new ScriptedSource(
        [](int n) { return Result<Credentials>(temp("K" + std::to_string(n + 1), 400ms)); });
    RefreshingCredentialsProvider p(std::unique_ptr<CredentialSource>(src), temp("K1", 400ms),
                                    fast());
    CHECK(p.current()->access_key_id == "K1");
    REQUIRE(src->wait_calls(3));
    // The third fetch may still be storing; the second's result is in place at least.
    auto c = p.current();
    CHECK((c->access_key_id == "K3" || c->access_key_id == "K4"));
    CHECK(p.stats().refreshes >= 2);
    CHECK(p.stats().refresh_failures == 0);
}

TEST_CASE("refreshing provider: a failed refresh keeps the old credentials and is counted") {
    auto* src = new ScriptedSource([](int n) -> Result<Credentials> {
        if (n <= 3) return Status(Code::unavailable, "scripted: STS is down");
        return temp("NEW", 1h);
    });
    RefreshingCredentialsProvider p(std::unique_ptr<CredentialSource>(src), temp("OLD", 150ms),
                                    fast());
    REQUIRE(src->wait_calls(2));
    CHECK(p.current()->access_key_id == "OLD");
    REQUIRE(src->wait_calls(4));
    // The fourth call succeeded; wait for its store to be visible.
    for (int i = 0; i < 2000 && p.current()->access_key_id != "NEW"; ++i)
        std::this_thread::sleep_for(5ms);
    CHECK(p.current()->access_key_id == "NEW");
    auto s = p.stats();
    CHECK(s.refresh_failures == 3);
    CHECK(s.refreshes == 1);
    CHECK_FALSE(s.expired);
}

TEST_CASE("refreshing provider: expired credentials stay in use while refreshes fail") {
    for (bool stable : {false, true}) {
        CAPTURE(stable);
        auto* src = new ScriptedSource(
            [](int) -> Result<Credentials> { return Status(Code::timeout, "scripted: timed out"); },
            stable);
        RefreshingCredentialsProvider p(std::unique_ptr<CredentialSource>(src), temp("OLD", 50ms),
                                        fast());
        REQUIRE(src->wait_calls(4));
        CHECK(p.current()->access_key_id == "OLD");
        CHECK(p.stats().expired);
        CHECK(p.stats().refresh_failures >= 3);
    }
}

TEST_CASE("refreshing provider: refresh_now and concurrent readers") {
    auto* src = new ScriptedSource(
        [](int n) { return Result<Credentials>(temp("N" + std::to_string(n), 1h)); });
    RefreshingCredentialsProvider p(std::unique_ptr<CredentialSource>(src), temp("N0", 1h));
    std::atomic<bool> done{false};
    std::atomic<int> started{0};
    std::atomic<int> saw_last{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 3; ++i)
        readers.emplace_back([&] {
            started.fetch_add(1);
            bool last = false;
            while (!last) {
                auto c = p.current();
                REQUIRE(c != nullptr);
                REQUIRE(c->access_key_id[0] == 'N');
                // Each thread's cached copy must move on to the newest credentials.
                last = done.load() && c->access_key_id == "N20";
            }
            saw_last.fetch_add(1);
        });
    while (started.load() < 3)
        std::this_thread::yield();
    for (int i = 1; i <= 20; ++i) {
        REQUIRE(p.refresh_now().ok());
        CHECK(p.current()->access_key_id == "N" + std::to_string(i));
    }
    done.store(true);
    for (auto& t : readers)
        t.join();
    CHECK(saw_last.load() == 3);
    CHECK(p.stats().refreshes == 20);
    // The background thread was waiting ~45 minutes ahead and is stopped promptly here.
}

TEST_CASE("refreshing provider: two providers on one thread keep their own credentials") {
    auto make = [](std::string prefix) {
        auto* src = new ScriptedSource(
            [prefix](int n) { return Result<Credentials>(temp(prefix + std::to_string(n), 1h)); });
        return std::make_unique<RefreshingCredentialsProvider>(
            std::unique_ptr<CredentialSource>(src), temp(prefix + "0", 1h));
    };
    auto a = make("A");
    auto b = make("B");
    for (int round = 1; round <= 3; ++round) {
        CHECK(a->current()->access_key_id == "A" + std::to_string(round - 1));
        CHECK(b->current()->access_key_id == "B" + std::to_string(round - 1));
        REQUIRE(a->refresh_now().ok());
        CHECK(a->current()->access_key_id == "A" + std::to_string(round));
        CHECK(b->current()->access_key_id == "B" + std::to_string(round - 1));
        REQUIRE(b->refresh_now().ok());
    }
    // A provider created after another was destroyed never sees the old one's cache entry.
    a.reset();
    auto c = make("C");
    CHECK(c->current()->access_key_id == "C0");
}
