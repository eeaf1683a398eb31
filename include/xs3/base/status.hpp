// Status and Result<T>: the error currency of every layer. No exceptions cross C callbacks or the
// completion loop; those paths return a Status. Start-up code may throw ConfigError instead.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace xs3 {

enum class Code {
    ok = 0,
    invalid_argument,  // bad input from a client, a config file or a peer
    not_found,
    access_denied,
    precondition_failed,
    out_of_range,
    timeout,
    unavailable,  // a peer cannot be reached or refused the request
    io_error,     // a system call failed; errno() says which
    no_space,
    cancelled,
    internal,
};

std::string_view code_name(Code c) noexcept;

class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(Code code, std::string message, int sys_errno = 0)
        : code_(code), errno_(sys_errno), message_(std::move(message)) {}

    static Status ok_status() { return {}; }

    bool ok() const noexcept { return code_ == Code::ok; }
    explicit operator bool() const noexcept { return ok(); }
    Code code() const noexcept { return code_; }
    int sys_errno() const noexcept { return errno_; }
    const std::string& message() const noexcept { return message_; }
    // "io_error: open /x: No such file or directory"
    std::string to_string() const;

  private:
    Code code_ = Code::ok;
    int errno_ = 0;
    std::string message_;
};

// The one place that turns a negative errno (as io_uring and raw syscalls return it) into a Status.
Status status_from_errno(int err, std::string_view what);

template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
    Result(Status status) : v_(std::move(status)) {}  // NOLINT

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const Status& status() const {
        static const Status ok_status;
        return ok() ? ok_status : std::get<1>(v_);
    }

  private:
    std::variant<T, Status> v_;
};

}  // namespace xs3
