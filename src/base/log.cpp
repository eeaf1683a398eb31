// Logger: a bounded queue drained by one writer thread, so ring threads never block on stderr.
#include "xs3/base/log.hpp"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>

namespace xs3 {
namespace log_detail {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};

void append_quoted(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (u < 0x20 || u >= 0x7f) {
            // Control bytes and everything beyond ASCII (request targets and keys are client
            // bytes, not necessarily UTF-8): a log line is always printable ASCII.
            static const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        } else {
            out += c;
        }
    }
    out += '"';
}

void append_value(std::string& out, std::string_view v) {
    bool plain = !v.empty();
    for (char c : v) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u <= 0x20 || c == '"' || c == '=' || c == '\\' || u >= 0x7f) {
            plain = false;
            break;
        }
    }
    if (plain)
        out += v;
    else
        append_quoted(out, v);
}
}  // namespace log_detail

namespace {
constexpr size_t kMaxQueued = 16384;

struct Logger {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::string> queue;
    std::thread writer;
    bool running = false;
    bool stopping = false;
    std::atomic<uint64_t> dropped{0};
};

Logger& logger() {
    static Logger* l = new Logger();  // never destroyed: usable during static destruction
    return *l;
}

thread_local int t_worker_id = -1;

void write_all(const std::string& s) {
    const char* p = s.data();
    size_t n = s.size();
    while (n > 0) {
        ssize_t w = ::write(STDERR_FILENO, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
}

void writer_main() {
    Logger& l = logger();
    std::unique_lock lk(l.mu);
    for (;;) {
        l.cv.wait(lk, [&] { return l.stopping || !l.queue.empty(); });
        std::deque<std::string> batch;
        batch.swap(l.queue);
        bool stop = l.stopping;
        lk.unlock();
        std::string out;
        for (auto& s : batch)
            out += s;
        if (!out.empty()) write_all(out);
        lk.lock();
        if (stop && l.queue.empty()) return;
    }
}
}  // namespace

std::string_view log_level_name(LogLevel l) noexcept {
    switch (l) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
        case LogLevel::off:
            return "off";
    }
    return "?";
}

bool parse_log_level(std::string_view s, LogLevel& out) noexcept {
    for (LogLevel l :
         {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error, LogLevel::off}) {
        if (s == log_level_name(l)) {
            out = l;
            return true;
        }
    }
    if (s == "warning") {
        out = LogLevel::warn;
        return true;
    }
    return false;
}

LogLine::LogLine(LogLevel level, std::string_view msg) : level_(level) {
    buf_.reserve(160);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char head[64];
    int n = snprintf(
        head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    buf_.append(head, static_cast<size_t>(n));
    buf_ += log_level_name(level);
    if (t_worker_id >= 0) {
        buf_ += " worker=";
        buf_ += std::to_string(t_worker_id);
    }
    buf_ += " msg=";
    log_detail::append_quoted(buf_, msg);
}

void LogLine::emit() {
    (void)level_;
    buf_ += '\n';
    Logger& l = logger();
    {
        std::lock_guard lk(l.mu);
        if (l.running) {
            if (l.queue.size() >= kMaxQueued) {
                l.dropped.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            l.queue.push_back(std::move(buf_));
            l.cv.notify_one();
            return;
        }
    }
    write_all(buf_);
}

void set_log_level(LogLevel l) noexcept {
    log_detail::g_level.store(static_cast<int>(l), std::memory_order_relaxed);
}

void start_logger() {
    Logger& l = logger();
    std::lock_guard lk(l.mu);
    if (l.running) return;
    l.running = true;
    l.stopping = false;
    l.writer = std::thread(writer_main);
}

void stop_logger() {
    Logger& l = logger();
    std::thread t;
    {
        std::lock_guard lk(l.mu);
        if (!l.running) return;
        l.stopping = true;
        l.cv.notify_one();
        t = std::move(l.writer);
    }
    t.join();
    std::lock_guard lk(l.mu);
    l.running = false;
}

uint64_t log_lines_dropped() noexcept {
    return logger().dropped.load(std::memory_order_relaxed);
}

void set_log_worker_id(int id) noexcept {
    t_worker_id = id;
}

int log_worker_id() noexcept {
    return t_worker_id;
}

}  // namespace xs3
