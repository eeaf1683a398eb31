// Status formatting and errno conversion.
#include "xs3/base/status.hpp"

#include <cstring>

namespace xs3 {

std::string_view code_name(Code c) noexcept {
    switch (c) {
        case Code::ok:
            return "ok";
        case Code::invalid_argument:
            return "invalid_argument";
        case Code::not_found:
            return "not_found";
        case Code::access_denied:
            return "access_denied";
        case Code::precondition_failed:
            return "precondition_failed";
        case Code::out_of_range:
            return "out_of_range";
        case Code::timeout:
            return "timeout";
        case Code::unavailable:
            return "unavailable";
        case Code::io_error:
            return "io_error";
        case Code::no_space:
            return "no_space";
        case Code::cancelled:
            return "cancelled";
        case Code::internal:
            return "internal";
    }
    return "unknown";
}

std::string Status::to_string() const {
    std::string s(code_name(code_));
    if (!message_.empty()) {
        s += ": ";
        s += message_;
    }
    return s;
}

Status status_from_errno(int err, std::string_view what) {
    if (err < 0) err = -err;
    Code code = Code::io_error;
    switch (err) {
        case 0:
            return {};
        case ENOENT:
            code = Code::not_found;
            break;
        case EACCES:
        case EPERM:
        case EROFS:
            code = Code::access_denied;
            break;
        case ENOSPC:
        case EDQUOT:
            code = Code::no_space;
            break;
        case ETIMEDOUT:
        case ETIME:
            code = Code::timeout;
            break;
        case ECANCELED:
            code = Code::cancelled;
            break;
        case EINVAL:
            code = Code::invalid_argument;
            break;
        case ECONNREFUSED:
        case ECONNRESET:
        case EPIPE:
        case EHOSTUNREACH:
        case ENETUNREACH:
            code = Code::unavailable;
            break;
        default:
            break;
    }
    std::string msg(what);
    msg += ": ";
    msg += std::strerror(err);
    return Status(code, std::move(msg), err);
}

}  // namespace xs3
