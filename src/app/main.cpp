// xs3lerator entry point: configuration, start-up checks, one worker thread per ring, signals.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "xs3/app/cache_lifecycle.hpp"
#include "xs3/base/log.hpp"
#include "xs3/config/config.hpp"
#include "xs3/net/listener.hpp"
#include "xs3/ops/prometheus.hpp"
#include "xs3/proxy/server.hpp"
#include "xs3/s3/credentials.hpp"
#include "xs3/s3/curl_client.hpp"
#include "xs3/s3/url.hpp"

using namespace xs3;

namespace {

const char* env(const char* name) {
    const char* v = std::getenv(name);
    return (v != nullptr && *v != '\0') ? v : nullptr;
}

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "xs3lerator: %s\n", message.c_str());
    std::exit(2);
}

std::string resolve_region(const config::Config& cfg) {
    if (cfg.region) return *cfg.region;
    if (const char* r = env("AWS_REGION")) return r;
    if (const char* r = env("AWS_DEFAULT_REGION")) return r;
    return "us-east-1";
}

}  // namespace

int main(int argc, char** argv) {
    auto loaded = config::load_config(argc, argv, [](const char* n) { return env(n); });
    if (!loaded.ok()) die(loaded.status().message());
    config::Config cfg = std::move(loaded).value();
    if (cfg.action == config::Config::Action::help) {
        std::fputs(config::help_text().c_str(), stdout);
        return 0;
    }
    if (cfg.action == config::Config::Action::version) {
        std::fputs(config::version_text().c_str(), stdout);
        return 0;
    }
    set_log_level(cfg.log_level);

    // Signals are taken by sigwait in main; every thread inherits the block.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    signal(SIGPIPE, SIG_IGN);
    // A cache write past a file-size limit must fail with EFBIG (then: passthrough), not kill us.
    signal(SIGXFSZ, SIG_IGN);

    start_logger();
    s3::curl_global_setup();

    auto creds = s3::credentials_from_env([](const char* n) { return env(n); });
    if (!creds.ok()) die(creds.status().message());
    proxy::OriginOptions origin;
    origin.bucket = cfg.bucket;
    origin.region = resolve_region(cfg);
    if (creds.value()) {
        origin.credentials = *creds.value();
        XS3_LOG_INFO("credentials from environment", kv("id", s3::redact(origin.credentials)));
    } else {
        XS3_LOG_WARN("no credentials found; S3 requests are sent unsigned (anonymous)");
    }
    if (cfg.s3_endpoint_url) {
        auto ep = s3::parse_endpoint_url(*cfg.s3_endpoint_url);
        if (!ep.ok()) die("invalid value for --s3-endpoint-url: " + ep.status().message());
        origin.endpoint = ep.value();
    } else {
        origin.endpoint = s3::default_endpoint(origin.region);
    }
    origin.endpoint.path_style = cfg.s3_force_path_style;
    origin.connect_timeout = cfg.upstream_connect_timeout;
    origin.timeout = cfg.upstream_timeout;
    if (!s3::is_valid_bucket_name(cfg.bucket))
        die("invalid value for --bucket: '" + cfg.bucket + "'");

    proxy::ProxyOptions po;
    po.limits.max_header_bytes = cfg.max_header_bytes;
    po.idle_timeout = cfg.idle_timeout;
    po.header_timeout = cfg.header_timeout;
    po.max_connections = cfg.max_connections;
    po.output.file_mode =
        cfg.send_mode == "splice" ? net::FileSendMode::splice : net::FileSendMode::copy;
    po.output.splice_size = static_cast<unsigned>(cfg.splice_size);
    po.copy_size = static_cast<unsigned>(cfg.copy_size);
    po.pipe_size = static_cast<unsigned>(cfg.pipe_size);
    po.direct_io = cfg.direct_io;
    po.max_cache_size = cfg.max_cache_size;
    po.preallocate = cfg.preallocate;
    po.metadata_ttl = cfg.metadata_ttl;
    po.immutable = cfg.immutable;
    po.stale_if_error = cfg.stale_if_error;
    po.abandon_on_disconnect = cfg.abandon_on_disconnect;
    po.download.planner.chunk_size = cfg.chunk_size;
    po.download.planner.min_chunk_size = cfg.min_chunk_size;
    po.download.planner.max_chunk_size = cfg.max_chunk_size;
    po.download.planner.max_concurrency = cfg.max_concurrency;
    // O_DIRECT writes whole blocks at block-aligned offsets: chunks start on 4 KiB boundaries.
    if (cfg.direct_io) po.download.planner.alignment = 4096;
    po.download.max_attempts = cfg.chunk_retries + 1;
    po.download.connect_timeout = cfg.upstream_connect_timeout;
    po.download.low_speed_timeout = cfg.upstream_timeout;

    unsigned workers = cfg.workers;
    // The cache's index, scan, evictor and admin listener outlive the proxy's shared state.
    app::CacheLifecycle cache_life(cfg);
    auto shared = std::make_unique<proxy::SharedState>(
        po, origin, cfg.cache_dir, cfg.cache_hierarchy_level, 2, cache_life.index());
    Status writable = shared->store.check_writable();
    if (!writable.ok()) {
        XS3_LOG_WARN("cache directory is not usable; starting in passthrough mode",
                     kv("cache_dir", cfg.cache_dir), kv("error", writable.to_string()));
        shared->cache_failed(writable);
        shared->cache_writable.store(false);
    }

    // Bind every listener before any thread starts, so a bad address fails start-up clearly.
    std::vector<int> fds;
    for (unsigned i = 0; i < workers; ++i) {
        auto fd = net::listen_tcp(cfg.bind_ip, cfg.port);
        if (!fd.ok())
            die("cannot listen on " + cfg.bind_ip + ":" + std::to_string(cfg.port) + ": " +
                fd.status().message());
        fds.push_back(fd.value());
    }

    // The admin listener, then the index's background scan (it moves an earlier run's temp
    // files aside; until it ends, names the index does not know start with a HEAD) and the
    // evictor.
    std::atomic<bool> serving{false};
    {
        ops::AdminHooks admin;
        admin.ready = [&serving] { return serving.load(); };
        admin.metrics = [&shared] {
            const proxy::Counters& c = shared->counters;
            ops::PrometheusText t;
            t.counter("xs3_requests_total", "Requests received", c.requests.load());
            t.counter("xs3_hits_total", "Requests answered from the cache", c.hits.load());
            t.counter("xs3_misses_total", "Requests that started or joined a download",
                      c.misses.load());
            t.counter("xs3_passes_total", "Requests served passthrough", c.passes.load());
            t.counter("xs3_responses_cut_total", "Responses cut before their end",
                      c.responses_cut.load());
            t.counter("xs3_connections_refused_total", "Connections over --max-connections",
                      c.connections_refused.load());
            t.counter("xs3_downloads_started_total", "Downloads into the cache started",
                      c.downloads_started.load());
            t.counter("xs3_downloads_published_total", "Downloads published into the cache",
                      c.downloads_published.load());
            t.counter("xs3_downloads_failed_total", "Downloads that failed for good",
                      c.downloads_failed.load());
            t.counter("xs3_sha224_mismatches_total",
                      "Downloads discarded because their bytes did not match x-amz-meta-sha224",
                      c.sha224_mismatches.load());
            t.counter("xs3_chunk_retries_total", "Chunk GETs retried", c.chunk_retries.load());
            t.counter("xs3_origin_bytes_total", "Object bytes received from S3 by downloads",
                      c.origin_bytes.load());
            t.gauge("xs3_connections", "Open client connections", shared->connections.load());
            return t.text();
        };
        admin.warm = [&shared](const std::vector<std::string>& keys) {
            auto started = shared->warm(keys);
            ops::WarmReply reply;
            reply.accepted = started.accepted;
            reply.rejected = std::move(started.rejected);
            return reply;
        };
        Status admin_started = cache_life.start_admin(std::move(admin));
        if (!admin_started.ok()) die("cannot start the admin listener: " + admin_started.message());
        if (shared->cache_writable.load()) {
            proxy::SharedState* sp = shared.get();
            cache_life.start_cache(
                [sp](const cache::ScanStats&) { sp->names_complete.store(true); });
        }
    }
    std::vector<std::unique_ptr<proxy::Worker>> ws;
    for (unsigned i = 0; i < workers; ++i)
        ws.push_back(std::make_unique<proxy::Worker>(*shared, static_cast<int>(i), fds[i]));
    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    for (auto& w : ws)
        threads.emplace_back([&w, &failed] {
            Status s = w->run();
            if (!s.ok()) {
                XS3_LOG_ERROR("worker failed to start", kv("worker", w->id()),
                              kv("error", s.to_string()));
                failed.fetch_add(1);
                kill(getpid(), SIGTERM);
            }
        });
    XS3_LOG_INFO("xs3lerator listening", kv("address", cfg.bind_ip), kv("port", cfg.port),
                 kv("workers", workers), kv("bucket", cfg.bucket), kv("region", origin.region),
                 kv("cache_dir", cfg.cache_dir));
    serving.store(true);

    int sig = 0;
    sigwait(&sigs, &sig);
    serving.store(false);
    cache_life.stop_admin();
    XS3_LOG_INFO("shutting down: draining connections", kv("signal", sig));
    // 1. Let in-flight responses finish (10 s at most); the rings keep running.
    for (auto& w : ws)
        w->drain(std::chrono::seconds(10));
    auto all_drained = [&] {
        for (auto& w : ws)
            if (!w->drained() && failed.load() == 0) return false;
        return true;
    };
    for (int i = 0; i < 1200 && !all_drained(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // 2. Stop the downloads still warming the cache, and wait until their chunk fetches (which
    //    may run on any ring) are gone, so no ring's curl client goes away under one of them.
    shared->downloads.fail_all(Status(Code::cancelled, "shutting down"));
    for (int i = 0;
         i < 300 && (fetch::Download::live_fetchers() > 0 || shared->downloads.active() > 0); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (fetch::Download::live_fetchers() > 0)
        XS3_LOG_WARN("chunk fetches still running at shutdown",
                     kv("fetchers", fetch::Download::live_fetchers()));
    // 3. Stop the rings; each tears its connections and curl client down on its own thread.
    for (auto& w : ws)
        w->stop();
    for (auto& t : threads)
        t.join();
    // 4. Finish blocking work (its answers land in the stopped rings' queues), then free.
    shared->shutdown();
    ws.clear();
    shared.reset();
    cache_life.stop();
    XS3_LOG_INFO("stopped");
    stop_logger();
    return failed.load() > 0 ? 1 : 0;
}
