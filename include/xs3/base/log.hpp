// Structured logging that never blocks the caller on I/O: lines are formatted on the calling
// thread, queued (bounded; overflow is counted, not waited for), and written to stderr by a logger
// thread.
//
//   XS3_LOG_INFO("listening", kv("port", 8080), kv("workers", 2));
//   -> 2026-11-24T01:49:28.123Z level=info msg="listening" port=8080 workers=2
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace xs3 {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

std::string_view log_level_name(LogLevel l) noexcept;
bool parse_log_level(std::string_view s, LogLevel& out) noexcept;

namespace log_detail {
extern std::atomic<int> g_level;
void append_quoted(std::string& out, std::string_view s);
void append_value(std::string& out, std::string_view v);
inline void append_value(std::string& out, const char* v) {
    append_value(out, std::string_view(v));
}
inline void append_value(std::string& out, const std::string& v) {
    append_value(out, std::string_view(v));
}
inline void append_value(std::string& out, bool v) {
    out += v ? "true" : "false";
}
template <class T>
requires std::is_arithmetic_v<T>
void append_value(std::string& out, T v) {
    out += std::to_string(v);
}
}  // namespace log_detail

// A key=value field of a log line.
template <class T>
struct KV {
    std::string_view key;
    const T& value;
};
template <class T>
KV<T> kv(std::string_view key, const T& value) {
    return KV<T>{key, value};
}

class LogLine {
  public:
    LogLine(LogLevel level, std::string_view msg);
    template <class T>
    LogLine& operator<<(const KV<T>& f) {
        buf_ += ' ';
        buf_ += f.key;
        buf_ += '=';
        log_detail::append_value(buf_, f.value);
        return *this;
    }
    void emit();

  private:
    LogLevel level_;
    std::string buf_;
};

inline bool log_enabled(LogLevel l) noexcept {
    return static_cast<int>(l) >= log_detail::g_level.load(std::memory_order_relaxed);
}

void set_log_level(LogLevel l) noexcept;
// Starts the writer thread (idempotent). Before it starts, lines are written synchronously.
void start_logger();
// Flushes queued lines and stops the writer thread.
void stop_logger();
// Lines dropped because the queue was full.
uint64_t log_lines_dropped() noexcept;
// Thread-local worker id shown as worker=N on lines from that thread (-1: not a worker).
void set_log_worker_id(int id) noexcept;
// The calling thread's worker id (-1: not a worker).
int log_worker_id() noexcept;

template <class... F>
void log_write(LogLevel level, std::string_view msg, const F&... fields) {
    LogLine line(level, msg);
    ((void)(line << fields), ...);
    line.emit();
}

}  // namespace xs3

#define XS3_LOG(level, ...)                                                  \
    do {                                                                     \
        if (::xs3::log_enabled(level)) ::xs3::log_write(level, __VA_ARGS__); \
    } while (0)
#define XS3_LOG_DEBUG(...) XS3_LOG(::xs3::LogLevel::debug, __VA_ARGS__)
#define XS3_LOG_INFO(...) XS3_LOG(::xs3::LogLevel::info, __VA_ARGS__)
#define XS3_LOG_WARN(...) XS3_LOG(::xs3::LogLevel::warn, __VA_ARGS__)
#define XS3_LOG_ERROR(...) XS3_LOG(::xs3::LogLevel::error, __VA_ARGS__)

namespace xs3 {
using ::xs3::kv;
}
