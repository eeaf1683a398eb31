// CacheLifecycle: the cache's long-running parts wired from the configuration — the index, the
// start-up scan, the evictor and the admin listener — so main starts and stops them as one. The
// request path reaches the index through index().
//
//   CacheLifecycle cache(cfg);              // before the proxy's shared state (it outlives it)
//   cache.start_cache();                    // cache dir usable: scan + evictor, before workers
//   Status st = cache.start_admin(hooks);   // binds --admin-bind-ip:--admin-port if set
//   ... workers run ...
//   cache.stop_admin();                     // at shutdown, before the proxy state goes
//   cache.stop();                           // after the workers: scan, evictor
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "xs3/cache/evictor.hpp"
#include "xs3/cache/index.hpp"
#include "xs3/cache/scan.hpp"
#include "xs3/cache/store.hpp"
#include "xs3/cache/usage.hpp"
#include "xs3/config/config.hpp"
#include "xs3/ops/admin_server.hpp"

namespace xs3::app {

cache::EvictorOptions evictor_options(const config::Config& cfg);

class CacheLifecycle {
  public:
    explicit CacheLifecycle(const config::Config& cfg);
    ~CacheLifecycle();  // stop()
    CacheLifecycle(const CacheLifecycle&) = delete;
    CacheLifecycle& operator=(const CacheLifecycle&) = delete;

    // Moves an earlier run's temp directory aside and starts the background scan and the
    // evictor. Call before the workers start, and only when the cache directory is usable.
    // `on_scan_finished` runs on the scan thread when the index holds every cached object.
    void start_cache(std::function<void(const cache::ScanStats&)> on_scan_finished = {});

    // Binds the admin listener when --admin-port is set (else does nothing). `proxy` gives what
    // only the proxy knows: its metrics text, readiness, and warm-up; /cache/usage, purge and
    // the cache's metric families are added here. The error names the address.
    Status start_admin(ops::AdminHooks proxy);

    // Stops the admin listener only (first thing at shutdown: its callbacks may use the proxy's
    // state). Idempotent.
    void stop_admin();
    // Stops the admin listener, the scan and the evictor (which drains queued removals and
    // writes every last-access time). Idempotent.
    void stop();

    cache::CacheIndex& index() noexcept { return index_; }
    const cache::Store& store() const noexcept { return store_; }
    cache::CacheUsage usage() const;
    uint16_t admin_port() const noexcept { return admin_ ? admin_->port() : 0; }

  private:
    const std::string bucket_;
    const bool bucket_paths_;  // purge values are bucket/key
    const std::string admin_ip_;
    const uint16_t admin_port_;
    cache::Store store_;
    cache::CacheIndex index_;
    cache::Evictor evictor_;
    cache::CacheScan scan_;
    std::unique_ptr<ops::AdminServer> admin_;
    bool cache_started_ = false;
};

}  // namespace xs3::app
