// read_whole_file: open, read to the end (EINTR retried), close through UniqueFd.
#include "xs3/base/file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "xs3/base/unique_fd.hpp"
#include "xs3/base/units.hpp"

namespace xs3 {

Result<std::optional<std::string>> read_whole_file(const std::string& path, size_t limit) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return std::optional<std::string>();
        return status_from_errno(-errno, "open " + path);
    }
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return status_from_errno(-errno, "read " + path);
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > limit)
            return Status(Code::invalid_argument, path + ": larger than " + format_size(limit));
    }
    return std::optional<std::string>(std::move(out));
}

}  // namespace xs3
