// Static and refreshing credentials providers, and the refresh schedule.
#include "xs3/s3/credentials_provider.hpp"

#include <algorithm>
#include <vector>

#include "xs3/base/log.hpp"
#include "xs3/s3/retry.hpp"

namespace xs3::s3 {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

uint64_t next_provider_id() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

class StaticProvider final : public CredentialsProvider {
  public:
    StaticProvider(Credentials c, std::string name)
        : credentials_(std::make_shared<const Credentials>(std::move(c))), name_(std::move(name)) {}
    std::shared_ptr<const Credentials> current() const noexcept override { return credentials_; }
    std::string_view name() const noexcept override { return name_; }

  private:
    std::shared_ptr<const Credentials> credentials_;  // never replaced: no atomic needed
    std::string name_;
};

}  // namespace

std::shared_ptr<CredentialsProvider> make_static_provider(Credentials credentials,
                                                          std::string name) {
    return std::make_shared<StaticProvider>(std::move(credentials), std::move(name));
}

SystemTime next_refresh_time(const RefreshOptions& o, SystemTime received, SystemTime expiration,
                             SystemTime now, double random01) {
    const double r = std::clamp(random01, 0.0, 1.0);
    auto lead = o.min_lead + milliseconds(static_cast<int64_t>(
                                 r * static_cast<double>((o.max_lead - o.min_lead).count())));
    const auto lifetime = duration_cast<milliseconds>(expiration - received);
    lead = std::min(lead, std::max(milliseconds(0), lifetime / 2));
    const SystemTime at = expiration - lead;
    const SystemTime earliest = now + o.min_interval;
    return std::max(at, earliest);
}

milliseconds refresh_retry_delay(const RefreshOptions& o, unsigned failures, SystemTime expiration,
                                 SystemTime now, double random01) {
    double ceiling = static_cast<double>(o.retry_base.count());
    const double cap = static_cast<double>(o.retry_max.count());
    for (unsigned i = 1; i < failures && ceiling < cap; ++i)
        ceiling *= 2;
    ceiling = std::min(ceiling, cap);
    const double r = std::clamp(random01, 0.0, 1.0);
    auto delay = milliseconds(static_cast<int64_t>(ceiling * (0.5 + r / 2)));
    if (expiration > now) {
        const auto half_left = duration_cast<milliseconds>(expiration - now) / 2;
        delay = std::min(delay, std::max(o.min_interval, half_left));
    }
    return std::max(delay, o.min_interval);
}

RefreshingCredentialsProvider::RefreshingCredentialsProvider(
    std::unique_ptr<CredentialSource> source, Credentials initial, RefreshOptions options)
    : source_(std::move(source)),
      options_(options),
      id_(next_provider_id()),
      received_(std::chrono::system_clock::now()) {
    const bool expires = initial.expiration.has_value();
    publish(std::move(initial));
    if (expires) thread_ = std::thread([this] { run(); });
}

RefreshingCredentialsProvider::~RefreshingCredentialsProvider() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void RefreshingCredentialsProvider::publish(Credentials c) {
    auto fresh = std::make_shared<const Credentials>(std::move(c));
    std::lock_guard lk(current_mu_);
    current_.swap(fresh);
    version_.fetch_add(1, std::memory_order_release);
    // The old credentials are released here (or by the last thread still holding them).
}

std::shared_ptr<const Credentials> RefreshingCredentialsProvider::current() const noexcept {
    struct Entry {
        uint64_t provider;
        uint64_t version;
        std::shared_ptr<const Credentials> credentials;
    };
    // A handful of providers per process (one per bucket at most); the oldest entry goes first.
    thread_local std::vector<Entry> cache;
    const uint64_t version = version_.load(std::memory_order_acquire);
    Entry* entry = nullptr;
    for (Entry& e : cache)
        if (e.provider == id_) entry = &e;
    if (entry != nullptr && entry->version == version) return entry->credentials;
    std::shared_ptr<const Credentials> now;
    uint64_t now_version;
    {
        std::lock_guard lk(current_mu_);
        now = current_;
        now_version = version_.load(std::memory_order_relaxed);
    }
    if (entry == nullptr) {
        if (cache.size() >= 16) cache.erase(cache.begin());
        cache.push_back(Entry{id_, now_version, now});
    } else {
        entry->version = now_version;
        entry->credentials = now;
    }
    return now;
}

CredentialsProvider::Stats RefreshingCredentialsProvider::stats() const noexcept {
    Stats s;
    s.refreshes = refreshes_.load(std::memory_order_relaxed);
    s.refresh_failures = refresh_failures_.load(std::memory_order_relaxed);
    auto c = current();
    s.expired = c->expiration && *c->expiration <= std::chrono::system_clock::now();
    return s;
}

Status RefreshingCredentialsProvider::refresh_now() {
    Status st = fetch_and_store();
    cv_.notify_all();
    return st;
}

Status RefreshingCredentialsProvider::fetch_and_store() noexcept {
    std::lock_guard fetch_lock(fetch_mu_);
    Result<Credentials> fresh = source_->fetch();
    const SystemTime now = std::chrono::system_clock::now();
    if (!fresh.ok()) {
        refresh_failures_.fetch_add(1, std::memory_order_relaxed);
        std::shared_ptr<const Credentials> old = current();
        const bool expired = old->expiration && *old->expiration <= now;
        bool first_expiry_log = false;
        {
            std::lock_guard lk(mu_);
            ++failures_in_row_;
            if (expired && !logged_expired_) first_expiry_log = logged_expired_ = true;
        }
        if (expired && first_expiry_log && !source_->static_stability()) {
            XS3_LOG_ERROR(
                "credentials expired and cannot be refreshed; S3 requests will fail "
                "until a refresh succeeds",
                kv("source", source_->name()), kv("error", fresh.status().message()));
        } else if (expired && first_expiry_log) {
            XS3_LOG_WARN("credentials expired; still using them while refreshes fail",
                         kv("source", source_->name()), kv("error", fresh.status().message()));
        } else {
            XS3_LOG_WARN("credential refresh failed; keeping the current credentials",
                         kv("source", source_->name()), kv("error", fresh.status().message()),
                         kv("expired", expired));
        }
        return fresh.status();
    }
    Credentials c = std::move(fresh).value();
    const std::string described = redact(c);
    publish(std::move(c));
    refreshes_.fetch_add(1, std::memory_order_relaxed);
    {
        std::lock_guard lk(mu_);
        received_ = now;
        failures_in_row_ = 0;
        logged_expired_ = false;
        ++generation_;
    }
    XS3_LOG_INFO("credentials refreshed", kv("source", source_->name()),
                 kv("credentials", described));
    return {};
}

void RefreshingCredentialsProvider::run() noexcept {
    std::unique_lock lk(mu_);
    while (!stop_) {
        const SystemTime now = std::chrono::system_clock::now();
        std::shared_ptr<const Credentials> c = current();
        if (!c->expiration) {
            // A refresh returned credentials that never expire: nothing more to do.
            cv_.wait(lk, [this] { return stop_; });
            break;
        }
        const SystemTime wake =
            failures_in_row_ == 0
                ? next_refresh_time(options_, received_, *c->expiration, now, retry_jitter())
                : now + refresh_retry_delay(options_, failures_in_row_, *c->expiration, now,
                                            retry_jitter());
        const uint64_t generation = generation_;
        // Wake at least once a minute: the system clock may jump (suspend, NTP step).
        while (!stop_ && generation_ == generation) {
            const auto left = wake - std::chrono::system_clock::now();
            if (left <= std::chrono::system_clock::duration::zero()) break;
            cv_.wait_for(
                lk, std::min<std::chrono::system_clock::duration>(left, std::chrono::seconds(60)));
        }
        if (stop_) break;
        if (generation_ != generation) continue;  // refresh_now() got new credentials
        lk.unlock();
        (void)fetch_and_store();
        lk.lock();
    }
}

}  // namespace xs3::s3
