// CacheLifecycle: configuration to cache::Evictor/CacheScan/CacheIndex and ops::AdminServer.
#include "xs3/app/cache_lifecycle.hpp"

#include "xs3/base/log.hpp"
#include "xs3/cache/purge.hpp"
#include "xs3/ops/cache_report.hpp"

namespace xs3::app {

cache::EvictorOptions evictor_options(const config::Config& cfg) {
    cache::EvictorOptions o;
    o.max_bytes = cfg.max_cache_size;
    o.watermark_percent = cfg.gc_watermark_percent;
    o.target_percent = cfg.gc_target_percent;
    o.min_free = cfg.min_free_space;
    o.interval = cfg.gc_interval;
    return o;
}

CacheLifecycle::CacheLifecycle(const config::Config& cfg)
    : bucket_(cfg.bucket),
      bucket_paths_(!cfg.buckets.empty()),
      admin_ip_(cfg.admin_bind_ip),
      admin_port_(cfg.admin_port),
      store_(cfg.cache_dir, cfg.cache_hierarchy_level),
      index_(cfg.max_cache_size),
      evictor_(index_, store_, evictor_options(cfg)),
      scan_(store_, index_) {}

CacheLifecycle::~CacheLifecycle() {
    stop();
}

void CacheLifecycle::start_cache(std::function<void(const cache::ScanStats&)> on_scan_finished) {
    if (cache_started_) return;
    cache_started_ = true;
    auto stale = store_.retire_temp_dir();
    if (!stale.ok())
        XS3_LOG_WARN("cannot move the old temp directory aside",
                     kv("error", stale.status().to_string()));
    if (on_scan_finished) scan_.set_on_finished(std::move(on_scan_finished));
    scan_.start();
    evictor_.start();
}

Status CacheLifecycle::start_admin(ops::AdminHooks proxy) {
    if (admin_port_ == 0 || admin_) return {};
    ops::AdminHooks hooks = std::move(proxy);
    auto proxy_metrics = std::move(hooks.metrics);
    hooks.metrics = [this, proxy_metrics] {
        ops::PrometheusText cache_text;
        ops::append_cache_metrics(cache_text, usage());
        return (proxy_metrics ? proxy_metrics() : std::string()) + cache_text.text();
    };
    hooks.usage = [this] { return usage(); };
    hooks.purge = [this](const ops::PurgeRequest& p) -> Result<ops::PurgeReply> {
        // With a bucket list the value names its bucket first, as client URLs do: bucket/key.
        std::string bucket = bucket_;
        std::string value = p.value;
        if (bucket_paths_) {
            size_t slash = value.find('/');
            if (slash == std::string::npos || slash == 0)
                return Status(Code::invalid_argument, "give bucket/key or bucket/prefix");
            bucket = value.substr(0, slash);
            value = value.substr(slash + 1);
        }
        auto out = p.kind == ops::PurgeRequest::Kind::key
                       ? cache::purge_object(index_, store_, cache::ObjectName{bucket, value, ""})
                       : cache::purge_prefix(index_, store_, bucket, value);
        if (!out.ok()) return out.status();
        XS3_LOG_INFO("purged cache objects",
                     kv("by", p.kind == ops::PurgeRequest::Kind::key ? "key" : "prefix"),
                     kv("value", p.value), kv("objects", out->objects), kv("bytes", out->bytes));
        return ops::PurgeReply{out->objects, out->bytes, out->complete};
    };
    ops::AdminServerOptions options;
    options.bind_ip = admin_ip_;
    options.port = admin_port_;
    auto server = ops::AdminServer::start(options, std::move(hooks));
    if (!server.ok()) return server.status();
    admin_ = std::move(server.value());
    XS3_LOG_INFO("admin listener", kv("address", admin_ip_), kv("port", admin_->port()));
    return {};
}

void CacheLifecycle::stop_admin() {
    if (admin_) admin_->stop();
}

void CacheLifecycle::stop() {
    stop_admin();
    scan_.stop();
    evictor_.stop();
}

cache::CacheUsage CacheLifecycle::usage() const {
    return cache::collect_usage(index_, evictor_, scan_);
}

}  // namespace xs3::app
