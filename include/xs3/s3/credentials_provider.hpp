// Credentials providers: what the signer asks for credentials on every request.
//
// current() is called on ring threads for every signed request, so it must be cheap and never
// wait: a refreshing provider keeps, per thread, the shared_ptr it handed out last and a version
// number; while the version is unchanged (hours, between refreshes) current() is an atomic load
// and a shared_ptr copy. Only the first call after a refresh takes a mutex, which the refresh
// thread holds just to swap one pointer. (std::atomic<std::shared_ptr> would do, but libstdc++
// 12's load unlocks with a relaxed store, a data race ThreadSanitizer rightly reports.) Never
// null, no I/O. Temporary credentials (STS, container, IMDS) come from
// a CredentialSource that a RefreshingCredentialsProvider asks again on its own background thread
// before they expire, with the SDKs' refresh window (5-15 minutes ahead, jittered, at most half
// their lifetime). A failed refresh keeps the old credentials, is logged and counted, and is
// retried with backoff; credentials that expire anyway stay in use (S3 then answers
// ExpiredToken) until a refresh succeeds, logged as an error (a warning for IMDS, whose
// credentials the SDKs deliberately keep using: "static stability").
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "xs3/base/status.hpp"
#include "xs3/s3/credentials.hpp"

namespace xs3::s3 {

class CredentialsProvider {
  public:
    struct Stats {
        uint64_t refreshes = 0;         // successful background (or refresh_now) fetches
        uint64_t refresh_failures = 0;  // failed ones
        bool expired = false;           // current() returns credentials past their expiration
    };

    virtual ~CredentialsProvider() = default;
    // The credentials to sign with now: never null, never blocks.
    virtual std::shared_ptr<const Credentials> current() const noexcept = 0;
    // Which source they come from: "config", "environment", "profile", "web-identity",
    // "container", "imds", "anonymous".
    virtual std::string_view name() const noexcept = 0;
    virtual Stats stats() const noexcept { return {}; }
};

// Credentials that never change (config file keys, environment, profile keys, anonymous).
std::shared_ptr<CredentialsProvider> make_static_provider(Credentials credentials,
                                                          std::string name);

// Something that can fetch credentials again: blocking, with its own timeouts. Called from one
// thread at a time.
class CredentialSource {
  public:
    virtual ~CredentialSource() = default;
    virtual std::string_view name() const noexcept = 0;
    // Fresh credentials, or an error whose message names the source and never a secret.
    virtual Result<Credentials> fetch() = 0;
    // Keep using expired credentials when refreshing fails, without alarm (IMDS).
    virtual bool static_stability() const noexcept { return false; }
};

struct RefreshOptions {
    std::chrono::milliseconds min_lead{5 * 60 * 1000};   // refresh at least this long ahead...
    std::chrono::milliseconds max_lead{15 * 60 * 1000};  // ...at most this long (jittered)
    std::chrono::milliseconds min_interval{1000};        // never refresh more often than this
    std::chrono::milliseconds retry_base{1000};          // after a failed refresh, doubling...
    std::chrono::milliseconds retry_max{60 * 1000};      // ...up to this
};

using SystemTime = std::chrono::system_clock::time_point;

// When to refresh credentials received at `received` that expire at `expiration`: expiration
// minus a lead drawn from [min_lead, max_lead] by random01 and capped at half the lifetime, but
// never earlier than now + min_interval. Pure.
SystemTime next_refresh_time(const RefreshOptions& options, SystemTime received,
                             SystemTime expiration, SystemTime now, double random01);

// The wait before retrying after `failures` (>= 1) failed refreshes in a row: retry_base doubled
// per failure up to retry_max, jittered to [50%, 100%]; while the credentials are still valid,
// no longer than half the time they have left (at least min_interval). Pure.
std::chrono::milliseconds refresh_retry_delay(const RefreshOptions& options, unsigned failures,
                                              SystemTime expiration, SystemTime now,
                                              double random01);

class RefreshingCredentialsProvider final : public CredentialsProvider {
  public:
    // `initial` came from source->fetch() at start-up. The refresh thread starts only when the
    // credentials have an expiration.
    RefreshingCredentialsProvider(std::unique_ptr<CredentialSource> source, Credentials initial,
                                  RefreshOptions options = {});
    // Stops the refresh thread (waiting for a fetch in progress, bounded by its timeouts).
    ~RefreshingCredentialsProvider() override;
    RefreshingCredentialsProvider(const RefreshingCredentialsProvider&) = delete;
    RefreshingCredentialsProvider& operator=(const RefreshingCredentialsProvider&) = delete;

    std::shared_ptr<const Credentials> current() const noexcept override;
    std::string_view name() const noexcept override { return source_->name(); }
    Stats stats() const noexcept override;

    // Fetches on the calling thread now; on success the result replaces the current credentials
    // and the refresh schedule starts over. For tests and operators (a future SIGHUP).
    Status refresh_now();

  private:
    void run() noexcept;
    Status fetch_and_store() noexcept;

    std::unique_ptr<CredentialSource> source_;
    RefreshOptions options_;
    void publish(Credentials c);

    const uint64_t id_;  // unique per provider, never reused: keys the per-thread cache
    mutable std::mutex current_mu_;
    std::shared_ptr<const Credentials> current_;  // guarded by current_mu_
    std::atomic<uint64_t> version_{0};            // bumped with current_, under current_mu_
    std::atomic<uint64_t> refreshes_{0};
    std::atomic<uint64_t> refresh_failures_{0};

    std::mutex fetch_mu_;  // one fetch at a time (refresh thread or refresh_now)
    std::mutex mu_;        // guards the fields below
    std::condition_variable cv_;
    bool stop_ = false;
    SystemTime received_;
    unsigned failures_in_row_ = 0;
    uint64_t generation_ = 0;  // bumped by each successful fetch: the schedule restarts
    bool logged_expired_ = false;
    std::thread thread_;
};

}  // namespace xs3::s3
