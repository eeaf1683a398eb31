// xs3lerator entry point: configuration, start-up checks, one worker thread per ring, signals.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "xs3/base/log.hpp"
#include "xs3/config/config.hpp"
#include "xs3/net/listener.hpp"
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

// True when the directory holds nothing but the temp directory.
bool cache_dir_is_empty(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return false;
    bool empty = true;
    while (dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n != "." && n != ".." && n != ".tmp") {
            empty = false;
            break;
        }
    }
    ::closedir(d);
    return empty;
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
    po.h2.max_concurrent_streams = cfg.h2_max_concurrent_streams;
    po.h2.max_header_list_size =
        static_cast<uint32_t>(std::min<uint64_t>(cfg.max_header_bytes, UINT32_MAX));
    po.h2.initial_window_size = cfg.h2_initial_window_size;
    po.h2.reset_window = cfg.h2_rapid_reset_window;
    po.h2.max_resets_per_window = cfg.h2_rapid_reset_limit;
    // Larger DATA frames when the client's SETTINGS_MAX_FRAME_SIZE allows them: fewer frame
    // headers per payload byte (most clients keep the 16 KiB default).
    po.h2.max_data_frame_payload = 64 * 1024;
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
    auto shared = std::make_unique<proxy::SharedState>(po, origin, cfg.cache_dir,
                                                       cfg.cache_hierarchy_level, 2);
    Status writable = shared->store.check_writable();
    if (!writable.ok()) {
        XS3_LOG_WARN("cache directory is not usable; starting in passthrough mode",
                     kv("cache_dir", cfg.cache_dir), kv("error", writable.to_string()));
        shared->cache_failed(writable);
        shared->cache_writable.store(false);
    } else {
        auto cleaned = shared->store.clean_temp_dir();
        if (cleaned.ok() && cleaned.value() > 0)
            XS3_LOG_INFO("removed partial downloads left by an earlier run",
                         kv("files", cleaned.value()));
        // An empty cache holds nothing the name memo does not know: cold names go straight to
        // a ranged GET. A cache from an earlier run is not catalogued yet: HEAD first.
        if (cache_dir_is_empty(cfg.cache_dir)) shared->names_complete.store(true);
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
    std::vector<std::unique_ptr<proxy::Worker>> ws;
    for (unsigned i = 0; i < workers; ++i)
        ws.push_back(std::make_unique<proxy::Worker>(*shared, static_cast<int>(i), fds[i]));
    for (auto& w : ws)
        shared->workers.push_back(w.get());
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

    int sig = 0;
    sigwait(&sigs, &sig);
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
    XS3_LOG_INFO("stopped");
    stop_logger();
    return failed.load() > 0 ? 1 : 0;
}
