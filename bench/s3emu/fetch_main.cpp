// s3emu-fetch: the harness's measuring client. Runs GETs over blocking HTTP/1.1 keep-alive
// connections, one thread per concurrent stream, and prints one JSON line per request: status,
// time to first byte, total time, bytes, whether every body byte matched the emulator's pattern,
// and the proxy's X-Cache header.
//
//   s3emu-fetch --port P [--host 127.0.0.1] --list FILE [--concurrency C] [--requests N]
//               [--no-verify] [--close]
//
// Each line of FILE is "PATH NAME SEED [FIRST-LAST]": request PATH (with Range bytes=FIRST-LAST if
// given), check the body against object NAME with SEED. Requests take list lines round-robin; all
// streams start together (so C clients can ask for one cold object at the same moment).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pattern.hpp"
#include "stats.hpp"
#include "xs3/base/json_writer.hpp"

using Clock = std::chrono::steady_clock;
using xs3::s3emu::Pattern;

namespace {

struct Item {
    std::string path, name;
    uint64_t seed = 0;
    bool ranged = false;
    uint64_t first = 0, last = 0;
};

struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    std::vector<Item> items;
    unsigned concurrency = 1;
    uint64_t requests = 0;  // 0: one per list line
    bool verify = true;
    bool close_each = false;
};

struct Result {
    int status = 0;
    double ttfb_ms = -1, ms = 0;
    uint64_t bytes = 0;
    bool verified = false;
    int64_t mismatch = -1;
    std::string error, cache;
};

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

class Stream {
  public:
    explicit Stream(const Options& o) : o_(o), buf_(new char[kBuf]) {}
    ~Stream() { disconnect(); }

    Result fetch(const Item& it) {
        Result r;
        auto t0 = Clock::now();
        for (int attempt = 0; attempt < 2; ++attempt) {
            bool reused = fd_ >= 0;
            if (fd_ < 0 && !connect_to()) {
                r.error = std::string("connect: ") + std::strerror(errno);
                break;
            }
            r = Result{};
            if (run(it, r, t0)) break;
            disconnect();
            // A reused keep-alive connection closed by the peer before any byte: retry fresh.
            if (!(reused && r.status == 0 && r.ttfb_ms < 0)) break;
        }
        r.ms = ms_since(t0);
        if (o_.close_each) disconnect();
        return r;
    }

  private:
    static constexpr size_t kBuf = 1 << 20;

    bool connect_to() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) return false;
        int one = 1;
        setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(o_.port);
        inet_pton(AF_INET, o_.host.c_str(), &a.sin_addr);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            disconnect();
            return false;
        }
        return true;
    }
    void disconnect() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        have_ = 0;
    }

    // False when the connection must not be reused.
    bool run(const Item& it, Result& r, Clock::time_point t0) {
        std::string req = "GET " + it.path + " HTTP/1.1\r\nHost: " + o_.host + "\r\n";
        if (it.ranged)
            req +=
                "Range: bytes=" + std::to_string(it.first) + "-" + std::to_string(it.last) + "\r\n";
        if (o_.close_each) req += "Connection: close\r\n";
        req += "\r\n";
        if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
            r.error = "send failed";
            return false;
        }
        // Head.
        std::string head;
        size_t head_end = std::string::npos;
        while (head_end == std::string::npos) {
            ssize_t n = ::recv(fd_, buf_.get(), kBuf, 0);
            if (n <= 0) {
                r.error = n == 0 ? "eof before head" : std::string("recv: ") + std::strerror(errno);
                return false;
            }
            if (r.ttfb_ms < 0) r.ttfb_ms = ms_since(t0);
            head.append(buf_.get(), static_cast<size_t>(n));
            head_end = head.find("\r\n\r\n");
            if (head_end == std::string::npos && head.size() > 64 * 1024) {
                r.error = "head too large";
                return false;
            }
        }
        std::string extra = head.substr(head_end + 4);
        head.resize(head_end + 2);
        if (head.compare(0, 5, "HTTP/") != 0 || head.size() < 12) {
            r.error = "bad status line";
            return false;
        }
        r.status = std::atoi(head.c_str() + 9);
        int64_t content_length = -1;
        uint64_t offset = 0;
        bool conn_close = false;
        size_t pos = head.find("\r\n") + 2;
        while (pos < head.size()) {
            size_t eol = head.find("\r\n", pos);
            std::string line = head.substr(pos, eol - pos);
            pos = eol + 2;
            size_t colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string name = line.substr(0, colon);
            for (char& c : name)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            std::string value = line.substr(colon + 1);
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
                value.erase(0, 1);
            if (name == "content-length") content_length = std::atoll(value.c_str());
            if (name == "x-cache") r.cache = value;
            if (name == "connection" && strcasestr(value.c_str(), "close")) conn_close = true;
            if (name == "content-range" && value.compare(0, 6, "bytes ") == 0)
                offset = std::strtoull(value.c_str() + 6, nullptr, 10);
        }
        if (content_length < 0) {
            r.error = "no content-length";
            return false;
        }
        Pattern p(it.name, it.seed);
        bool check = o_.verify && (r.status == 200 || r.status == 206);
        uint64_t want = static_cast<uint64_t>(content_length);
        auto consume = [&](const char* data, size_t n) {
            if (check && r.mismatch < 0) {
                size_t bad = p.verify(data, offset + r.bytes, n);
                if (bad != n) r.mismatch = static_cast<int64_t>(offset + r.bytes + bad);
            }
            r.bytes += n;
        };
        if (!extra.empty()) consume(extra.data(), std::min<size_t>(extra.size(), want));
        while (r.bytes < want) {
            size_t ask = static_cast<size_t>(std::min<uint64_t>(kBuf, want - r.bytes));
            ssize_t n = ::recv(fd_, buf_.get(), ask, 0);
            if (n <= 0) {
                r.error = n == 0 ? "eof mid-body" : std::string("recv: ") + std::strerror(errno);
                return false;
            }
            consume(buf_.get(), static_cast<size_t>(n));
        }
        r.verified = check && r.mismatch < 0;
        return !conn_close;
    }

    const Options& o_;
    int fd_ = -1;
    size_t have_ = 0;
    std::unique_ptr<char[]> buf_;
};

int usage() {
    std::fprintf(stderr,
                 "usage: s3emu-fetch --port P [--host H] --list FILE [--concurrency C] "
                 "[--requests N] [--no-verify] [--close]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    std::string list;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--port")
            o.port = static_cast<uint16_t>(std::atoi(next().c_str()));
        else if (a == "--host")
            o.host = next();
        else if (a == "--list")
            list = next();
        else if (a == "--concurrency")
            o.concurrency = static_cast<unsigned>(std::atoi(next().c_str()));
        else if (a == "--requests")
            o.requests = std::strtoull(next().c_str(), nullptr, 10);
        else if (a == "--no-verify")
            o.verify = false;
        else if (a == "--close")
            o.close_each = true;
        else
            return usage();
    }
    std::ifstream f(list);
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream ls(line);
        Item it;
        std::string range;
        if (!(ls >> it.path >> it.name >> it.seed)) continue;
        if (ls >> range) {
            it.ranged = true;
            it.first = std::strtoull(range.c_str(), nullptr, 10);
            it.last = std::strtoull(range.c_str() + range.find('-') + 1, nullptr, 10);
        }
        o.items.push_back(it);
    }
    if (o.port == 0 || o.items.empty() || o.concurrency == 0) return usage();
    if (o.requests == 0) o.requests = o.items.size();

    std::atomic<uint64_t> next{0};
    std::mutex out_mu;
    std::barrier start(static_cast<std::ptrdiff_t>(o.concurrency));
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < o.concurrency; ++t) {
        threads.emplace_back([&] {
            Stream s(o);
            start.arrive_and_wait();
            for (;;) {
                uint64_t i = next.fetch_add(1);
                if (i >= o.requests) break;
                const Item& it = o.items[i % o.items.size()];
                Result r = s.fetch(it);
                char b[256];
                std::snprintf(b, sizeof b,
                              "{\"i\": %llu, \"status\": %d, \"ttfb_ms\": %.3f, \"ms\": %.3f, "
                              "\"bytes\": %llu, \"verified\": %s, \"mismatch\": %lld, ",
                              static_cast<unsigned long long>(i), r.status, r.ttfb_ms, r.ms,
                              static_cast<unsigned long long>(r.bytes),
                              r.verified ? "true" : "false", static_cast<long long>(r.mismatch));
                std::string out = b;
                out += "\"path\": " + xs3::json_quote(it.path) +
                       ", \"cache\": " + xs3::json_quote(r.cache) +
                       ", \"error\": " + xs3::json_quote(r.error) + "}\n";
                std::lock_guard lk(out_mu);
                std::fputs(out.c_str(), stdout);
            }
        });
    }
    for (auto& t : threads)
        t.join();
    return 0;
}
