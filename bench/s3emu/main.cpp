// s3emu: the benchmark harness's S3 origin. See config.cpp's usage text and bench/README.md.
#include <signal.h>

#include <cstdio>
#include <fstream>

#include "config.hpp"
#include "server.hpp"
#include "stats.hpp"
#include "xs3/base/log.hpp"

using namespace xs3::s3emu;
using xs3::kv;

int main(int argc, char** argv) {
    EmuConfig cfg;
    if (xs3::Status s = parse_command_line(argc, argv, cfg); !s.ok()) {
        std::fprintf(stderr, "s3emu: %s\n\n%s", s.message().c_str(), usage_text().c_str());
        return 2;
    }
    if (cfg.help) {
        std::fputs(usage_text().c_str(), stdout);
        return 0;
    }
    xs3::LogLevel level;
    if (!xs3::parse_log_level(cfg.log_level, level)) {
        std::fprintf(stderr, "s3emu: bad --log-level %s\n", cfg.log_level.c_str());
        return 2;
    }
    xs3::set_log_level(level);

    // Signals are taken by sigwait on the main thread; workers inherit the mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    xs3::start_logger();

    Catalog catalog;
    for (auto& o : cfg.objects) {
        if (xs3::Status s = catalog.add(o); !s.ok()) {
            std::fprintf(stderr, "s3emu: %s\n", s.message().c_str());
            return 2;
        }
    }
    catalog.start_hasher();
    if (cfg.sha224_sync) catalog.wait_hasher_idle();
    FaultPlan faults(cfg.faults, cfg.server.seed);
    Stats stats;
    Server server(cfg.server, catalog, faults, stats, cfg.handler);
    if (xs3::Status s = server.start(); !s.ok()) {
        std::fprintf(stderr, "s3emu: %s\n", s.to_string().c_str());
        return 1;
    }
    XS3_LOG_INFO("s3emu listening", kv("bind", cfg.server.bind), kv("port", server.port()),
                 kv("threads", cfg.server.threads), kv("objects", catalog.objects().size()),
                 kv("faults", cfg.faults.size()));
    if (!cfg.port_file.empty()) {
        std::string tmp = cfg.port_file + ".tmp";
        {
            std::ofstream f(tmp);
            f << server.port() << "\n";
        }
        std::rename(tmp.c_str(), cfg.port_file.c_str());
    }
    int sig = 0;
    sigwait(&set, &sig);
    XS3_LOG_INFO("s3emu stopping", kv("signal", sig));
    server.stop();
    xs3::stop_logger();
    return 0;
}
