// PipePool: pipe2 + F_SETPIPE_SZ, kept for reuse.
#include "xs3/ring/pipe_pool.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace xs3::ring {

PipePool::~PipePool() {
    for (auto& p : idle_) {
        ::close(p.read_fd);
        ::close(p.write_fd);
    }
}

Result<Pipe> PipePool::acquire() {
    if (!idle_.empty()) {
        Pipe p = idle_.back();
        idle_.pop_back();
        return p;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return status_from_errno(errno, "pipe2");
    Pipe p{fds[0], fds[1], 0};
    int got = fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(pipe_size_));
    if (got < 0) got = fcntl(fds[1], F_GETPIPE_SZ);
    p.capacity = got > 0 ? static_cast<unsigned>(got) : 65536;
    return p;
}

void PipePool::release(Pipe pipe, bool empty) {
    if (!pipe.valid()) return;
    if (empty && idle_.size() < max_idle_) {
        idle_.push_back(pipe);
        return;
    }
    ::close(pipe.read_fd);
    ::close(pipe.write_fd);
}

}  // namespace xs3::ring
