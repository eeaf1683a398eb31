// Tracing (--debug-trace): events as JSON Lines, one object per line, for seeing why one request
// was slow. Any layer may emit; the writer (ops/trace_writer) installs itself as the sink.
//
//   XS3_TRACE("chunk.done", trace::f("dl", id), trace::f("chunk", 3), trace::f("bytes", n));
//   -> {"t":81234567,"w":1,"ev":"chunk.done","dl":7,"chunk":3,"bytes":8388608}
//
// `t` is CLOCK_MONOTONIC in microseconds, `w` the worker the event happened on (-1: another
// thread). The schema (every event and field) is docs/trace.md.
//
// Off (no sink installed), XS3_TRACE costs one relaxed load and a branch: its arguments are not
// evaluated and nothing is allocated. On, the line is formatted on the calling thread and handed
// to the sink, which must never block (it drops and counts instead).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace xs3::trace {

class Sink {
  public:
    // Takes one finished line (with its '\n'). Called from any thread; must not block.
    virtual void submit(std::string line) noexcept = 0;

  protected:
    ~Sink() = default;
};

namespace detail {
extern std::atomic<Sink*> g_sink;
void append_string(std::string& out, std::string_view s);
}  // namespace detail

inline bool enabled() noexcept {
    return detail::g_sink.load(std::memory_order_relaxed) != nullptr;
}

// Installs (or, with nullptr, removes) the sink. The sink must outlive every thread that may
// still be emitting: remove it only once they are stopped.
void install(Sink* sink) noexcept;

// Microseconds of CLOCK_MONOTONIC (the `t` of every event).
uint64_t now_us() noexcept;

// A process-wide id for requests, downloads and the like (never 0).
uint64_t next_id() noexcept;

template <class T>
struct Field {
    std::string_view key;
    const T& value;
};
template <class T>
Field<T> f(std::string_view key, const T& value) {
    return Field<T>{key, value};
}

namespace detail {
inline void append_value(std::string& out, std::string_view v) {
    append_string(out, v);
}
inline void append_value(std::string& out, const char* v) {
    append_string(out, v == nullptr ? std::string_view() : std::string_view(v));
}
inline void append_value(std::string& out, const std::string& v) {
    append_string(out, v);
}
inline void append_value(std::string& out, bool v) {
    out += v ? "true" : "false";
}
void append_double(std::string& out, double v);
template <class T>
requires std::is_integral_v<T>
void append_value(std::string& out, T v) {
    out += std::to_string(v);
}
template <class T>
requires std::is_floating_point_v<T>
void append_value(std::string& out, T v) {
    append_double(out, static_cast<double>(v));
}

// {"t":..,"w":..,"ev":"<name>"
void begin_line(std::string& out, std::string_view event);
// "}\n", then hands the line to the sink (if one is still installed).
void finish_line(std::string& out) noexcept;
}  // namespace detail

template <class... T>
void emit(std::string_view event, const Field<T>&... fields) {
    std::string line;
    line.reserve(160);
    detail::begin_line(line, event);
    ((line += ",\"", line += fields.key, line += "\":", detail::append_value(line, fields.value)),
     ...);
    detail::finish_line(line);
}

}  // namespace xs3::trace

#define XS3_TRACE(...)                                                \
    do {                                                              \
        if (::xs3::trace::enabled()) ::xs3::trace::emit(__VA_ARGS__); \
    } while (0)
