// xs3lerator entry point: configuration, start-up checks, one worker thread per ring, signals.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "xs3/app/cache_lifecycle.hpp"
#include "xs3/app/client_access.hpp"
#include "xs3/app/fleet_setup.hpp"
#include "xs3/base/heap.hpp"
#include "xs3/base/histogram.hpp"
#include "xs3/base/log.hpp"
#include "xs3/base/trace.hpp"
#include "xs3/base/unique_fd.hpp"
#include "xs3/config/config.hpp"
#include "xs3/fleet/membership.hpp"
#include "xs3/fleet/rendezvous.hpp"
#include "xs3/net/listener.hpp"
#include "xs3/ops/debug_report.hpp"
#include "xs3/ops/fleet_report.hpp"
#include "xs3/ops/prometheus.hpp"
#include "xs3/ops/trace_writer.hpp"
#include "xs3/proxy/debug_view.hpp"
#include "xs3/proxy/worker.hpp"
#include "xs3/s3/credential_chain.hpp"
#include "xs3/s3/credentials.hpp"
#include "xs3/s3/curl_client.hpp"
#include "xs3/s3/imds.hpp"
#include "xs3/s3/region.hpp"
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

// A config file that holds a secret should not be readable by others.
void check_secret_file_mode(const config::Config& cfg) {
    if (!cfg.config_file) return;
    if (!cfg.secret_access_key && cfg.clients.empty() && !cfg.admin_token) return;
    struct stat st {};
    if (::stat(cfg.config_file->c_str(), &st) != 0) return;
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        XS3_LOG_WARN(cfg.secret_access_key
                         ? "the config file holds secret_access_key but others may read it; "
                           "chmod 600"
                         : "the config file holds client secrets or the admin token but others "
                           "may read it; chmod 600",
                     kv("file", *cfg.config_file), kv("mode", mode));
    }
}

// S3 set-up: region, credentials and endpoint, in the AWS SDKs' order. `aws_endpoint`
// says whether the endpoint is AWS's own for the region (not an explicit URL).
s3::BucketOptions configure_s3(const config::Config& cfg, bool& aws_endpoint) {
    s3::ChainSystem sys = s3::real_chain_system();
    sys.getenv = [](const char* n) { return env(n); };

    const s3::CurlFeatures curl = s3::curl_features();
    XS3_LOG_INFO("libcurl", kv("version", curl.version), kv("tls", curl.ssl_version),
                 kv("async_dns", curl.async_dns));

    auto configured = s3::configured_region(cfg.region, sys.getenv, sys.read_file);
    if (!configured.ok()) die(configured.status().message());

    // An explicit endpoint is checked before credentials are fetched: nothing below may fail
    // while a refresh thread runs (exit() would not stop it).
    std::optional<std::string> endpoint_url = cfg.s3_endpoint_url;
    const char* endpoint_source = "--s3-endpoint-url";
    if (!endpoint_url) {
        endpoint_url = s3::endpoint_url_from_env(sys.getenv, "S3");
        endpoint_source = env("AWS_ENDPOINT_URL_S3") ? "AWS_ENDPOINT_URL_S3" : "AWS_ENDPOINT_URL";
        if (endpoint_url && (cfg.s3_fips || cfg.s3_dualstack))
            die(std::string(endpoint_source) +
                " names an endpoint, which cannot be combined with " +
                (cfg.s3_fips ? "--s3-fips" : "--s3-dualstack"));
    }
    std::optional<s3::Endpoint> explicit_endpoint;
    aws_endpoint = !endpoint_url;
    if (endpoint_url) {
        auto ep = s3::parse_endpoint_url(*endpoint_url);
        if (!ep.ok())
            die(std::string("invalid value for ") + endpoint_source + ": " + ep.status().message());
        explicit_endpoint = ep.value();
    }
    if (cfg.s3_fips && configured.value() && configured.value()->region.rfind("cn-", 0) == 0)
        die("--s3-fips: the China regions have no FIPS endpoints (region " +
            configured.value()->region + ")");

    s3::ChainOptions chain;
    if (cfg.access_key_id) {
        s3::Credentials c;
        c.access_key_id = *cfg.access_key_id;
        c.secret_access_key = *cfg.secret_access_key;
        if (cfg.session_token) c.session_token = *cfg.session_token;
        chain.static_credentials = std::move(c);
    }
    chain.anonymous = cfg.anonymous;
    chain.anonymous_fallback = cfg.anonymous_fallback;
    chain.region = configured.value() ? configured.value()->region : std::string();
    if (cfg.ca_bundle)
        chain.ca_bundle = *cfg.ca_bundle;
    else if (const char* ca = env("AWS_CA_BUNDLE"))
        chain.ca_bundle = ca;
    if ((!explicit_endpoint || explicit_endpoint->scheme == "https") && !curl.https)
        die("the S3 endpoint uses https but this libcurl has no TLS support");
    auto resolved = s3::resolve_credentials(chain, sys);
    if (!resolved.ok()) die("credentials: " + resolved.status().message());
    s3::ChainResult creds = std::move(resolved).value();

    // The region's last resort is IMDS, unless the chain already found it off or unreachable.
    std::vector<std::string> notes = creds.notes;
    s3::RegionChoice region;
    if (configured.value()) {
        region = *configured.value();
    } else {
        std::function<Result<std::string>()> imds_region;
        auto imds = s3::imds_options_from_env(sys.getenv);
        if (imds.ok() && imds.value() && creds.imds != s3::ImdsState::unreachable) {
            imds_region = [options = *imds.value(), http = sys.http] {
                return s3::ImdsClient(options, http).region();
            };
        }
        region = s3::fallback_region(imds_region, notes);
    }
    for (const std::string& note : notes)
        XS3_LOG_INFO("credential and region lookup", kv("note", note));
    const auto current = creds.provider->current();
    if (current->anonymous())
        XS3_LOG_WARN("S3 requests are sent unsigned (anonymous)", kv("why", creds.detail));
    else
        XS3_LOG_INFO("credentials", kv("source", creds.provider->name()),
                     kv("detail", creds.detail), kv("credentials", s3::redact(*current)));
    XS3_LOG_INFO("region", kv("region", region.region), kv("source", region.source));

    s3::BucketOptions origin;
    origin.bucket = cfg.bucket;
    origin.region = region.region;
    origin.credentials = creds.provider;
    if (explicit_endpoint) {
        origin.endpoint = *explicit_endpoint;
    } else {
        auto ep = s3::aws_s3_endpoint(region.region, {cfg.s3_dualstack, cfg.s3_fips});
        if (!ep.ok()) {
            creds.provider.reset();  // joins the refresh thread before exit()
            origin.credentials.reset();
            die(ep.status().message());
        }
        origin.endpoint = ep.value();
    }
    // IP literals and single-label hosts ("minio") cannot take the bucket as a DNS label.
    origin.endpoint.path_style = cfg.s3_force_path_style || origin.endpoint.path_style;
    std::string shown = origin.endpoint.scheme + "://" + origin.endpoint.host;
    if (origin.endpoint.port) shown += ":" + std::to_string(*origin.endpoint.port);
    XS3_LOG_INFO("S3 endpoint", kv("url", shown), kv("path_style", origin.endpoint.path_style));

    origin.connect_timeout = cfg.upstream_connect_timeout;
    origin.timeout = cfg.upstream_low_speed_time.value_or(cfg.upstream_timeout);
    origin.first_byte_timeout = cfg.upstream_first_byte_timeout.value_or(cfg.upstream_timeout);
    origin.low_speed_limit = static_cast<long>(cfg.upstream_low_speed_limit);
    origin.request_timeout = cfg.upstream_request_timeout;
    origin.ca_bundle = chain.ca_bundle;
    return origin;
}

// One origin per bucket served: --bucket first (if set), then the config file's [[buckets]], each
// with its own endpoint, region and credentials where it gives them. Bad entries stop start-up,
// naming the bucket and its line.
std::vector<s3::BucketOptions> bucket_origins(const config::Config& cfg,
                                              const s3::BucketOptions& base, bool aws_endpoint) {
    std::vector<s3::BucketOptions> out;
    if (!cfg.bucket.empty()) {
        out.push_back(base);
        out.back().bucket = cfg.bucket;
    }
    for (const auto& b : cfg.buckets) {
        std::string where = "[[buckets]] '" + b.name + "' at line " + std::to_string(b.line);
        s3::BucketOptions o = base;
        if (!cfg.bucket.empty() && b.name == cfg.bucket) {
            o = out.front();  // --bucket listed again: its entry adds the per-bucket settings
            out.erase(out.begin());
        }
        o.bucket = b.name;
        o.immutable = b.immutable;
        if (b.region) {
            o.region = *b.region;
            if (!b.endpoint && aws_endpoint) {
                auto ep = s3::aws_s3_endpoint(*b.region, {cfg.s3_dualstack, cfg.s3_fips});
                if (!ep.ok()) die(where + ": " + ep.status().message());
                o.endpoint = ep.value();
                o.endpoint.path_style = cfg.s3_force_path_style;
            }
        }
        if (b.endpoint) {
            auto ep = s3::parse_endpoint_url(*b.endpoint);
            if (!ep.ok()) die(where + ": endpoint: " + ep.status().message());
            o.endpoint = ep.value();
            o.endpoint.path_style = cfg.s3_force_path_style || o.endpoint.path_style;
        }
        if (b.path_style) o.endpoint.path_style = *b.path_style;
        if (b.access_key_id) {
            s3::Credentials c;
            c.access_key_id = *b.access_key_id;
            c.secret_access_key = *b.secret_access_key;
            if (b.session_token) c.session_token = *b.session_token;
            o.credentials = s3::make_static_provider(std::move(c), "bucket keys from the config");
        } else if (b.anonymous) {
            o.credentials = s3::make_static_provider(s3::Credentials{}, "anonymous bucket");
        }
        std::string shown = o.endpoint.scheme + "://" + o.endpoint.host;
        if (o.endpoint.port) shown += ":" + std::to_string(*o.endpoint.port);
        XS3_LOG_INFO("bucket", kv("bucket", o.bucket), kv("endpoint", shown),
                     kv("region", o.region), kv("path_style", o.endpoint.path_style),
                     kv("credentials", std::string(o.credentials ? o.credentials->name()
                                                                 : std::string_view("none"))),
                     kv("immutable", o.immutable));
        out.push_back(std::move(o));
    }
    return out;
}

// Connections, open cache files and S3 connections are all descriptors: take the hard limit
// (systemd and containers often leave the soft one at 1024) and say so when it is still short.
void raise_fd_limit(const config::Config& cfg) {
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = rl;
        want.rlim_cur = rl.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
    }
    uint64_t need = cfg.max_connections + cfg.open_files + 256;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
        XS3_LOG_WARN(
            "the open-file limit is below what the configuration can use; connections "
            "or cache files may fail with EMFILE",
            kv("limit", static_cast<uint64_t>(rl.rlim_cur)), kv("needed", need));
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
    sigaddset(&sigs, SIGHUP);  // reopens the trace file
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    signal(SIGPIPE, SIG_IGN);
    // A cache write past a file-size limit must fail with EFBIG (then: passthrough), not kill us.
    signal(SIGXFSZ, SIG_IGN);

    start_logger();
    // --debug-trace: the writer lives until every thread that may emit is gone (the end of
    // main), so it is made before anything that could emit.
    std::unique_ptr<ops::TraceWriter> tracer;
    if (cfg.debug_trace) {
        ops::TraceWriterOptions to;
        to.path = *cfg.debug_trace;
        to.queue_events = cfg.debug_trace_queue;
        auto started = ops::TraceWriter::start(to);
        if (!started.ok()) die(started.status().message());
        tracer = std::move(started).value();
        trace::install(tracer.get());
        XS3_LOG_INFO("tracing", kv("path", to.path), kv("queue_events", to.queue_events));
    }
    raise_fd_limit(cfg);
    s3::curl_global_setup();

    if (!cfg.bucket.empty() && !s3::is_valid_bucket_name(cfg.bucket))
        die("invalid value for --bucket: '" + cfg.bucket + "'");
    for (const auto& b : cfg.buckets) {
        // Checked before any credentials are looked up: a typo should not cost an IMDS timeout.
        std::string where = "[[buckets]] '" + b.name + "' at line " + std::to_string(b.line);
        if (!s3::is_valid_bucket_name(b.name)) die(where + ": not a valid S3 bucket name");
        if (b.region && !s3::is_valid_region(*b.region)) die(where + ": not a valid region");
        if (b.endpoint) {
            auto ep = s3::parse_endpoint_url(*b.endpoint);
            if (!ep.ok()) die(where + ": endpoint: " + ep.status().message());
        }
    }
    check_secret_file_mode(cfg);
    // The fleet's members are resolved before credentials are looked up: a typo in --peers
    // should not cost an IMDS timeout, and nothing may stop start-up once a refresh thread runs.
    std::optional<fleet::MembershipOptions> fleet_options;
    if (app::fleet_configured(cfg)) {
        auto fo = app::fleet_membership_options(cfg);
        if (!fo.ok()) die(fo.status().message());
        fleet_options = std::move(fo).value();
    }
    bool aws_endpoint = false;
    s3::BucketOptions origin = configure_s3(cfg, aws_endpoint);
    std::vector<s3::BucketOptions> origins = bucket_origins(cfg, origin, aws_endpoint);
    auto admin_token = app::admin_token(cfg);
    if (!admin_token.ok()) die(admin_token.status().message());

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
    po.send_timeout = cfg.send_timeout;
    po.max_connections = cfg.max_connections;
    po.output.file_mode =
        cfg.send_mode == "splice" ? net::FileSendMode::splice : net::FileSendMode::copy;
    po.output.splice_size = static_cast<unsigned>(cfg.splice_size);
    po.copy_size = static_cast<unsigned>(cfg.copy_size);
    po.output.copy_depth = static_cast<unsigned>(cfg.copy_depth);
    po.copy_memory = cfg.copy_memory;
    po.open_files = cfg.open_files;
    po.access_log = cfg.access_log;
    po.virtual_host_suffixes = cfg.virtual_host_suffixes;
    po.max_ranges = cfg.max_ranges;
    po.open_file_max_bytes = cfg.open_file_max_bytes;
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
    po.retry =
        s3::RetryOptions::standard(cfg.max_attempts, cfg.retry_base_delay, cfg.retry_max_delay);
    po.retry_budget = {cfg.retry_budget, 5, 10, 1};
    // Client access control: a client may sign for the proxy's region or any served bucket's.
    std::vector<std::string> client_regions;
    for (const auto& o : origins)
        client_regions.push_back(o.region);
    client_regions.push_back(origin.region);
    po.client_verifier = app::client_verifier(cfg, std::move(client_regions));
    po.allow_clients = app::allowed_clients(cfg);
    po.download.retry = s3::RetryOptions::standard(cfg.chunk_retries + 1, cfg.retry_base_delay,
                                                   cfg.retry_max_delay);
    po.download.connect_timeout = cfg.upstream_connect_timeout;
    po.download.write_size = cfg.write_size;
    po.download.low_speed_timeout = cfg.upstream_low_speed_time.value_or(cfg.upstream_timeout);
    // S3 transport: a per-worker connection cap that also respects the total cap.
    po.max_upstream_connections = s3::connections_per_worker(
        cfg.max_upstream_connections, cfg.max_upstream_connections_total, cfg.workers);

    unsigned workers = cfg.workers;
    // The cache's index, scan, evictor and admin listener outlive the proxy's shared state.
    app::CacheLifecycle cache_life(cfg);
    auto shared = std::make_unique<proxy::SharedState>(po, std::move(origins), !cfg.buckets.empty(),
                                                       cfg.cache_dir, cfg.cache_hierarchy_level, 2,
                                                       cache_life.index());
    Status writable = shared->store.check_writable();
    if (!writable.ok()) {
        XS3_LOG_WARN("cache directory is not usable; starting in passthrough mode",
                     kv("cache_dir", cfg.cache_dir), kv("error", writable.to_string()));
        shared->writability.unusable(writable);
    }

    // The fleet's membership thread (DNS lookups, probes) runs from here to the end.
    std::unique_ptr<fleet::Membership> membership;
    if (fleet_options) {
        size_t members = fleet_options->static_peers.size();
        membership = std::make_unique<fleet::Membership>(std::move(*fleet_options));
        const auto& mo = membership->options();
        XS3_LOG_INFO(
            "fleet", kv("self", mo.self.id),
            kv("source", mo.dns ? "dns " + mo.dns->host + ":" + std::to_string(mo.dns->port)
                                : std::string("static")),
            kv("static_members", members), kv("signed", !mo.token.empty()));
        shared->fleet = membership.get();
        // Misses of objects another member owns take their chunks from it, S3 behind it.
        proxy::PeerSourceOptions po;
        po.first_byte = cfg.peer_timeout;
        po.stall = cfg.peer_timeout;
        po.connect = std::min(cfg.peer_timeout, std::chrono::milliseconds(1000));
        shared->fills.context().sources_for =
            proxy::peer_sources_for(*membership, po, shared->counters.peer_fill);
        membership->start();
    }

    // Bind every listener before any thread starts, so a bad address fails start-up clearly.
    // With --port 0 the first socket picks a free port and the others join it (SO_REUSEPORT):
    // one port, whatever the number of workers.
    std::vector<UniqueFd> fds;
    uint16_t port = cfg.port;
    for (unsigned i = 0; i < workers; ++i) {
        auto fd = net::listen_tcp(cfg.bind_ip, port);
        if (!fd.ok())
            die("cannot listen on " + cfg.bind_ip + ":" + std::to_string(port) + ": " +
                fd.status().message());
        fds.push_back(std::move(fd).value());
        if (port == 0) {
            auto bound = net::local_port(fds.back().get());
            if (!bound.ok()) die("cannot read the bound port: " + bound.status().message());
            port = bound.value();
        }
    }

    // The admin listener, then the index's background scan (it moves an earlier run's temp
    // files aside; until it ends, names the index does not know start with a HEAD) and the
    // evictor.
    std::atomic<bool> serving{false};
    // Memory freed after a burst goes back to the kernel (base/heap.hpp).
    HeapTrimmer heap_trimmer(HeapTrimmer::Options{});
    {
        ops::AdminHooks admin;
        admin.ready = [&serving] { return serving.load(); };
        admin.metrics = [&shared, &tracer, &heap_trimmer] {
            const proxy::Counters& c = shared->counters;
            ops::PrometheusText t;
            t.counter("xs3_requests_total", "Requests received", c.requests.load());
            t.counter("xs3_hits_total", "Requests answered from the cache", c.hits.load());
            t.counter("xs3_misses_total", "Requests that started or joined a download",
                      c.misses.load());
            t.counter("xs3_passes_total", "Requests served passthrough", c.passes.load());
            t.counter("xs3_open_file_hits_total", "Hits served from a file kept open",
                      c.open_file_hits.load());
            t.counter("xs3_responses_cut_total", "Responses cut before their end",
                      c.responses_cut.load());
            t.counter("xs3_connections_refused_total", "Connections over --max-connections",
                      c.connections_refused.load());
            t.counter("xs3_clients_refused_total", "Connections from outside --allow-clients",
                      c.clients_refused.load());
            t.counter("xs3_auth_refused_total",
                      "Requests refused by the [[clients]] signature check or bucket list",
                      c.auth_refused.load());
            t.counter("xs3_connections_reclaimed_total",
                      "Waiting connections closed to make room at --max-connections",
                      c.connections_reclaimed.load());
            t.counter("xs3_header_timeouts_total",
                      "Request heads not complete within --header-timeout",
                      c.header_timeouts.load());
            t.counter("xs3_send_timeouts_total",
                      "Answers given up after --send-timeout without progress",
                      c.send_timeouts.load());
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
            t.counter("xs3_peer_bytes_total",
                      "Object bytes received from fleet peers by downloads (not from S3)",
                      c.peer_bytes.load());
            t.gauge("xs3_retry_budget_tokens", "Retry tokens left (SDK standard-mode budget)",
                    shared->retry_budget.available());
            t.counter("xs3_retries_refused_total", "Retries refused because the budget was spent",
                      shared->retry_budget.refused());
            t.gauge("xs3_connections", "Open client connections", shared->connections.load());
            if (shared->fleet != nullptr) {
                ops::append_fleet_metrics(t, shared->fleet->report());
                t.counter("xs3_fleet_peer_requests_total",
                          "Peer fills this node served as an object's owner",
                          c.peer_requests.load());
                t.counter("xs3_fleet_peer_requests_refused_total",
                          "Requests with the hop header that were refused (403)",
                          c.peer_requests_refused.load());
                const proxy::PeerFillCounters& pf = c.peer_fill;
                t.counter("xs3_fleet_peer_fill_attempts_total",
                          "Chunk GETs this node sent to an object's owning peer",
                          pf.attempts.load());
                t.counter("xs3_fleet_peer_fill_fallbacks_total",
                          "Chunk GETs to a peer that failed; the chunk came from S3",
                          pf.fallbacks.load());
                t.counter("xs3_fleet_peer_fill_wrong_version_total",
                          "Of those: the peer answered 412 or another ETag than asked",
                          pf.wrong_version.load());
                t.counter("xs3_fleet_peer_fill_skipped_total",
                          "Chunks sent to S3 directly because their owner was suspected",
                          pf.skipped.load());
            }
            ops::TraceWriter::Stats ts = tracer ? tracer->stats() : ops::TraceWriter::Stats{};
            t.counter("xs3_trace_events_written_total", "Trace events written (--debug-trace)",
                      ts.written);
            t.counter("xs3_trace_events_dropped_total",
                      "Trace events dropped because the trace queue was full", ts.dropped);
            t.counter("xs3_trace_write_errors_total",
                      "Failed writes or reopenings of the trace file", ts.write_errors);
            for (const HistogramFamily* f : histogram_families())
                t.histogram(*f);
            HeapStats heap = heap_stats();
            t.gauge("xs3_heap_in_use_bytes", "Memory handed out by malloc", heap.in_use);
            t.gauge("xs3_resident_bytes", "Resident memory of the process", heap.rss);
            t.counter("xs3_heap_trims_total",
                      "Times freed heap memory was given back after a burst", heap_trimmer.trims());
            t.counter("xs3_heap_trimmed_bytes_total", "Resident memory the trims gave back",
                      heap_trimmer.released());
            return t.text();
        };
        admin.debug_downloads = [&shared] {
            return ops::downloads_json(proxy::download_views(*shared));
        };
        admin.debug_connections = [&shared] {
            return ops::connections_json(
                proxy::count_connections(*shared, std::chrono::milliseconds(2000)));
        };
        if (tracer)
            admin.trace_reopen = [&tracer] {
                tracer->reopen();
                return tracer->path();
            };
        if (membership) {
            admin.fleet = [&shared](const ops::FleetQuery& q) -> Result<std::string> {
                const fleet::Membership& m = *shared->fleet;
                std::optional<ops::FleetOwner> owner;
                if (q.key) {
                    ops::FleetOwner o;
                    o.bucket = q.bucket.value_or(shared->default_origin().bucket());
                    if (shared->origin_for(o.bucket) == nullptr)
                        return Status(Code::invalid_argument,
                                      "bucket '" + o.bucket + "' is not served");
                    o.key = *q.key;
                    o.version = q.version.value_or("");
                    std::string ring_key = fleet::object_ring_key(o.bucket, o.key, o.version);
                    auto live = m.owner(ring_key);
                    o.owner_is_self = live.self;
                    o.owner = live.self ? m.self().id : live.peer.id;
                    o.nominal = m.nominal_owner(ring_key);
                    owner = std::move(o);
                }
                return ops::fleet_json(m.report(), owner);
            };
        }
        admin.bearer_token = *admin_token;
        admin.warm = [&shared](const std::vector<std::string>& keys) {
            auto started = shared->warm(keys);
            ops::WarmReply reply;
            reply.accepted = started.accepted;
            reply.rejected = std::move(started.rejected);
            return reply;
        };
        Status admin_started = cache_life.start_admin(std::move(admin));
        if (!admin_started.ok()) die("cannot start the admin listener: " + admin_started.message());
        if (shared->writability.writable()) {
            proxy::SharedState* sp = shared.get();
            cache_life.start_cache(
                [sp](const cache::ScanStats&) { sp->names_complete.store(true); });
        }
    }
    std::vector<std::unique_ptr<proxy::Worker>> ws;
    for (unsigned i = 0; i < workers; ++i)
        ws.push_back(
            std::make_unique<proxy::Worker>(*shared, static_cast<int>(i), std::move(fds[i])));
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
    XS3_LOG_INFO("xs3lerator listening", kv("address", cfg.bind_ip), kv("port", port),
                 kv("workers", workers), kv("buckets", shared->origins.size()),
                 kv("region", origin.region), kv("cache_dir", cfg.cache_dir));
    app::log_client_access(cfg);
    serving.store(true);

    int sig = 0;
    for (;;) {
        sigwait(&sigs, &sig);
        if (sig != SIGHUP) break;
        if (tracer) {
            XS3_LOG_INFO("SIGHUP: reopening the trace file", kv("path", tracer->path()));
            tracer->reopen();
        } else {
            XS3_LOG_INFO("SIGHUP: nothing to reopen (no --debug-trace)");
        }
    }
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
    shared->fills.fail_all(Status(Code::cancelled, "shutting down"));
    for (int i = 0; i < 300 && (fetch::Download::live_fetchers() > 0 || shared->fills.active() > 0);
         ++i)
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
    if (membership) membership->stop();
    shared->shutdown();
    ws.clear();
    shared.reset();
    cache_life.stop();
    if (tracer) {
        trace::install(nullptr);
        tracer->stop();
    }
    XS3_LOG_INFO("stopped");
    stop_logger();
    return failed.load() > 0 ? 1 : 0;
}
