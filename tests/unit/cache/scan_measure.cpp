// Not a test: a measuring tool for the start-up scan. Generates a cache of N files (once) and
// times a background scan of it, and how soon a lookup is answered while the scan runs.
//
//   ninja -C build tests/unit/cache/cache_scan_measure
//   build/tests/unit/cache/cache_scan_measure /tmp/xs3-scan-100k 100000
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "xs3/base/log.hpp"
#include "xs3/cache/header.hpp"
#include "xs3/cache/index.hpp"
#include "xs3/cache/key.hpp"
#include "xs3/cache/scan.hpp"
#include "xs3/cache/store.hpp"

using namespace xs3;
using namespace xs3::cache;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

long rss_kib() {
    std::ifstream in("/proc/self/statm");
    long pages = 0, resident = 0;
    in >> pages >> resident;
    return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

void generate(const std::string& root, unsigned level, int n) {
    for (int i = 0; i < n; ++i) {
        ObjectMeta m;
        m.key = "data/part-" + std::to_string(i) + ".bin";
        m.bucket = "measure-bucket";
        m.size = 1000 + static_cast<uint64_t>(i % 7) * 100;
        m.etag = "\"" + std::to_string(1000000 + i) + "0123456789abcdef0123\"";
        m.last_modified = "Wed, 21 Oct 2015 07:28:00 GMT";
        m.content_type = "application/octet-stream";
        m.stored_at_unix = 1700000000 + i;
        CacheKey key = make_cache_key(m.bucket, m.key, std::nullopt).key;
        std::string path = object_path(root, key, level);
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        std::string bytes = encode_header(m) + std::string(m.size, 'x');
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
            std::exit(1);
        ::close(fd);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s <dir> <files> [level=4]\n", argv[0]);
        return 2;
    }
    std::string root = argv[1];
    int n = std::atoi(argv[2]);
    unsigned level = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 4;
    set_log_level(LogLevel::warn);
    std::string marker = root + "/.generated-" + std::to_string(n);
    if (!std::filesystem::exists(marker)) {
        auto t = Clock::now();
        generate(root, level, n);
        std::ofstream(marker) << n;
        std::printf("generated %d files in %.0f ms\n", n, ms_since(t));
    }
    Store store(root, level);
    CacheKey probe = make_cache_key("measure-bucket", "data/part-" + std::to_string(n - 1) + ".bin",
                                    std::nullopt)
                         .key;
    long rss_before = rss_kib();
    CacheIndex index(1ULL << 50);
    CacheScan scan(store, index);
    auto t0 = Clock::now();
    scan.start();
    // The first request's lookup, as the proxy does it, while the scan runs.
    auto found = store.lookup(probe);
    double first_lookup_ms = ms_since(t0);
    ScanStats during = scan.stats();
    bool touched = index.touch(probe);
    scan.join();
    double total_ms = ms_since(t0);
    ScanStats s = scan.stats();
    std::printf(
        "first lookup answered after %.2f ms (hit=%d, scan state=%s with %llu files, "
        "probe already indexed=%d)\n",
        first_lookup_ms, found.ok() && found->has_value(),
        std::string(scan_state_name(during.state)).c_str(),
        static_cast<unsigned long long>(during.files), touched);
    std::printf(
        "scan: %llu files, %.0f ms (%.0f files/s), %llu MiB on disk, index RSS +%ld MiB "
        "(%.0f bytes per object)\n",
        static_cast<unsigned long long>(s.files), total_ms, s.files / (total_ms / 1000),
        static_cast<unsigned long long>(s.bytes >> 20), (rss_kib() - rss_before) / 1024,
        1024.0 * static_cast<double>(rss_kib() - rss_before) /
            static_cast<double>(s.files ? s.files : 1));
    return s.state == ScanState::done ? 0 : 1;
}
